"""An institution's data version: bumped by every change that can move its indicators.

The indicator service (``surveys.indicators``) computes an institution's records once per
(institution, settings version, data version) and stores them. Whatever changes the inputs
of those records must say so, in the same transaction as the change, with one line::

    from surveys.datachanges import data_changed

    data_changed(session, institution_id)

Call it after any change to an institution's

- **responses**: a response submitted, or a submitted one withdrawn or reinstated;
- **campaigns and invitations**: a campaign created, opened, closed or reopened, invitations
  created or withdrawn (they are the response rate's denominator);
- **registry**: graduates, employment records or partnership agreements imported or edited
  (the graduate outcomes: employment, retention, partner employment), an institution's code
  changed (records carry it).

Settings changes need no call: the settings version is part of the key. The next page, API
call or command that reads the institution's indicators then finds no stored computation for
the new version and computes it, so no reader ever sees numbers older than the data.

This lives outside the feature packages on purpose: registry, campaigns and responses come
before indicators in the one-way flow of ``design.md`` and must not import them; they import
this module, and ``surveys.indicators`` reads the version.

Concurrency: the bump is one ``INSERT … ON CONFLICT DO UPDATE SET version = version + 1``,
atomic on SQLite and PostgreSQL; on PostgreSQL it row-locks the institution's counter until
the caller's transaction ends, so concurrent changes of one institution commit one after
the other and every one of them yields a new version.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from surveys.orm import Base, utcnow


class DataVersion(Base):
    """How often an institution's indicator inputs have changed: a counter, never reset."""

    __tablename__ = "data_versions"

    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(default=0)  #: 0 until the first change
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def data_changed(session: Session, institution_id: int) -> int:
    """Record that the indicator inputs of ``institution_id`` changed; return the new version.

    Call it in the transaction that makes the change (services flush, the request or command
    commits both together). Stored indicators of older versions are no longer read.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    bumped = session.execute(_BUMP[postgres], {"institution": institution_id, "now": utcnow()})
    return int(bumped.scalar_one())


def _bump(module) -> Any:
    """The counter's upsert for a dialect's ``insert`` (built once: a statement made anew
    per call was keyed for the compiled cache each time, 2 % of an employer's submit)."""
    table = DataVersion.__table__
    now = bindparam("now", type_=table.c.changed_at.type)
    return (
        module.insert(table)
        .values(
            institution_id=bindparam("institution", type_=table.c.institution_id.type),
            version=1,
            changed_at=now,
        )
        .on_conflict_do_update(
            index_elements=[table.c.institution_id],
            set_={"version": table.c.version + 1, "changed_at": now},
        )
        .returning(table.c.version)
    )


#: :func:`data_changed`'s statement: for PostgreSQL (True) and SQLite (False).
_BUMP = {True: _bump(postgresql), False: _bump(sqlite)}


def data_version(session: Session, institution_id: int) -> int:
    """The current data version of ``institution_id`` (0 before its first change)."""
    version = session.scalar(
        select(DataVersion.version).where(DataVersion.institution_id == institution_id)
    )
    return int(version or 0)
