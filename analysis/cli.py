"""Command-line commands of this feature (added to ``hamkor`` by ``surveys.cli``).

``hamkor indicators`` needs no database and no web app: it reads CSV files, calls
:func:`analysis.compute_indicators` and prints the records. This module imports neither
``surveys`` nor Flask.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any

import click

from analysis.indicators import DEFAULT_TARGETS, FIELDS, MEANS, PROPORTIONS, Indicator

#: Columns of the table format (the json and csv formats have every field).
TABLE_COLUMNS = (
    "institution",
    "programme",
    "year",
    "instrument",
    "indicator",
    "domain",
    "n",
    "estimate",
    "interval",
    "method",
    "target",
    "status",
    "p_adj",
    "effect",
    "flags",
)


class InputError(click.ClickException):
    """Bad input or options: ``Error: <message>`` on stderr and exit status 2."""

    exit_code = 2


def _base(indicator: str) -> str:
    return indicator.removesuffix("_change")


def _fmt_value(indicator: str, value: float | None) -> str:
    """A value rounded for reading: shares as percentages, means to one decimal."""
    if value is None:
        return ""
    base = _base(indicator)
    change = indicator.endswith("_change")
    if base in PROPORTIONS:
        return f"{100 * value:+.1f} pp" if change else f"{100 * value:.1f}%"
    if change:
        return f"{value:+.1f}"
    if base in MEANS or base == "months_to_employment":
        return f"{value:.1f}"
    if base == "responses":
        return f"{value:.0f}"
    return f"{value:.3f}"


def _fmt_p(p: float | None) -> str:
    if p is None:
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _table_row(rec: Indicator, min_n: int) -> dict[str, str]:
    if rec.suppressed:
        primary = "secondary_suppression" not in rec.flags and not rec.indicator.endswith("_change")
        n = f"< {min_n}" if primary else "hidden"
    else:
        n = "" if rec.n is None else str(rec.n)
    interval = ""
    if rec.ci_low is not None and rec.ci_high is not None:
        interval = (
            f"{_fmt_value(rec.indicator, rec.ci_low)} – {_fmt_value(rec.indicator, rec.ci_high)}"
        )
    return {
        "institution": rec.institution,
        "programme": rec.programme,
        "year": str(rec.year),
        "instrument": rec.instrument or "",
        "indicator": rec.indicator,
        "domain": rec.domain or "",
        "n": n,
        "estimate": _fmt_value(rec.indicator, rec.estimate),
        "interval": interval,
        "method": rec.method or "",
        "target": _fmt_value(rec.indicator, rec.target),
        "status": rec.target_status or "",
        "p_adj": _fmt_p(rec.p_adjusted),
        "effect": "" if rec.effect_size is None else f"{rec.effect_size:+.2f}",
        "flags": ", ".join(rec.flags),
    }


def render_table(records: Sequence[Indicator], *, min_n: int) -> str:
    """Records as an aligned text table, rounded for display."""
    rows = [_table_row(r, min_n) for r in records]
    widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in TABLE_COLUMNS}
    right = {"year", "n", "estimate", "target", "p_adj", "effect"}

    def line(cells: dict[str, str]) -> str:
        parts = [
            cells[c].rjust(widths[c]) if c in right else cells[c].ljust(widths[c])
            for c in TABLE_COLUMNS
        ]
        return "  ".join(parts).rstrip()

    out = [line({c: c for c in TABLE_COLUMNS})]
    out.extend(line(r) for r in rows)
    return "\n".join(out) + "\n"


def render_json(records: Sequence[Indicator]) -> str:
    """A JSON list of records with every field, numbers unrounded, empty as null."""
    return json.dumps([r.to_dict() for r in records], ensure_ascii=False, indent=2) + "\n"


def render_csv(records: Sequence[Indicator]) -> str:
    """CSV with one column per field; flags joined with ';', empty cells for None."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FIELDS)
    for r in records:
        d = r.to_dict()
        d["flags"] = ";".join(d["flags"])
        d["suppressed"] = "true" if d["suppressed"] else "false"
        writer.writerow(["" if d[k] is None else d[k] for k in FIELDS])
    return buf.getvalue()


def parse_targets(values: Sequence[str]) -> dict[str, float]:
    """``--target indicator=value`` options on top of the default targets."""
    targets = dict(DEFAULT_TARGETS)
    for value in values:
        name, sep, number = value.partition("=")
        try:
            parsed = float(number)
        except ValueError:
            parsed = math.nan
        if not sep or not name.strip() or math.isnan(parsed):
            raise InputError(
                f"--target {value!r}: expected INDICATOR=VALUE, e.g. overall_satisfied=0.8"
            )
        targets[name.strip()] = parsed
    return targets


@click.command("indicators")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Ratings CSV (the canonical long table).",
)
@click.option("--invited", type=click.Path(dir_okay=False), help="Invitations per group (CSV).")
@click.option("--outcomes", type=click.Path(dir_okay=False), help="Graduate outcomes (CSV).")
@click.option(
    "--confidence",
    type=float,
    default=0.95,
    show_default=True,
    help="Confidence level of the intervals (0.90 is common in national surveys).",
)
@click.option(
    "--min-n",
    type=int,
    default=5,
    show_default=True,
    help="Hide indicators over fewer responses or graduates.",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="INDICATOR=VALUE",
    help="Target of an indicator (repeatable; default overall_satisfied=0.8).",
)
@click.option("--fpc", is_flag=True, help="Finite-population correction (needs --invited).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="For people (table) or for scripts (json, csv).",
)
@click.option(
    "--output", type=click.Path(dir_okay=False), help="Write to FILE instead of the screen."
)
def indicators(
    input_path: str,
    invited: str | None,
    outcomes: str | None,
    confidence: float,
    min_n: int,
    targets: tuple[str, ...],
    fpc: bool,
    fmt: str,
    output: str | None,
) -> None:
    """Quality-of-training indicators from a ratings CSV, with no database.

    Prints every indicator per institution, programme, year and instrument (and for the
    institution as a whole, programme "*"), with its confidence interval, small-number
    suppression, targets and changes from the previous year.
    """
    from analysis.indicators import compute_indicators
    from analysis.io import read_invited_csv, read_outcomes_csv, read_ratings_csv

    resolved = parse_targets(targets)
    try:
        ratings = read_ratings_csv(input_path)
        kwargs: dict[str, Any] = {}
        if invited:
            kwargs["invited"] = read_invited_csv(invited)
        if outcomes:
            kwargs["outcomes"] = read_outcomes_csv(outcomes)
        records = compute_indicators(
            ratings,
            confidence_level=confidence,
            min_n=min_n,
            targets=resolved,
            fpc=fpc,
            **kwargs,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if fmt == "json":
        text = render_json(records)
    elif fmt == "csv":
        text = render_csv(records)
    else:
        text = render_table(records, min_n=min_n)
    if output:
        try:
            with open(output, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as exc:
            raise InputError(f"--output {output}: {exc.strerror}") from None
        click.echo(f"{len(records)} indicators written to {output}", err=True)
    else:
        click.echo(text, nl=False)


commands: list[click.Command] = [indicators]
