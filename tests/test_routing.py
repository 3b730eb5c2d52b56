"""URL rules compile their builders on first use (surveys.web.LazyBuilderRule): same URLs."""

from __future__ import annotations

import pytest
from werkzeug.routing import BuildError, Map, Rule

from surveys.web import LazyBuilderRule

PATTERNS = ["/", "/s/<token>", "/dashboard/programmes/<int:programme_id>", "/a/<path:rest>"]
CALLS = [
    ("r0", {}),
    ("r0", {"year": 2025, "q": "a b&c"}),
    ("r1", {"token": "ab/c d", "lang": "ru"}),
    ("r2", {"programme_id": 7, "year": 2024}),
    ("r3", {"rest": "x/y z"}),
]


def urls(rule_class):
    adapter = Map(
        [rule_class(pattern, endpoint=f"r{i}") for i, pattern in enumerate(PATTERNS)]
    ).bind("hamkor.test")
    built = [adapter.build(endpoint, values) for endpoint, values in CALLS]
    built += [adapter.build("r2", {"programme_id": 7}, force_external=True)]
    with pytest.raises(BuildError):
        adapter.build("r2", {})
    return built


def test_lazy_builders_build_the_same_urls_as_werkzeugs():
    assert urls(LazyBuilderRule) == urls(Rule)
    assert "/dashboard/programmes/7?year=2024" in urls(LazyBuilderRule)


def test_the_app_uses_them_and_builds_its_urls(app):
    assert app.url_rule_class is LazyBuilderRule
    with app.test_request_context():
        from flask import url_for

        assert url_for("dashboard.programme", programme_id=3, year=2025) == (
            "/dashboard/programmes/3?year=2025"
        )
