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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from analysis.indicators import DEFAULT_TARGETS, FIELDS, Indicator
from analysis.presentation import LANGUAGES, present

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


def _table_row(rec: Indicator, min_n: int, lang: str, names: Mapping[str, str] | None) -> dict:
    shown = present(rec, lang, min_n=min_n, programme_names=names)
    return {
        "institution": rec.institution,
        "programme": shown.programme if rec.programme != "*" else "*",
        "year": shown.year,
        "instrument": rec.instrument or "",
        "indicator": shown.indicator,
        "domain": rec.domain or "",
        "n": shown.n,
        "estimate": shown.estimate,
        "interval": shown.interval,
        "method": rec.method if rec.method != "count" else "",
        "target": shown.target,
        "status": shown.target_status,
        "p_adj": shown.p_adjusted,
        "effect": shown.effect_size,
        "flags": "; ".join(shown.flags),
    }


def render_table(
    records: Sequence[Indicator],
    *,
    min_n: int,
    lang: str = "en",
    programme_names: Mapping[str, str] | None = None,
) -> str:
    """Records as an aligned text table, as :func:`analysis.presentation.present` shows them."""
    rows = [_table_row(r, min_n, lang, programme_names) for r in records]
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
    """``--target indicator=value`` options on top of the default targets.

    ``INDICATOR=none`` removes a target (the default ``overall_satisfied`` one included).
    """
    targets = dict(DEFAULT_TARGETS)
    for value in values:
        name, sep, number = value.partition("=")
        name = name.strip()
        if sep and name and number.strip().lower() == "none":
            targets.pop(name, None)
            continue
        try:
            parsed = float(number)
        except ValueError:
            parsed = math.nan
        if not sep or not name or not math.isfinite(parsed):
            raise InputError(
                f"--target {value!r}: expected INDICATOR=VALUE, e.g. overall_satisfied=0.8 "
                "(or INDICATOR=none for no target)"
            )
        targets[name] = parsed
    return targets


def _apply(decorators: Sequence[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def decorate(func: Any) -> Any:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return decorate


#: The options that decide how indicators are computed (the settings of an institution).
SETTINGS_OPTIONS = (
    click.option(
        "--confidence",
        type=float,
        default=None,
        help="Confidence level of the intervals [default: 0.95] (0.90 is common in national "
        "surveys).",
    ),
    click.option(
        "--min-n",
        type=int,
        default=None,
        help="Hide indicators over fewer responses or graduates [default: 5].",
    ),
    click.option(
        "--low-n",
        type=int,
        default=None,
        help="Flag indicators over fewer responses 'interpret with caution' and add three-year "
        "pooled records [default: 25].",
    ),
    click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="INDICATOR=VALUE",
        help="Target of an indicator (repeatable; default overall_satisfied=0.8; "
        "INDICATOR=none removes one).",
    ),
    click.option("--fpc", is_flag=True, help="Finite-population correction (needs --invited)."),
)
#: The options that decide how the records are written.
OUTPUT_OPTIONS = (
    click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json", "csv"]),
        default="table",
        show_default=True,
        help="For people (table) or for scripts (json, csv).",
    ),
    click.option(
        "--lang",
        type=click.Choice(LANGUAGES),
        default="en",
        show_default=True,
        help="Language of the table's labels.",
    ),
    click.option(
        "--output", type=click.Path(dir_okay=False), help="Write to FILE instead of the screen."
    ),
)
settings_options = _apply(SETTINGS_OPTIONS)
output_options = _apply(OUTPUT_OPTIONS)


def emit(
    records: Sequence[Indicator],
    *,
    fmt: str,
    output: str | None,
    min_n: int,
    lang: str = "en",
    programme_names: Mapping[str, str] | None = None,
) -> None:
    """Write ``records`` as a table (for people), JSON or CSV, to ``output`` or the screen."""
    if fmt == "json":
        text = render_json(records)
    elif fmt == "csv":
        text = render_csv(records)
    else:
        text = render_table(records, min_n=min_n, lang=lang, programme_names=programme_names)
    if output:
        try:
            with open(output, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as exc:
            raise InputError(f"--output {output}: {exc.strerror}") from None
        click.echo(f"{len(records)} indicators written to {output}", err=True)
    else:
        click.echo(text, nl=False)


def compute_from_files(
    input_path: str,
    invited: str | None,
    outcomes: str | None,
    *,
    confidence: float | None,
    min_n: int | None,
    low_n: int | None,
    targets: Sequence[str],
    fpc: bool,
) -> list[Indicator]:
    """Read the CSV inputs and compute; any bad input or option is an :class:`InputError`."""
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
        return compute_indicators(
            ratings,
            confidence_level=0.95 if confidence is None else confidence,
            min_n=5 if min_n is None else min_n,
            low_n=25 if low_n is None else low_n,
            targets=resolved,
            fpc=fpc,
            **kwargs,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None


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
@settings_options
@output_options
def indicators(
    input_path: str,
    invited: str | None,
    outcomes: str | None,
    confidence: float | None,
    min_n: int | None,
    low_n: int | None,
    targets: tuple[str, ...],
    fpc: bool,
    fmt: str,
    lang: str,
    output: str | None,
) -> None:
    """Quality-of-training indicators from a ratings CSV, with no database.

    Prints every indicator per institution, programme, year and instrument (and for the
    institution as a whole, programme "*"), with its confidence interval, small-number
    suppression, targets and changes from the previous year.
    """
    records = compute_from_files(
        input_path,
        invited,
        outcomes,
        confidence=confidence,
        min_n=min_n,
        low_n=low_n,
        targets=targets,
        fpc=fpc,
    )
    emit(records, fmt=fmt, output=output, min_n=5 if min_n is None else min_n, lang=lang)


commands: list[click.Command] = [indicators]
