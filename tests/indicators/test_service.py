"""The indicator service: settings versions, stored records, invalidation, concurrency."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis import compute_indicators
from surveys.audit.models import AuditEvent
from surveys.campaigns.services import create_campaign, create_invitations
from surveys.indicators import (
    SettingsConflict,
    SettingsError,
    build_inputs,
    compute_records,
    current_settings,
    data_version,
    ensure_computed,
    get_indicators,
    settings_history,
    update_settings,
)
from surveys.indicators.models import IndicatorComputation, IndicatorRecord
from surveys.registry.imports import import_registry_file
from surveys.responses.services import submit
from tests.campaigns.builders import SECRET
from tests.indicators.builders import answers, build_setting

AS_OF = dt.date(2026, 11, 30)
DEFAULTS = {
    "confidence_level": 0.95,
    "min_n": 5,
    "low_n": 25,
    "fpc": False,
    "targets": {"overall_satisfied": 0.8},
}


def computations(db) -> int:
    return db.scalar(select(func.count()).select_from(IndicatorComputation))


def responses_n(found, programme="OIL", year=2025) -> int | None:
    record = next(
        r
        for r in found.records
        if r.indicator == "responses" and r.programme == programme and r.year == year
    )
    return record.n


# --- settings -----------------------------------------------------------------------------


def test_settings_are_versioned_and_audited(app, db):
    setting = build_setting(db)
    iid = setting.institution.id
    assert current_settings(db, iid).version == 0  # the defaults, never saved
    with app.test_request_context():
        first = update_settings(db, iid, **{**DEFAULTS, "min_n": 10, "low_n": 30})
        again = update_settings(db, iid, **{**DEFAULTS, "min_n": 10, "low_n": 30})
        second = update_settings(
            db,
            iid,
            **{**DEFAULTS, "confidence_level": 0.9, "targets": {"employment_rate": 0.7}},
            expected_version=1,
        )
    assert (first.version, again.version, second.version) == (1, 1, 2)
    assert [s.version for s in settings_history(db, iid)] == [2, 1]  # old versions stay
    assert current_settings(db, iid).targets == {"employment_rate": 0.7}
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "indicators.settings_changed")
    ).all()
    assert len(events) == 2  # saving the same values again records nothing
    assert events[1].details["changes"]["confidence_level"] == [0.95, 0.9]
    assert events[1].details["changes"]["targets"] == [
        {"overall_satisfied": 0.8},
        {"employment_rate": 0.7},
    ]
    assert events[0].institution_id == iid
    # someone saved version 2 meanwhile: an editor who started from version 1 is told so
    with pytest.raises(SettingsConflict, match="version 2"):
        update_settings(db, iid, **DEFAULTS, expected_version=1)


@pytest.mark.parametrize(
    "change,field,message",
    [
        ({"min_n": 3}, "min_n", "from 5"),
        ({"min_n": 4.5}, "min_n", "whole number"),
        ({"low_n": 4}, "low_n", "(5)"),
        ({"confidence_level": 0.99}, "confidence_level", "95% or 90%"),
        ({"targets": {"overall_satisfied": 80}}, "target:overall_satisfied", "0% and 100%"),
        ({"targets": {"nps": -150}}, "target:nps", "-100 and 100"),
        ({"targets": {"cronbach_alpha": 0.7}}, "target:cronbach_alpha", "No target"),
        ({"targets": {"domain_score:Bad Key": 70}}, "target:domain_score:Bad Key", "domain"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(app, db, change, field, message):
    setting = build_setting(db)
    with app.test_request_context(), pytest.raises(SettingsError) as refused:
        update_settings(db, setting.institution.id, **{**DEFAULTS, **change})
    assert refused.value.field == field
    assert message in refused.value.message
    assert current_settings(db, setting.institution.id).version == 0


# --- stored records -----------------------------------------------------------------------


def test_stored_records_equal_a_fresh_computation(app, db):
    setting = build_setting(db)
    iid = setting.institution.id
    with app.app_context():
        update_settings(db, iid, **{**DEFAULTS, "targets": {"domain_score": 70}})
        found = get_indicators(db, iid, as_of=AS_OF)
        fresh = compute_records(db, iid, current_settings(db, iid), as_of=AS_OF)
    assert found.records == fresh  # every field, unrounded, in the same order
    assert len(fresh) > 50
    # and equal to analysis on the inputs built by hand from the same tables
    with app.app_context():
        inputs = build_inputs(db, iid, as_of=AS_OF)
    by_hand = compute_indicators(
        inputs.ratings,
        invited=inputs.invited,
        outcomes=inputs.outcomes,
        targets={"domain_score": 70},
    )
    assert fresh == by_hand
    # reading a scope filters the stored records
    with app.app_context():
        scoped = get_indicators(db, iid, years=2025, programmes=["OIL"], as_of=AS_OF)
    assert scoped.records == [r for r in fresh if r.year == 2025 and r.programme == "OIL"]
    assert computations(db) == 1  # read twice, computed once


def test_no_responses_means_no_records(app, db, make_institution):
    institution = make_institution(code="EMPTY")
    with app.app_context():
        found = get_indicators(db, institution.id, as_of=AS_OF)
    assert found.records == [] and computations(db) == 1


# --- invalidation: every trigger gives the next reader new numbers --------------------------


def _read(app, db, iid):
    with app.app_context():
        found = get_indicators(db, iid, as_of=AS_OF)
    db.commit()
    return found


def test_a_submitted_response_invalidates(app, db):
    setting = build_setting(db)
    iid = setting.institution.id
    before = _read(app, db, iid)
    assert responses_n(before) == 7
    pending = next(
        i
        for i in setting.invitations
        if i.campaign.year == 2025 and i.graduate.programme.code == "OIL" and not _submitted(db, i)
    )
    version = data_version(db, iid)
    submit(db, pending, answers(setting.version, random.Random(1)), language="en")
    assert data_version(db, iid) == version + 1  # bumped in the same transaction
    after = _read(app, db, iid)
    assert responses_n(after) == 8
    assert after.data_version == version + 1
    assert computations(db) == 1  # the older computation was replaced


def _submitted(db, invitation) -> bool:
    from surveys.responses.models import Response, ResponseStatus

    return (
        db.scalar(
            select(Response.id).where(
                Response.invitation_id == invitation.id,
                Response.status == ResponseStatus.SUBMITTED,
            )
        )
        is not None
    )


def test_a_saved_draft_does_not_invalidate(app, db):
    from surveys.responses.services import save_answers

    setting = build_setting(db)
    iid = setting.institution.id
    first = _read(app, db, iid)
    pending = next(i for i in setting.invitations if not _submitted(db, i))
    save_answers(db, pending, {"overall": 4}, language="en")
    assert data_version(db, iid) == first.data_version
    assert _read(app, db, iid).computed_at == first.computed_at


def test_campaign_and_invitations_invalidate(app, db):
    setting = build_setting(db)
    iid = setting.institution.id
    first = _read(app, db, iid)
    campaign = create_campaign(
        db,
        institution_id=iid,
        instrument_version_id=setting.version.id,
        year=2025,
        programme_ids=[setting.programmes["OIL"].id],
        name="Second round",
        allow_duplicate=True,  # a second round over the first one's period, on purpose
        opens_on=dt.date(2026, 1, 10),
        closes_on=dt.date(2026, 3, 10),
    )
    assert data_version(db, iid) == first.data_version + 1
    create_invitations(db, campaign, secret_key=SECRET)
    assert data_version(db, iid) == first.data_version + 2
    after = _read(app, db, iid)
    rate = next(
        r
        for r in after.records
        if r.indicator == "response_rate" and r.programme == "OIL" and r.year == 2025
    )
    assert rate.estimate == pytest.approx(7 / 16)  # twice as many invited now


@pytest.mark.parametrize("kind", ["graduates", "employment", "agreements"])
def test_registry_imports_invalidate(app, db, kind):
    setting = build_setting(db)
    iid = setting.institution.id
    first = _read(app, db, iid)
    oil = setting.programmes["OIL"]
    graduate = next(  # recorded as not employed: a new employment record changes the rate
        g for g in setting.graduates if g.programme_id == oil.id and g.employment_status
    )
    partner_free = setting.employers[3]
    files = {
        "graduates": "student_number,full_name,programme_code,graduation_year,employment_status\n"
        "NEW1,New Graduate,OIL,2025,not_employed\n",
        "employment": "student_number,employer_tax_number,position,start_date\n"
        f"{graduate.student_number},{partner_free.tax_number},Driller,2025-10-01\n",
        "agreements": "number,employer_tax_number,kind,signed_on,valid_from\n"
        f"AG-NEW,{partner_free.tax_number},employment,2024-01-10,2024-01-10\n",
    }
    with app.test_request_context():
        result = import_registry_file(
            db, setting.institution, kind, files[kind].encode(), f"{kind}.csv"
        )
    assert result.ok, result.errors
    assert data_version(db, iid) == first.data_version + 1
    after = _read(app, db, iid)
    assert after.computed_at > first.computed_at and after.records != first.records


def test_settings_change_is_a_new_key(app, db):
    setting = build_setting(db)
    iid = setting.institution.id
    first = _read(app, db, iid)
    with app.test_request_context():
        update_settings(db, iid, **{**DEFAULTS, "confidence_level": 0.9})
    after = _read(app, db, iid)
    assert {r.confidence_level for r in after.records} == {0.9}
    assert after.data_version == first.data_version  # the data did not change


def test_institution_code_change_invalidates(app, db):
    from surveys.admin.services import update_institution

    setting = build_setting(db)
    iid = setting.institution.id
    assert {r.institution for r in _read(app, db, iid).records} == {"QMII"}
    with app.test_request_context():
        update_institution(db, iid, code="QMII-NG", name="QMII Institute")
    assert {r.institution for r in _read(app, db, iid).records} == {"QMII-NG"}


def test_a_new_day_is_a_new_key(app, db):
    """Retention becomes known as time passes: records are computed as of each day."""
    setting = build_setting(db)
    iid = setting.institution.id
    with app.app_context():
        early = get_indicators(db, iid, as_of=dt.date(2025, 9, 1))
        late = get_indicators(db, iid, as_of=dt.date(2026, 11, 30))
    assert early.as_of != late.as_of and early.records != late.records

    def retention(found):
        return next(
            (
                r
                for r in found.records
                if r.indicator == "retention_12m" and r.programme == "*" and r.year == 2024
            ),
            None,
        )

    # in Sept 2025 only the 2024 graduates who started in August have had 12 months
    assert retention(late).n == 16 and (retention(early).n or 0) < 16


# --- concurrency --------------------------------------------------------------------------


def test_two_workers_computing_at_once_store_one_computation(app, db):
    setting = build_setting(db)
    iid = setting.institution.id
    db.commit()
    engine = db.get_bind()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            with app.app_context(), Session(bind=engine) as session:
                barrier.wait(timeout=30)
                found, _settings = ensure_computed(session, iid, as_of=AS_OF)
                results.append(found.id)
                session.commit()
        except Exception as exc:  # reported below, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == 2 and results[0] == results[1]
    db.expire_all()
    assert computations(db) == 1
    stored = db.scalar(select(IndicatorComputation))
    assert stored.record_count == db.scalar(select(func.count()).select_from(IndicatorRecord))
