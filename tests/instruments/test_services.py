"""Publishing definitions: idempotent loads, new versions on change, immutable versions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from surveys.audit.models import AuditEvent
from surveys.instruments.definitions import DefinitionError
from surveys.instruments.models import ImmutableVersionError, Instrument, InstrumentVersion
from surveys.instruments.services import (
    latest_version,
    load_builtin_instruments,
    load_definition,
)
from tests.instruments.test_definitions import minimal


def test_load_creates_instrument_and_version_one_with_audit(db):
    version, created = load_definition(db, minimal())
    db.commit()
    assert created and version.version == 1
    assert version.instrument.key == "mini" and version.instrument.name == "Mini"
    assert len(version.checksum) == 64
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["instruments.create", "instruments.publish_version"]


def test_loading_the_same_definition_again_changes_nothing(db):
    first, _ = load_definition(db, minimal())
    db.commit()
    again, created = load_definition(db, minimal())
    assert not created and again.id == first.id
    assert db.scalar(select(func.count()).select_from(InstrumentVersion)) == 1


def test_changed_definition_becomes_the_next_version(db):
    v1, _ = load_definition(db, minimal())
    changed = minimal()
    changed["title"]["en"] = "Mini, revised"
    v2, created = load_definition(db, changed)
    db.commit()
    assert created and v2.version == 2 and v2.instrument_id == v1.instrument_id
    assert v1.definition["title"]["en"] == "Mini"
    assert latest_version(db, "mini").id == v2.id
    assert v2.instrument.name == "Mini, revised"
    # loading v1's text again is recognised as v1, not published a third time
    back, created = load_definition(db, minimal())
    assert not created and back.id == v1.id


def test_invalid_definition_writes_nothing(db):
    bad = minimal()
    bad["sections"][0]["items"][0]["type"] = "essay"
    with pytest.raises(DefinitionError, match="item 'skill_a'"):
        load_definition(db, bad)
    assert db.scalar(select(func.count()).select_from(Instrument)) == 0


def test_kind_cannot_change_between_versions(db):
    load_definition(db, minimal())
    other = minimal()
    other["kind"] = "interview"
    with pytest.raises(DefinitionError, match=r"kind 'custom'.*cannot change it to 'interview'"):
        load_definition(db, other)


def test_published_version_cannot_be_edited_or_deleted(db):
    version, _ = load_definition(db, minimal())
    db.commit()
    changed = dict(version.definition)
    changed["key"] = "other"
    version.definition = changed
    with pytest.raises(ImmutableVersionError, match="publish a new version"):
        db.flush()
    db.rollback()
    db.delete(db.get(InstrumentVersion, version.id))
    with pytest.raises(ImmutableVersionError, match="cannot be deleted"):
        db.flush()
    db.rollback()
    assert db.get(InstrumentVersion, version.id).definition["key"] == "mini"


def test_builtin_instruments_load_once(db):
    versions = load_builtin_instruments(db)
    db.commit()
    assert sorted(v.instrument.key for v in versions) == ["attestation", "interview", "performance"]
    assert all(v.version == 1 for v in versions)
    again = load_builtin_instruments(db)
    assert [v.id for v in again] == [v.id for v in versions]
    assert db.scalar(select(func.count()).select_from(InstrumentVersion)) == 3
    assert latest_version(db, "interview").instrument.kind.value == "interview"
    assert latest_version(db, "nonexistent") is None


def test_campaigns_and_answers_keep_the_version_they_used(db, make_programme):
    from tests.campaigns.builders import campaign_for

    v1, _ = load_definition(db, minimal())
    campaign = campaign_for(db, v1, [make_programme()])
    db.commit()
    changed = minimal()
    changed["sections"][0]["items"][0]["text"]["en"] = "Skill A, reworded"
    v2, created = load_definition(db, changed)
    db.commit()
    assert created and latest_version(db, "mini").id == v2.id
    db.refresh(campaign)
    assert campaign.instrument_version_id == v1.id
    assert campaign.instrument_version.definition["sections"][0]["items"][0]["text"]["en"] == (
        "Skill A"
    )
