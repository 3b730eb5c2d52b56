"""The chart module on its own: valid Plotly figures from records, texts in three
languages, JSON safe inside HTML, plotly.js served with caching headers, SVG export."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import plotly.graph_objects as go
import pytest
from flask_babel import force_locale

from analysis import Indicator
from analysis.counts import item_distribution
from surveys.charts import figures
from surveys.charts.model import Chart, DataTable
from surveys.charts.views import plotly_version


def record(
    indicator="domain_score",
    *,
    year=2025,
    domain="safety",
    est=61.0,
    lo=57.0,
    hi=65.0,
    n=40,
    flags=(),
    suppressed=False,
    programme="MECH",
):
    if suppressed:
        est = lo = hi = n = None
    return Indicator(
        "TDTU",
        programme,
        year,
        "attestation",
        indicator,
        domain,
        n,
        est,
        lo,
        hi,
        0.95,
        "t-cluster",
        tuple(flags),
        suppressed,
    )


DOMAINS = {"safety": "Safety culture", "skills": "Practical skills", "digital": "Digital skills"}


def all_kinds_of_chart() -> list[Chart]:
    scores = [
        record(domain="safety", est=61.0, lo=57.0, hi=65.0),
        record(domain="skills", est=80.0, lo=75.0, hi=84.0),
        record(domain="digital", suppressed=True),
        record(domain="safety", est=63.0, lo=60.0, hi=66.0, flags=("pooled",)),
    ]
    trend = [
        record("overall_satisfied", year=2023, domain=None, est=0.7, lo=0.6, hi=0.78),
        record("overall_satisfied", year=2024, domain=None, suppressed=True),
        record("overall_satisfied", year=2025, domain=None, est=0.9, lo=0.82, hi=0.95),
        record(
            "overall_satisfied_change",
            year=2025,
            domain=None,
            est=0.2,
            lo=0.1,
            hi=0.3,
            flags=("significant",),
        ),
    ]
    answers = [
        item_distribution("a", [1, 2, 3, 10, 9], scale_min=1, scale_max=5),
        item_distribution("b", [0, 1, 1, 1, 0], scale_min=1, scale_max=5),
    ]
    return [
        figures.domain_scores(scores, domain_names=DOMAINS),
        figures.domain_scores([], domain_names=DOMAINS),
        figures.domain_scores([record(suppressed=True)], domain_names=DOMAINS),
        figures.trend(trend, title="Satisfied overall", key="t"),
        figures.answer_distribution(
            answers,
            item_texts={"a": "Knowledge of the theory", "b": "Following </script> rules"},
            point_labels=["Very poor", "Poor", "Fair", "Good", "Excellent"],
        ),
        figures.heatmap(
            [
                record(domain="safety"),
                record(domain="skills", programme="CHEM", suppressed=True),
                record(domain="skills", est=70.0, lo=66.0, hi=74.0),
            ],
            programme_names={"MECH": "MECH Mechanical", "CHEM": "CHEM Chemistry"},
            domain_names=DOMAINS,
        ),
        figures.responses_per_day(
            [(dt.date(2026, 1, 12), 4), (dt.date(2026, 1, 10), 3)], invited=20
        ),
    ]


def test_every_figure_is_valid_for_plotly(app):
    with app.app_context():
        charts = all_kinds_of_chart()
    for chart in charts:
        figure = go.Figure(chart.figure)  # raises on any property plotly does not know
        assert figure.layout.height
        assert chart.reading and chart.title
        if not chart.empty:
            assert chart.table.rows, chart.key


def test_readings_and_tables_come_from_the_records(app):
    with app.app_context():
        scores, _, hidden, trend, answers, heatmap, per_day = [c for c in all_kinds_of_chart()]
    assert scores.reading == "Employers rate safety culture lowest: 61.0 of 100, 95% CI 57.0–65.0."
    assert ("Digital skills", "2025", "< 5", "", "< 5", "") in scores.table.rows
    assert scores.table.rows[-1][:2] == ("Safety culture", "2023–2025") or any(
        row[1] == "2023–2025" for row in scores.table.rows
    )
    assert scores.figure["data"][0]["x"] == [61.0, 80.0]  # the hidden domain has no bar
    assert "no score is shown" in hidden.reading
    assert trend.reading.startswith("Satisfied overall in 2025: 90.0% (95% CI 82.0–95.0%)")
    assert "significant" in trend.reading
    assert trend.figure["data"][2]["y"] == [0.7, None, 0.9]
    assert trend.figure["data"][3]["x"] == [2025]  # the star
    assert "“Knowledge of the theory”" in answers.reading and "of 25 employers" in answers.reading
    assert answers.table.rows[1][-2] == "< 5"
    assert heatmap.figure["data"][0]["z"] == [[None, None], [61.0, 70.0]]  # CHEM, MECH
    assert per_day.figure["data"][1]["y"] == [3, 7]
    assert "7 of 20 invited employers" in per_day.reading


def test_chart_texts_follow_the_locale(app):
    with app.app_context():
        with force_locale("ru"):
            ru = figures.domain_scores([record()], domain_names={"safety": "Безопасность"})
        with force_locale("uz"):
            uz = figures.domain_scores([record()], domain_names={"safety": "Xavfsizlik"})
    assert ru.reading.startswith("Ниже всего работодатели оценивают область «Безопасность»")
    assert "95% ДИ" in ru.reading
    assert uz.title != "Domain scores (0–100)" and "Xavfsizlik" in uz.reading


def test_figure_json_cannot_end_its_script_element(app):
    with app.app_context():
        answers = all_kinds_of_chart()[4]
    text = answers.figure_json()
    assert "</script>" not in text and "<" not in text
    assert "Following </script> rules" in json.loads(text)["layout"]["yaxis"]["categoryarray"]
    assert json.loads(text)["config"]["displayModeBar"] is False


def test_plotly_js_is_served_with_long_caching_and_an_etag(client):
    version = plotly_version()
    stale = client.get("/charts/plotly-1.0.0.min.js")
    assert stale.status_code == 302 and stale.headers["Location"].endswith(version + ".min.js")
    url = f"/charts/plotly-{version}.min.js"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and plain.mimetype == "text/javascript"
    assert b"plotly" in plain.data[:2000].lower() and len(plain.data) > 1_000_000
    cache = plain.headers["Cache-Control"]
    assert "max-age=31536000" in cache and "public" in cache and "immutable" in cache
    etag = plain.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert again.status_code == 304 and not again.data
    zipped = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert (
        zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    )
    assert gzip.decompress(zipped.data) == plain.data
    assert len(zipped.data) < len(plain.data) / 2


def test_plotly_js_stays_cached_for_logged_in_readers(world, client_of):
    """Logged-in users' pages are no-store; plotly.js is the same file for everyone."""
    url = f"/charts/plotly-{plotly_version()}.min.js"
    for reader in (world.member, world.staff):
        response = client_of(reader).get(url)
        cache = response.headers["Cache-Control"]
        assert response.status_code == 200 and "no-store" not in cache
        assert "max-age=31536000" in cache and "immutable" in cache


def test_pages_draw_with_our_script_only(world, client_of):
    html = (
        client_of(world.member)
        .get(f"/dashboard/programmes/{world.programmes['MECH'].id}")
        .get_data(as_text=True)
    )
    scripts = [s for s in html.split("<script")[1:]]
    inline = [s for s in scripts if 'type="application/json"' not in s and "src=" not in s[:80]]
    assert not inline  # the CSP's script-src 'self' holds: figures travel as JSON
    assert f"/charts/plotly-{plotly_version()}.min.js" in html
    assert "cdn" not in html.lower()


@pytest.mark.browser
def test_a_chart_exports_as_svg_through_kaleido(app):
    from surveys.charts.export import chart_svg

    with app.app_context():
        chart = all_kinds_of_chart()[0]
    svg = chart_svg(chart)
    assert svg.lstrip().startswith("<svg") and "Safety culture" in svg
    assert svg.count('class="point"') >= 2  # the two bars drawn
    with pytest.raises(ValueError, match="nothing to draw"):
        chart_svg(
            Chart("x", "t", "empty", {"data": [], "layout": {}}, DataTable("t", (), ()), empty=True)
        )


@pytest.mark.browser
def test_a_batch_of_charts_draws_each_figure_once_in_order(app):
    from surveys.charts.export import charts_svg

    with app.app_context():
        scores, trend = all_kinds_of_chart()[0], all_kinds_of_chart()[3]
    svgs = charts_svg([scores, trend, scores])
    assert "Safety culture" in svgs[0] and "Safety culture" not in svgs[1]
    # plotly.js gives every drawing random clip-path ids: equal texts are one drawing
    assert svgs[2] == svgs[0] and svgs[1] != svgs[0]
    assert charts_svg([]) == []


def test_no_browser_is_a_clear_error_not_a_wait(monkeypatch):
    from surveys.charts import export

    monkeypatch.setattr(export, "_server", None)
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    with pytest.raises(RuntimeError, match="no Chromium at /nonexistent/chromium"):
        export.start_server()


@pytest.mark.browser
def test_a_hung_browser_is_killed_and_the_next_export_starts_another(monkeypatch):
    import asyncio
    import time

    from surveys.charts import export

    figure = {"data": [{"type": "bar", "x": ["Safety culture"], "y": [4.2]}], "layout": {}}
    chart = Chart("hung", "A bar", "one bar", figure, DataTable("t", (), ()))
    hung = export._running()  # this process's browser (started here if none yet)

    async def never(self, fig, opts):
        await asyncio.sleep(3600)  # a tab that stopped answering

    monkeypatch.setattr(export._Browser, "calc_fig", never)
    monkeypatch.setattr(export, "DRAW_TIMEOUT", 0.5)
    monkeypatch.setattr(export, "FIGURE_TIMEOUT", 0.1)
    started = time.monotonic()
    with pytest.raises(export.ChartTimeout, match=r"did not draw 1 chart\(s\) within 0.6 s"):
        export.chart_svg(chart)
    assert time.monotonic() - started < export.OPEN_TIMEOUT + 15
    assert hung.browser.result().subprocess.poll() is not None  # its Chromium is gone
    hung.thread.join(timeout=10)
    assert not hung.thread.is_alive()

    monkeypatch.undo()
    svg = export.chart_svg(chart)  # a new browser draws
    assert "Safety culture" in svg
    assert export._running() is not hung


@pytest.mark.browser
def test_a_tab_whose_page_lost_kaleidos_script_is_reloaded_before_it_draws():
    """On a busy machine kaleido can take a new tab's blank page for its own; drawing on it
    failed with "kaleido_scopes is not defined". Here every tab is sent to a blank page."""
    import asyncio

    from surveys.charts import export

    charts = [  # one figure per tab
        Chart(
            f"blank{n}",
            "A bar",
            "one bar",
            {"data": [{"type": "bar", "x": ["Teamwork"], "y": [3 + n / 10]}], "layout": {}},
            DataTable("t", (), ()),
        )
        for n in range(export.TABS)
    ]
    server = export._running()
    browser = server.browser.result(timeout=export.OPEN_TIMEOUT)

    async def blank_every_tab() -> int:
        tabs = [await browser.tabs_ready.get() for _ in range(export.TABS)]
        for tab in tabs:
            await tab.tab.send_command("Page.navigate", params={"url": "about:blank"})
            await asyncio.sleep(0.2)
            assert not await export._has_kaleido_script(tab)
            await browser.tabs_ready.put(tab)
        return len(tabs)

    blanked = asyncio.run_coroutine_threadsafe(blank_every_tab(), server.loop).result(60)
    assert blanked == export.TABS
    svgs = export.charts_svg(charts)
    assert len(svgs) == export.TABS and all("Teamwork" in svg for svg in svgs)


def test_the_headless_shell_is_preferred_and_the_full_browser_is_the_fallback(
    monkeypatch, tmp_path
):
    from surveys.charts import export

    shell = tmp_path / "chromium-headless-shell"
    shell.write_text("#!/bin/sh\n")
    monkeypatch.setattr(export, "HEADLESS_SHELL", str(shell))
    assert export.default_browser() == export.FULL_BROWSER  # there, but not executable
    shell.chmod(0o755)
    assert export.default_browser() == str(shell)
    monkeypatch.setattr(export, "HEADLESS_SHELL", str(tmp_path / "not-installed"))
    assert export.default_browser() == "/usr/bin/chromium"
