"""Seeded worlds built once per test database, then restored from their rows.

A world such as the dashboard's (``tests/dashboard/builders.py``) goes through the real
services — campaigns, invitations, every employer's submit — and takes about a second to
build; dozens of tests start from it on each backend. The first test on a database builds it
for real; the rows of every table are then kept in memory, and later tests get the same rows
inserted back (with the same ids, and PostgreSQL's sequences where the build left them),
which takes a small fraction of that time. The tables are emptied after every test as
usual (``tests/conftest.py``), so each test still starts from exactly the rows the builder
writes.

The world returned to a test has the same shape as the builder's, its ORM objects read
from the test's own session.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import insert, inspect, select, text
from sqlalchemy.orm import Session

from surveys.orm import Base

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class _Ref:
    """An ORM object of the world, by class and primary key."""

    cls: type
    identity: tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class _Snapshot:
    rows: dict[str, list[dict[str, Any]]]  #: table name → rows, in primary-key order
    sequences: dict[str, int]  #: PostgreSQL sequence → its last value
    world: Any  #: the builder's result, ORM objects replaced by :class:`_Ref`


_SNAPSHOTS: dict[tuple[str, str], _Snapshot] = {}


def built_once(db: Session, name: str, build: Callable[[Session], T]) -> T:
    """``build(db)``'s world on the empty database of ``db``: built the first time on this
    database, restored from the rows it wrote after that. ``build`` must commit."""
    key = (db.get_bind().url.render_as_string(hide_password=False), name)
    snapshot = _SNAPSHOTS.get(key)
    if snapshot is None:
        world = build(db)
        _SNAPSHOTS[key] = _take(db, world)
        return world
    _restore(db, snapshot)
    return _resolve(_load(db, snapshot.world), snapshot.world)


def _take(db: Session, world: Any) -> _Snapshot:
    rows = {}
    for table in Base.metadata.sorted_tables:
        found = db.execute(select(table).order_by(*table.primary_key.columns)).mappings()
        rows[table.name] = [dict(row) for row in found]
    sequences: dict[str, int] = {}
    if db.get_bind().dialect.name == "postgresql":
        sequences = {
            sequence: last_value
            for sequence, last_value in db.execute(
                text(
                    "SELECT format('%I.%I', schemaname, sequencename), last_value "
                    "FROM pg_sequences "
                    "WHERE schemaname = current_schema() AND last_value IS NOT NULL"
                )
            )
        }
    db.commit()
    return _Snapshot(rows, sequences, _refs(world))


def _restore(db: Session, snapshot: _Snapshot) -> None:
    for table in Base.metadata.sorted_tables:
        if snapshot.rows[table.name]:
            db.execute(insert(table), snapshot.rows[table.name])
    for sequence, last_value in snapshot.sequences.items():
        db.execute(
            text("SELECT setval(:sequence, :value)"), {"sequence": sequence, "value": last_value}
        )
    db.commit()


def _walk(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """``value`` rebuilt through its dataclasses, dicts, lists and tuples, with ``leaf``
    applied to each ORM object and :class:`_Ref` in it (checked first: both are
    dataclasses)."""
    if isinstance(value, Base | _Ref):
        return leaf(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return dataclasses.replace(
            value, **{f.name: _walk(getattr(value, f.name), leaf) for f in fields}
        )
    if isinstance(value, dict):
        return {k: _walk(v, leaf) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_walk(v, leaf) for v in value)
    return value


def _refs(value: Any) -> Any:
    """``value`` with every ORM object replaced by a :class:`_Ref`."""
    return _walk(value, lambda obj: _Ref(type(obj), inspect(obj).identity))


def _load(db: Session, world: Any) -> dict[_Ref, Any]:
    """The world's objects read from ``db``, with one query per class (not one per object)."""
    wanted: dict[type, set[Any]] = {}
    _walk(world, lambda ref: wanted.setdefault(ref.cls, set()).add(ref.identity[0]))
    loaded = {}
    for cls, ids in wanted.items():
        (key,) = inspect(cls).primary_key
        for found in db.scalars(select(cls).where(key.in_(ids))):
            loaded[_Ref(cls, inspect(found).identity)] = found
    return loaded


def _resolve(loaded: dict[_Ref, Any], value: Any) -> Any:
    """A fresh copy of ``value`` whose :class:`_Ref` are the ``loaded`` objects."""
    return _walk(value, loaded.__getitem__)
