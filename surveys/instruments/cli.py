"""``hamkor instruments``: load, list and show questionnaire versions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from surveys.cli import FORMAT_OPTION, print_rows, with_app

LANGUAGE_OPTION = click.option(
    "--lang",
    type=click.Choice(["uz", "ru", "en"]),
    default="en",
    show_default=True,
    help="Language of the texts shown.",
)


@click.group("instruments")
def instruments() -> None:
    """Questionnaires (attestation, interview, performance review) and their versions."""


@instruments.command("load")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--builtin", is_flag=True, help="Also load the built-in instruments.")
@click.option(
    "--check", is_flag=True, help="Only validate and say what would happen; write nothing."
)
@with_app
def load(files: tuple[Path, ...], builtin: bool, check: bool) -> None:
    """Validate and publish instrument definitions (YAML or JSON FILES).

    An unchanged definition is reported as such and writes nothing; a changed one is
    published as the next version. If any file is invalid, nothing at all is written and
    the command exits with status 2. With --check, files are validated and nothing is
    written even when all are valid.
    """
    from surveys.extensions import db
    from surveys.instruments.definitions import DefinitionError
    from surveys.instruments.services import (
        builtin_definition_files,
        load_definition,
        read_definition_file,
    )

    paths = list(files) + (builtin_definition_files() if builtin else [])
    if not paths:
        raise click.UsageError("give definition FILES to load, or --builtin")
    report = []
    for path in paths:
        try:
            version, created = load_definition(db.session, read_definition_file(path))
        except DefinitionError as exc:
            db.session.rollback()
            message = str(exc)
            if not message.startswith(str(path)):
                message = f"{path}: {message}"
            click.echo(f"Error: {message}", err=True)
            click.echo("Nothing was loaded.", err=True)
            raise SystemExit(2) from None
        report.append((path, version.instrument.key, version.version, created))
    if check:
        db.session.rollback()
    else:
        db.session.commit()
    builtin_dir = builtin_definition_files()[0].parent if builtin else None
    for path, key, number, created in report:
        state = "created" if created else "unchanged"
        if check:
            state = "valid, would be created" if created else "valid, unchanged"
        shown = f"builtin/{path.name}" if path.parent == builtin_dir else str(path)
        click.echo(f"{shown}: {key} version {number} {state}")


@instruments.command("list")
@FORMAT_OPTION
@with_app
def list_(fmt: str) -> None:
    """List every instrument version."""
    from surveys.extensions import db
    from surveys.instruments.definitions import iter_items, numeric_items
    from surveys.instruments.services import list_instruments

    rows = []
    for instrument in list_instruments(db.session):
        for version in instrument.versions:
            definition = version.definition
            rows.append(
                {
                    "key": instrument.key,
                    "version": version.version,
                    "kind": instrument.kind.value,
                    "title": definition["title"]["en"],
                    "sections": len(definition["sections"]),
                    "items": sum(1 for _ in iter_items(definition)),
                    "numeric_items": len(numeric_items(definition)),
                    "published_at": version.published_at.isoformat(timespec="seconds"),
                    "checksum": version.checksum,
                }
            )
    columns = ["key", "version", "kind", "sections", "items", "published_at", "title"]
    if fmt != "table":
        columns = list(rows[0]) if rows else [*columns, "numeric_items", "checksum"]
    print_rows(rows, columns, fmt)


@instruments.command("show")
@click.argument("key")
@click.option("--version", "number", type=int, help="Version number (default: the newest).")
@LANGUAGE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the stored definition as JSON.")
@with_app
def show(key: str, number: int | None, lang: str, as_json: bool) -> None:
    """Print the structure of an instrument version: sections, items, scales, domains."""
    from surveys.extensions import db
    from surveys.instruments.services import get_version

    version = get_version(db.session, key, number)
    if version is None:
        which = f"version {number} of " if number is not None else ""
        raise click.ClickException(f"no {which}instrument '{key}' (see: hamkor instruments list)")
    if as_json:
        click.echo(json.dumps(version.definition, ensure_ascii=False, indent=2))
        return
    for line in describe_version(version, lang):
        click.echo(line)


def describe_version(version, lang: str) -> list[str]:
    """The structure of ``version`` as lines of text in ``lang``."""
    from surveys.instruments.definitions import text

    d = version.definition
    lines = [
        f"{d['key']} version {version.version} ({d['kind']}): {text(d['title'], lang)}",
        f"published {version.published_at.isoformat(timespec='seconds')}, "
        f"checksum {version.checksum[:16]}",
    ]
    if d.get("description"):
        lines.append(text(d["description"], lang))
    lines.append("")
    lines.append("Scales:")
    for name, scale in d["scales"].items():
        labels = ", ".join(f"{p} {text(label, lang)}" for p, label in scale["labels"].items())
        lines.append(f"  {name} {scale['min']}..{scale['max']}: {labels}")
    lines.append("Domains:")
    for name, label in d["domains"].items():
        lines.append(f"  {name}: {text(label, lang)}")
    total = len(d["sections"])
    for index, section in enumerate(d["sections"], start=1):
        lines.append("")
        lines.append(
            f"Section {index} of {total}: {section['key']} — {text(section['title'], lang)}"
        )
        for item in section["items"]:
            details = [item["type"]]
            if item.get("scale"):
                details += [item["scale"], f"domain {item['domain']}"]
            if item["required"]:
                details.append("required")
            if item["allow_na"]:
                details.append("N/A allowed")
            lines.append(f"  {item['key']} [{', '.join(details)}]")
            lines.append(f"      {text(item['text'], lang)}")
            for option in item.get("options", []):
                lines.append(f"      - {option['key']}: {text(option['label'], lang)}")
    return lines


commands: list[click.Command] = [instruments]
