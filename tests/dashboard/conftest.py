"""Fixtures of the dashboard tests: the seeded world and logged-in clients."""

from __future__ import annotations

import html as html_module
import json
import re

import pytest

from tests.dashboard.builders import seed_dashboard
from tests.snapshots import built_once
from tests.world import logged_in_client

CHART_JSON = re.compile(
    r'<script type="application/json" data-chart="chart-([^"]+)-plot">(.*?)</script>', re.S
)


@pytest.fixture
def world(db):
    return built_once(db, "dashboard", seed_dashboard)


@pytest.fixture
def client_of(app):
    """A client logged in as ``user`` through the real login form."""
    return lambda user: logged_in_client(app, user)


def charts_in(html: str) -> dict[str, dict]:
    """The figures a page carries, by chart key, as plotly.js receives them."""
    return {key: json.loads(text) for key, text in CHART_JSON.findall(html)}


def text_of(html: str) -> str:
    """The page's visible text, roughly: tags dropped, whitespace collapsed."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))
