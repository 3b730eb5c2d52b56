"""``hamkor import`` and ``hamkor registry list|template``: the registry from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from surveys.cli import FORMAT_OPTION, print_rows, with_app
from surveys.registry.columns import IMPORT_KINDS
from surveys.registry.imports import SHOWN_ERRORS

_KIND = click.Choice(list(IMPORT_KINDS))
_INSTITUTION = click.option(
    "--institution",
    "institution_code",
    required=True,
    metavar="CODE",
    help="Code of the institution whose registry is read or changed.",
)


def _institution(code: str):
    from surveys.extensions import db
    from surveys.registry.services import institution_by_code

    institution = institution_by_code(db.session, code)
    if institution is None:
        raise click.BadParameter(
            f"no institution has the code {code!r}", param_hint="--institution"
        )
    return institution


def _progress_printer(label: str):
    """A counter on stderr, shown on a terminal or when a file has more than 1000 rows.

    The import reads the file twice (check, then write): each pass gets its own line.
    """
    tty = sys.stderr.isatty()
    state = {"message": None, "last": 0.0}

    def progress(done: int, total: int | None, message: str) -> None:
        if not tty and (total is None or total <= 1000):
            return
        import time

        if message != state["message"]:
            if state["message"] is not None:
                click.echo("", err=True)
            state["message"] = message
        now = time.monotonic()
        if now - state["last"] < 0.1 and total is not None and done < total:
            return
        state["last"] = now
        click.echo(f"\r{label}: {message.lower()} {done}/{total or '?'}", err=True, nl=False)
        if total is not None and done >= total:
            click.echo("", err=True)
            state["message"] = None

    return progress


def _kinds_help() -> str:
    lines = []
    for kind in IMPORT_KINDS.values():
        required = ", ".join(c.name for c in kind.columns if c.required)
        optional = ", ".join(c.name for c in kind.columns if not c.required)
        line = f"{kind.name}: {required}" + (f" [optional: {optional}]" if optional else "")
        lines.append(line)
    return "\n\n".join(lines)


@click.command(
    "import",
    help=f"""Import a registry file (CSV or XLSX) of KIND into an institution.

Every row is checked first; if any row is invalid, all problems are listed (row, column,
value, expected) and nothing is written (exit status 2). Rows are matched by their natural
key, so importing the same file again updates rows instead of duplicating them. Import in
this order: programmes, graduates, employers, agreements, employment, internships.

CSV may be UTF-8 (with or without BOM) or Windows-1251, separated by comma, semicolon or tab.
Dates: YYYY-MM-DD or DD.MM.YYYY. Columns per KIND:

{_kinds_help()}
""",
)
@click.argument("kind", type=_KIND)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_INSTITUTION
@click.option("--dry-run", is_flag=True, help="Check the file and show the counts; write nothing.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Report for people (table) or for scripts (json).",
)
@with_app
def import_command(kind: str, file: Path, institution_code: str, dry_run: bool, fmt: str) -> None:
    from flask import current_app
    from flask_babel import force_locale
    from sqlalchemy.exc import SQLAlchemyError

    from surveys.extensions import db
    from surveys.registry.imports import (
        ImportConflict,
        ImportResult,
        import_registry_file,
        size_problem,
    )

    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    with force_locale("en"):
        institution = _institution(institution_code)
        problem = size_problem(file.stat().st_size, limit)
        if problem is not None:
            result = ImportResult(kind=kind, filename=file.name, dry_run=dry_run)
            result.error(None, None, None, problem)
            result.settle_errors({})
        else:
            try:
                result = import_registry_file(
                    db.session,
                    institution,
                    kind,
                    file.read_bytes(),
                    file.name,
                    dry_run=dry_run,
                    max_rows=current_app.config["HAMKOR_IMPORT_MAX_ROWS"],
                    progress=_progress_printer(file.name),
                )
                if result.written:
                    db.session.commit()
                else:
                    db.session.rollback()
            except (SQLAlchemyError, ImportConflict) as exc:
                db.session.rollback()
                raise click.ClickException(
                    f"the database refused the import ({exc.__class__.__name__}); nothing was "
                    "written. Another import may have changed the same rows: try again."
                ) from exc
        _print_result(result, fmt)
    if not result.ok:
        sys.exit(2)


def _print_result(result, fmt: str) -> None:
    if fmt == "json":
        payload = {
            "ok": result.ok,
            **result.counts(),
            "error_count": result.error_count,
            "read_as": result.how_read,
            "warnings": result.warnings,
            "errors": [e.as_dict() for e in result.errors],  # the first 1000, by row
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not result.ok:
        click.echo(
            f"{result.filename}: {result.error_count} problem(s); nothing was imported.",
            err=True,
        )
        rows = [
            {**e.as_dict(), "row": "" if e.row is None else e.row}
            for e in result.errors[:SHOWN_ERRORS]
        ]
        print_rows(rows, ["row", "column", "value", "expected"], "table")
        if result.error_count > SHOWN_ERRORS:
            click.echo(f"… and {result.error_count - SHOWN_ERRORS} more (use --format json).")
        return
    verb = "would be" if result.dry_run else "were"
    click.echo(
        f"{result.filename} ({result.how_read}): {result.rows} rows. "
        f"{result.created} {verb} created, {result.updated} {verb} updated, "
        f"{result.unchanged} unchanged."
    )
    if result.dry_run:
        click.echo("Dry run: nothing was written.")


@click.group("registry")
def registry_group() -> None:
    """Read the registry: list rows, print import templates."""


@registry_group.command("list")
@click.argument("kind", type=_KIND)
@_INSTITUTION
@click.option("--search", default=None, help="Case-insensitive text in the name, code or number.")
@FORMAT_OPTION
@with_app
def list_command(kind: str, institution_code: str, search: str | None, fmt: str) -> None:
    """List an institution's KIND rows (all of them, sorted as on the staff pages).

    The columns are the import columns, so ``--format csv`` output can be edited and
    imported again.
    """
    from surveys.extensions import db
    from surveys.registry.services import LIST_COLUMNS, list_registry, neutralise_formula

    institution = _institution(institution_code)
    page = list_registry(db.session, kind, institution.id, search=search, page=None)
    rows = page.rows
    if fmt == "csv":
        rows = [{k: neutralise_formula(v) for k, v in row.items()} for row in rows]
    print_rows(rows, LIST_COLUMNS[kind], fmt)


@registry_group.command("template")
@click.argument("kind", type=_KIND)
def template_command(kind: str) -> None:
    """Print the CSV header row of a KIND import file (save it, fill it in, import it)."""
    from surveys.registry.imports import template_csv

    click.echo(template_csv(kind), nl=False)


commands: list[click.Command] = [import_command, registry_group]
