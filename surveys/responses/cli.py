"""``hamkor export``: the inputs of ``hamkor indicators`` as CSV (ratings here; invited and
outcomes are added by ``surveys.indicators.cli``)."""

from __future__ import annotations

import sys

import click

from surveys.cli import with_app

#: ``--output`` of every export.
OUTPUT_OPTION = click.option(
    "--output",
    required=True,
    help="CSV file to write (UTF-8, no BOM), or - for standard output.",
)


@click.group("export")
def export() -> None:
    """Export data for analysis (pseudonymous: never names or free text)."""


def institution_id_of(code: str | None) -> int | None:
    """The id of the institution ``--institution CODE`` names (None when not given)."""
    from surveys.extensions import db
    from surveys.registry.services import institution_by_code

    if code is None:
        return None
    institution = institution_by_code(db.session, code)
    if institution is None:
        raise click.BadParameter(f"no institution with code {code!r}", param_hint="--institution")
    return institution.id


def report_written(count: int, output: str, what: str) -> None:
    """Say how many rows went where (on stderr when the CSV went to standard output)."""
    if output == "-":
        click.echo(f"{count} {what} row(s) written.", err=True)
    else:
        click.echo(f"{count} {what} row(s) written to {output}.")


@export.command("ratings")
@click.option(
    "--year", type=int, help="Graduation year of the cohort rated (default: every cohort)."
)
@click.option("--institution", "institution_code", help="Only this institution (code).")
@click.option("--instrument", "instrument_key", help="Only this instrument (key).")
@click.option(
    "--programme", "programme_codes", multiple=True, help="Only this programme (repeatable)."
)
@OUTPUT_OPTION
@with_app
def ratings(
    year: int | None,
    institution_code: str | None,
    instrument_key: str | None,
    programme_codes: tuple[str, ...],
    output: str,
) -> None:
    """Write the ratings table of submitted responses (one row per response × numeric item).

    Columns: institution, programme, year, instrument, response_id, subject_id, rater_id,
    domain, item, score, scale_min, scale_max. An empty score means N/A or not answered.
    """
    from sqlalchemy import select

    from surveys.extensions import db
    from surveys.instruments.models import Instrument
    from surveys.responses.ratings import RATINGS_COLUMNS, iter_ratings
    from surveys.spreadsheets import write_csv

    session = db.session
    institution_id = institution_id_of(institution_code)
    if instrument_key is not None and (
        session.scalar(select(Instrument.id).where(Instrument.key == instrument_key)) is None
    ):
        raise click.BadParameter(
            f"no instrument with key {instrument_key!r}", param_hint="--instrument"
        )
    rows = iter_ratings(
        session,
        year=year,
        institution_id=institution_id,
        instrument=instrument_key,
        programmes=programme_codes or None,
    )
    count = write_csv(output, RATINGS_COLUMNS, rows, stdout=sys.stdout)
    report_written(count, output, "rating")
    if count == 0:
        cohort = f"the {year} cohort" if year is not None else "any cohort"
        click.echo(
            f"Warning: no submitted responses about {cohort} match; the file has only the header.",
            err=True,
        )


commands: list[click.Command] = [export]
