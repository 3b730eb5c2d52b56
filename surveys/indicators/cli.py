"""``hamkor indicators`` (from the database or from CSV) and ``hamkor export invited|outcomes``.

``hamkor indicators --institution CODE`` reads the institution's stored records through the
service (computing them if the data or settings changed), with the institution's settings;
``hamkor indicators --input ratings.csv`` is ``analysis``'s command, unchanged. The exports
write the other two inputs, so that an analyst can reproduce every number outside the app::

    hamkor export ratings  --institution QMII --output ratings.csv
    hamkor export invited  --institution QMII --output invited.csv
    hamkor export outcomes --institution QMII --output outcomes.csv
    hamkor indicators --input ratings.csv --invited invited.csv --outcomes outcomes.csv \\
        <the settings options that hamkor indicators --institution QMII prints>
"""

from __future__ import annotations

import datetime as dt
import sys

import click

from analysis.cli import InputError, compute_from_files, emit, output_options, settings_options
from surveys.cli import with_app
from surveys.responses.cli import OUTPUT_OPTION, export, institution_id_of, report_written

#: What cannot be combined with --institution: the institution's own settings apply.
_CSV_ONLY = ("invited", "outcomes", "confidence", "min_n", "low_n", "targets", "fpc")


@click.command("indicators")
@click.option(
    "--input",
    "input_path",
    type=click.Path(dir_okay=False),
    help="Ratings CSV (the canonical long table): compute without the database.",
)
@click.option("--invited", type=click.Path(dir_okay=False), help="Invitations per group (CSV).")
@click.option("--outcomes", type=click.Path(dir_okay=False), help="Graduate outcomes (CSV).")
@click.option(
    "--institution",
    "institution_code",
    metavar="CODE",
    help="Read this institution's indicators from the database, with its settings.",
)
@click.option("--year", type=int, help="Only records of this graduation year.")
@click.option(
    "--programme",
    "programme_codes",
    multiple=True,
    metavar="CODE",
    help="Only this programme (repeatable; * is the institution as a whole).",
)
@settings_options
@output_options
def indicators(
    input_path: str | None,
    invited: str | None,
    outcomes: str | None,
    institution_code: str | None,
    year: int | None,
    programme_codes: tuple[str, ...],
    confidence: float | None,
    min_n: int | None,
    low_n: int | None,
    targets: tuple[str, ...],
    fpc: bool,
    fmt: str,
    lang: str,
    output: str | None,
) -> None:
    """Quality-of-training indicators, from the database or from CSV files.

    With --institution CODE: the institution's records as the pages and the API show them
    (its settings, stored until its data or settings change). With --input FILE: computed
    from the CSV files, without a database (the settings options apply). Every indicator per
    institution, programme, year and instrument (and for the institution as a whole,
    programme "*"), with its confidence interval, suppression, targets and changes.
    """
    if (input_path is None) == (institution_code is None):
        raise InputError(
            "give --input FILE (compute from CSV files) or --institution CODE (read from the "
            "database), not both"
            if input_path
            else "give --input FILE (compute from CSV files) or --institution CODE (read from "
            "the database)"
        )
    if input_path is not None:
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
        wanted = set(programme_codes)
        records = [
            r
            for r in records
            if (year is None or r.year == year) and (not wanted or r.programme in wanted)
        ]
        emit(records, fmt=fmt, output=output, min_n=5 if min_n is None else min_n, lang=lang)
        return
    given = {
        "invited": invited,
        "outcomes": outcomes,
        "confidence": confidence,
        "min_n": min_n,
        "low_n": low_n,
        "targets": targets,
        "fpc": fpc,
    }
    clash = [name for name in _CSV_ONLY if given[name]]
    if clash:
        option = "--" + clash[0].replace("_", "-").removesuffix("s")
        raise InputError(
            f"{option} cannot be combined with --institution: the institution's own settings "
            "apply (change them on the Indicator settings page). To compute with other "
            "settings, export the inputs (hamkor export ratings|invited|outcomes) and use "
            "--input."
        )
    _from_database(institution_code or "", year, programme_codes, fmt, lang, output)


@with_app
def _from_database(
    code: str,
    year: int | None,
    programme_codes: tuple[str, ...],
    fmt: str,
    lang: str,
    output: str | None,
) -> None:
    from sqlalchemy import select

    from surveys.extensions import db
    from surveys.indicators import display_names, get_indicators
    from surveys.registry.models import Programme
    from surveys.registry.services import institution_by_code

    session = db.session
    institution = institution_by_code(session, code)
    if institution is None:
        raise InputError(f"--institution: no institution has the code {code!r}")
    known = set(
        session.scalars(select(Programme.code).where(Programme.institution_id == institution.id))
    )
    unknown = [c for c in programme_codes if c != "*" and c not in known]
    if unknown:
        raise InputError(
            f"--programme: institution {institution.code} has no programme {', '.join(unknown)}"
        )
    found = get_indicators(
        session, institution.id, years=year, programmes=set(programme_codes) or None
    )
    session.commit()  # a computation made now is stored for the pages and the API
    names = display_names(session, institution.id, lang)
    settings = found.settings
    click.echo(
        f"{institution.code}: settings version {settings.version}, data version "
        f"{found.data_version}, computed {found.computed_at:%Y-%m-%d %H:%M} UTC as of "
        f"{found.as_of.isoformat()}. Reproduce with: hamkor indicators --input ratings.csv "
        f"--invited invited.csv --outcomes outcomes.csv {' '.join(settings.command_line())}",
        err=True,
    )
    if not found.records:
        click.echo("No indicator: no submitted response matches.", err=True)
    emit(
        found.records,
        fmt=fmt,
        output=output,
        min_n=found.min_n,
        lang=lang,
        programme_names=names.programmes,
    )


def _scope_options(func):
    func = click.option(
        "--programme",
        "programme_codes",
        multiple=True,
        metavar="CODE",
        help="Only this programme (repeatable).",
    )(func)
    func = click.option(
        "--year", type=int, help="Only this graduation year (default: every cohort)."
    )(func)
    return click.option(
        "--institution",
        "institution_code",
        metavar="CODE",
        help="Only this institution (default: every institution).",
    )(func)


def _institution_ids(code: str | None) -> list[int]:
    from sqlalchemy import select

    from surveys.extensions import db
    from surveys.registry.models import Institution

    if code is not None:
        return [institution_id_of(code) or 0]
    return list(db.session.scalars(select(Institution.id).order_by(Institution.code)))


@export.command("invited")
@_scope_options
@OUTPUT_OPTION
@with_app
def export_invited(
    institution_code: str | None, year: int | None, programme_codes: tuple[str, ...], output: str
) -> None:
    """Write the invitations per programme, graduation year and instrument.

    Columns: institution, programme, year, instrument, invited. An invitation counts when its
    campaign is open or closed and it was not withdrawn (or its response was submitted).
    """
    from surveys.extensions import db
    from surveys.indicators.inputs import INVITED_COLUMNS, iter_invited
    from surveys.spreadsheets import write_csv

    rows = (
        row
        for iid in _institution_ids(institution_code)
        for row in iter_invited(db.session, iid, years=year, programmes=programme_codes or None)
    )
    report_written(write_csv(output, INVITED_COLUMNS, rows, stdout=sys.stdout), output, "invited")


@export.command("outcomes")
@_scope_options
@click.option(
    "--as-of",
    "as_of",
    help="Day the outcomes are as of, YYYY-MM-DD (default: today; retention needs 12 months).",
)
@OUTPUT_OPTION
@with_app
def export_outcomes(
    institution_code: str | None,
    year: int | None,
    programme_codes: tuple[str, ...],
    as_of: str | None,
    output: str,
) -> None:
    """Write one row per graduate: employed, months to employment, retained 12 months,
    employed by a partner enterprise (1, 0 or empty when unknown).

    Columns: institution, programme, year, subject_id (the graduate's pseudonym), employed,
    months_to_employment, retained_12m, partner_employer. Rules: docs/indicators.md.
    """
    from surveys.extensions import db
    from surveys.indicators import local_today
    from surveys.indicators.inputs import OUTCOMES_COLUMNS, iter_outcomes
    from surveys.spreadsheets import write_csv

    try:
        day = dt.date.fromisoformat(as_of) if as_of else local_today()
    except ValueError:
        raise click.BadParameter(
            f"{as_of!r} is not a date (YYYY-MM-DD)", param_hint="--as-of"
        ) from None
    rows = (
        row
        for iid in _institution_ids(institution_code)
        for row in iter_outcomes(
            db.session, iid, as_of=day, years=year, programmes=programme_codes or None
        )
    )
    count = write_csv(output, OUTCOMES_COLUMNS, rows, stdout=sys.stdout)
    report_written(count, output, "graduate")


commands: list[click.Command] = [indicators]
