"""Fixtures of the report tests: the dashboard's seeded world (secrets planted) and helpers."""

from __future__ import annotations

import pytest

from surveys.indicators.services import get_indicators
from tests.dashboard.builders import seed_dashboard
from tests.snapshots import built_once
from tests.world import logged_in_client


@pytest.fixture
def world(db):
    return built_once(db, "dashboard", seed_dashboard)


@pytest.fixture
def client_of(app):
    """A client logged in as ``user`` through the real login form."""
    return lambda user: logged_in_client(app, user)


@pytest.fixture
def records_of(app, db):
    """The indicator service's records of an institution and year (what a report must hold)."""

    def _records(institution, year, programmes=None):
        with app.app_context():
            found = get_indicators(db, institution.id, years=[year], programmes=programmes)
        db.commit()
        return found

    return _records
