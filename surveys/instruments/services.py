"""Publishing instrument definitions as immutable, checksummed versions.

Loading is idempotent: the same definition (same canonical JSON) always maps to the same
version, so ``hamkor instruments load --builtin`` can run on every deploy. A changed
definition becomes the next version; versions already answered are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.audit.services import record_event
from surveys.instruments.definitions import (
    DefinitionError,
    definition_checksum,
    validate_definition,
)
from surveys.instruments.models import Instrument, InstrumentKind, InstrumentVersion

#: The built-in instruments shipped with Hamkor (attestation, interview, performance).
BUILTIN_DIR = Path(__file__).parent / "builtin"


#: Parsed definitions of published versions by (version id, checksum). A published version
#: never changes (``InstrumentVersion`` refuses edits), so a definition read once serves every
#: later request of this process: the employer's form reads its 20 kB of JSON only once.
#: Keyed by the checksum too, so a database rebuilt with other versions under the same ids
#: (tests, a restored backup) never gets a stale definition. Read-only: callers never change it.
_DEFINITIONS: dict[tuple[int, str], dict[str, Any]] = {}
_DEFINITIONS_MAX = 256


def version_definition(version: InstrumentVersion) -> dict[str, Any]:
    """The definition of a published ``version``, parsed once per process.

    Queries that only need the form can load the version with ``defer(definition)``: the
    column is then read (one query) only the first time this process sees the version.
    """
    if version.id is None:
        return version.definition
    key = (version.id, version.checksum)
    found = _DEFINITIONS.get(key)
    if found is None:
        found = version.definition
        if len(_DEFINITIONS) >= _DEFINITIONS_MAX:
            _DEFINITIONS.clear()  # many versions over a long uptime: read again on demand
        _DEFINITIONS[key] = found
    return found


def published_definition(session: Session, version_id: int, checksum: str) -> dict[str, Any]:
    """:func:`version_definition` of the version ``version_id`` whose checksum is
    ``checksum``, for callers that have its id and checksum but not the version: the
    version (and its 20 kB definition) is read only the first time this process sees it."""
    found = _DEFINITIONS.get((version_id, checksum))
    if found is None:
        version = session.get(InstrumentVersion, version_id)
        if version is None or version.checksum != checksum:
            raise LookupError(f"instrument version {version_id} with checksum {checksum}")
        found = version_definition(version)
    return found


def read_definition_file(path: str | Path) -> dict[str, Any]:
    """Parse a YAML (or JSON) definition file; syntax errors become :class:`DefinitionError`."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"{path}: cannot be read as UTF-8 text ({exc})") from exc
    try:
        data = json.loads(raw) if path.suffix == ".json" else _parse_yaml(raw)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise DefinitionError(f"{path}: not valid {kind}: {exc}") from exc
    if not isinstance(data, dict):
        raise DefinitionError(f"{path}: expected a mapping at the top level")
    return data


def _parse_yaml(raw: str) -> Any:
    """Safe YAML through libyaml (several times faster), or PyYAML's own parser when the
    text is broken or libyaml is missing: its messages show the offending line."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.load(raw, Loader=fast)  # noqa: S506 (CSafeLoader is the safe loader)
        except yaml.YAMLError:
            pass
    return yaml.safe_load(raw)


def builtin_definition_files() -> list[Path]:
    """The YAML files of the built-in instruments, in a stable order."""
    return sorted(BUILTIN_DIR.glob("*.yaml"))


def load_definition(session: Session, data: Mapping[str, Any]) -> tuple[InstrumentVersion, bool]:
    """Validate ``data`` and publish it; returns ``(version, created)``.

    When a version of the same instrument has the same checksum, that version is returned
    with ``created=False`` and nothing is written. Otherwise the instrument is created if
    new, and the definition is published as its next version number. Raises
    :class:`DefinitionError` for an invalid definition or a changed ``kind``.
    """
    definition = validate_definition(data)
    checksum = definition_checksum(definition)
    instrument = session.scalars(
        select(Instrument).where(Instrument.key == definition["key"])
    ).one_or_none()
    if instrument is not None:
        existing = session.scalars(
            select(InstrumentVersion).where(
                InstrumentVersion.instrument_id == instrument.id,
                InstrumentVersion.checksum == checksum,
            )
        ).one_or_none()
        if existing is not None:
            return existing, False
        if instrument.kind != InstrumentKind(definition["kind"]):
            raise DefinitionError(
                f"instrument '{instrument.key}' is of kind '{instrument.kind.value}'; a new "
                f"version cannot change it to '{definition['kind']}' (use a new key instead)"
            )
    else:
        instrument = Instrument(
            key=definition["key"],
            kind=InstrumentKind(definition["kind"]),
            name=definition["title"]["en"][:255],
        )
        session.add(instrument)
        session.flush()
        record_event(
            session,
            "instruments.create",
            obj=instrument,
            details={"key": instrument.key, "kind": instrument.kind.value},
        )

    number = (
        session.scalar(
            select(func.max(InstrumentVersion.version)).where(
                InstrumentVersion.instrument_id == instrument.id
            )
        )
        or 0
    ) + 1
    version = InstrumentVersion(
        instrument_id=instrument.id, version=number, definition=definition, checksum=checksum
    )
    instrument.name = definition["title"]["en"][:255]
    session.add(version)
    session.flush()
    record_event(
        session,
        "instruments.publish_version",
        obj=version,
        details={"key": instrument.key, "version": number, "checksum": checksum},
    )
    return version, True


def load_builtin_instruments(session: Session) -> list[InstrumentVersion]:
    """Publish the built-in instruments (idempotent); returns their current versions."""
    return [
        load_definition(session, read_definition_file(path))[0]
        for path in builtin_definition_files()
    ]


def latest_version(session: Session, key: str) -> InstrumentVersion | None:
    """The newest published version of the instrument ``key``, or None."""
    return session.scalars(
        select(InstrumentVersion)
        .join(Instrument)
        .where(Instrument.key == key)
        .order_by(InstrumentVersion.version.desc())
        .limit(1)
    ).first()


def get_version(session: Session, key: str, version: int | None = None) -> InstrumentVersion | None:
    """Version ``version`` of instrument ``key`` (the newest when None), or None."""
    if version is None:
        return latest_version(session, key)
    return session.scalars(
        select(InstrumentVersion)
        .join(Instrument)
        .where(Instrument.key == key, InstrumentVersion.version == version)
    ).one_or_none()


def list_instruments(session: Session) -> list[Instrument]:
    """Every instrument with its versions, by key."""
    return list(session.scalars(select(Instrument).order_by(Instrument.key)))
