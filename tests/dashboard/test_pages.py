"""What the pages show: suppression (also secondary), chart numbers equal to the records,
no personal data anywhere a committee looks, and the page's language."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from surveys.extensions import db as _db
from surveys.indicators.services import get_indicators
from surveys.models import Answer, Graduate, Response, ResponseStatus
from tests.dashboard.conftest import charts_in, text_of


def records_of(app, institution_id):
    """The records the indicator service holds for the institution (what pages read)."""
    with app.app_context():
        return get_indicators(_db.session, institution_id).records


def overview_cells(html: str) -> dict[str, list[str]]:
    """The overview's body rows: programme code → cell texts (responses … NPS)."""
    rows = {}
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    for row in re.findall(r"<tr.*?</tr>", body, re.S):
        code = re.search(r"<a [^>]*>(\w+) ", row).group(1)
        cells = [text_of(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        rows[code] = cells
    return rows


def test_small_programmes_are_hidden_and_cannot_be_worked_out(app, world, client_of):
    html = client_of(world.member).get("/dashboard?year=2025").get_data(as_text=True)
    rows = overview_cells(html)
    # ELEC has 3 responses: "< 5"; the smallest other programme (MINE, 8) is hidden with it
    assert rows["ELEC"][1] == "< 5" and rows["MINE"][1] == "hidden"
    assert rows["CHEM"][1].startswith("12") and rows["MECH"][1].startswith("32")
    for code in ("ELEC", "MINE"):
        assert all(cell in ("< 5", "hidden", "—") for cell in rows[code][1:7]), rows[code]
    # with the institution's total shown, no column has exactly one hidden programme
    total = text_of(html.split("<tfoot>", 1)[1])
    assert "55" in total  # 32 + 12 + 8 + 3 responses in 2025
    for column in range(1, 5):
        hidden = [code for code, cells in rows.items() if cells[column] in ("< 5", "hidden")]
        assert len(hidden) != 1, (column, hidden)
    # the charts carry no hidden value either: the heatmap's ELEC and MINE rows are empty
    compare = client_of(world.member).get("/dashboard/compare?year=2025").get_data(as_text=True)
    heatmap = charts_in(compare)["heatmap"]["data"][0]
    z = dict(zip([label.split()[0] for label in heatmap["y"]], heatmap["z"], strict=True))
    assert all(v is None for v in z["ELEC"]) and all(v is None for v in z["MINE"])
    assert all(v is not None for v in z["MECH"])
    page = text_of(compare)
    assert page.count("< 5") >= len(z["ELEC"]) and page.count("hidden") >= len(z["MINE"])


def test_chart_numbers_are_the_indicator_records(app, world, client_of):
    mech = world.programmes["MECH"]
    html = client_of(world.member).get(f"/dashboard/programmes/{mech.id}?year=2025")
    charts = charts_in(html.get_data(as_text=True))
    records = [r for r in records_of(app, world.institutions["TDTU"].id) if r.programme == "MECH"]

    def one(indicator, year=2025, domain=None):
        (record,) = [
            r
            for r in records
            if r.indicator == indicator
            and r.year == year
            and r.domain == domain
            and r.instrument == "attestation"
            and "pooled" not in r.flags
        ]
        return record

    # domain scores: bars at the estimates, whiskers from the exact interval ends
    bars = charts["domain-scores"]["data"][0]
    yearly = [
        r
        for r in records
        if r.indicator == "domain_score" and r.year == 2025 and "pooled" not in r.flags
    ]
    assert len(yearly) == 7
    drawn = [(x, *extra) for x, extra in zip(bars["x"], bars["customdata"], strict=True)]
    assert sorted(drawn) == sorted((r.estimate, r.ci_low, r.ci_high, r.n) for r in yearly)
    for i, (x, low, high, _n) in enumerate(drawn):
        # the whiskers end at the interval's ends
        assert x - bars["error_x"]["arrayminus"][i] == pytest.approx(low)
        assert x + bars["error_x"]["array"][i] == pytest.approx(high)
    domains = [r.domain for r in yearly]

    # trends: one point per year, the band from the interval, the star on the significant year
    trend = charts["trend-overall_satisfied"]["data"]
    years = trend[2]["x"]
    assert years == [2024, 2025]
    assert trend[2]["y"] == [one("overall_satisfied", y).estimate for y in years]
    assert trend[0]["y"] == [one("overall_satisfied", y).ci_high for y in years]
    assert trend[1]["y"] == [one("overall_satisfied", y).ci_low for y in years]
    change = one("overall_satisfied_change")
    assert "significant" in change.flags  # 2.8 → 4.5 on a 1–5 scale
    assert trend[3]["x"] == [2025] and trend[3]["y"] == [one("overall_satisfied").estimate]
    nps = charts["trend-nps"]["data"][2]
    assert nps["y"] == [one("nps", y).estimate for y in years]

    # the distribution: counts per scale point, as the database holds the answers
    likert = charts["answers-level5"]["data"]
    with app.app_context():
        counted = dict(
            _db.session.execute(
                select(Answer.number, func.count())
                .join(Response, Response.id == Answer.response_id)
                .join(Response.invitation)
                .join(Graduate)
                .where(
                    Answer.item_key == "pk_theory",
                    Graduate.programme_id == mech.id,
                    Graduate.graduation_year == 2025,
                    Response.status == ResponseStatus.SUBMITTED,
                )
                .group_by(Answer.number)
            ).all()
        )
    position = next(
        i for i, label in enumerate(likert[-1]["y"]) if label.startswith("Knowledge of the theo")
    )
    per_point = {}
    for trace in likert:
        per_point.setdefault(trace["name"], trace["customdata"][position][0])
    labels = ["Very poor", "Poor", "Satisfactory", "Good", "Excellent"]
    assert [per_point[label] for label in labels] == [counted.get(float(p), 0) for p in range(1, 6)]
    # and the heatmap's cells are the records of every programme
    compare = client_of(world.member).get("/dashboard/compare?year=2025").get_data(as_text=True)
    heatmap = charts_in(compare)["heatmap"]["data"][0]
    row = heatmap["z"][[label.split()[0] for label in heatmap["y"]].index("MECH")]
    assert sorted(row) == sorted(one("domain_score", domain=d).estimate for d in set(domains))


def test_no_personal_data_on_any_committee_page(app, world, client_of):
    client = client_of(world.member)
    mech, chem = world.programmes["MECH"].id, world.programmes["CHEM"].id
    pages = {
        url: client.get(url).get_data(as_text=True)
        for url in (
            "/committee",
            "/dashboard?year=2025",
            "/dashboard?year=2024&sort=nps&order=desc",
            f"/dashboard/programmes/{mech}?year=2025",
            f"/dashboard/programmes/{mech}?year=2024",
            f"/dashboard/programmes/{chem}",
            "/dashboard/compare",
            "/dashboard/partnerships",
            "/dashboard/partnerships?year=2025",
            "/dashboard/methodology",
        )
    }
    leaks = [
        (url, secret) for url, html in pages.items() for secret in world.secrets if secret in html
    ]
    assert not leaks, leaks[:5]
    # enterprises appear by name on the partnership evidence only, never beside a rating
    for url, html in pages.items():
        named = [name for name in world.partner_names if name in html]
        if url.startswith("/dashboard/partnerships"):
            continue
        assert not named, (url, named[:3])
    assert any(name in pages["/dashboard/partnerships"] for name in world.partner_names)
    # no pseudonymous ids either
    for url, html in pages.items():
        assert not re.search(r"\b[GER]-[0-9a-f]{16}\b", html), url


def test_partnership_counts_are_suppressed_with_their_totals(world, client_of):
    html = client_of(world.member).get("/dashboard/partnerships?year=2025").get_data(as_text=True)
    section = html.split("MECH Mechanical engineering", 1)[1].split("</section>", 1)[0]
    cells = [text_of(c).strip() for c in re.findall(r'<td class="num">(.*?)</td>', section, re.S)]
    # every enterprise employs two MECH graduates: each count is hidden, the total is 32
    assert set(cells[:-3]) <= {"< 5", "0"}
    assert cells[-2] == "32"


def test_programmes_without_partners_are_listed_together(world, client_of, db):
    """One card lists them (an institution with 500 new programmes had a card each)."""
    from tests import factories

    extra = [
        factories.make_programme(
            db, world.institutions["TDTU"], code=f"NEW{n}", name=f"New programme {n}"
        )
        for n in range(3)
    ]
    db.commit()
    html = client_of(world.staff).get("/dashboard/partnerships?year=2025").get_data(as_text=True)
    assert 'id="partners-{}"'.format(world.programmes["MECH"].id) in html  # a card of its own
    assert not [p for p in extra if f'id="partners-{p.id}"' in html]
    card = html.split('id="without-partners"', 1)[1].split("</section>", 1)[0]
    assert "No graduate of these programmes interned at or works for a partner" in text_of(card)
    assert all(f"{p.code} {p.name}" in text_of(card) for p in extra)
    assert "MECH Mechanical engineering" not in card


def test_pages_speak_the_readers_language(world, client_of):
    client = client_of(world.member)
    mech = world.programmes["MECH"].id
    ru = text_of(
        client.get(f"/dashboard/programmes/{mech}?year=2025&lang=ru").get_data(as_text=True)
    )
    assert "Профессиональные знания" in ru  # the instrument's own domain name
    assert "Динамика по годам" in ru and "Ниже всего работодатели оценивают" in ru
    uz = text_of(client.get("/dashboard?year=2025&lang=uz").get_data(as_text=True))
    assert "Bitiruvchi attestatsiyasi" in uz
    en = text_of(
        client.get(f"/dashboard/programmes/{mech}?year=2025&lang=en").get_data(as_text=True)
    )
    assert "Professional knowledge" in en and "Employers rate" in en


def test_filters_are_get_parameters(world, client_of):
    client = client_of(world.member)
    page = text_of(client.get("/dashboard?year=2025&programme=chem").get_data(as_text=True))
    assert "CHEM Chemical technology" in page and "MECH Mechanical" not in page
    by_responses = client.get("/dashboard?year=2025&sort=responses&order=desc").get_data(
        as_text=True
    )
    assert list(overview_cells(by_responses))[:2] == ["MECH", "CHEM"]
    nonsense = client.get("/dashboard?year=abcd&sort=evil&level=nope&order=x")
    assert nonsense.status_code == 200
    # the language switch keeps the filters
    assert 'name="programme" value="chem"' in client.get(
        "/dashboard?year=2025&programme=chem"
    ).get_data(as_text=True)


def test_the_overview_is_paged_in_the_chosen_order(world, client_of, monkeypatch):
    from surveys.dashboard import services

    client = client_of(world.member)
    everything = list(
        overview_cells(client.get("/dashboard?year=2025&sort=responses&order=desc").get_data(True))
    )
    monkeypatch.setattr(services, "OVERVIEW_PER_PAGE", 2)
    pages = [
        client.get(f"/dashboard?year=2025&sort=responses&order=desc&page={n}").get_data(True)
        for n in (1, 2, 3)
    ]
    assert [list(overview_cells(p)) for p in pages[:2]] == [everything[:2], everything[2:4]]
    assert f"{len(everything)} rows" in text_of(pages[0])  # the caption counts every page
    # the pager keeps the filters and the order; a page past the end shows the last one
    following = re.search(r'<a href="([^"]*)" rel="next">', pages[0]).group(1)
    assert sorted(following.split("?", 1)[1].split("&amp;")) == [
        "order=desc",
        "page=2",
        "sort=responses",
        "year=2025",
    ]
    last = -(-len(everything) // 2)
    beyond = client.get(f"/dashboard?year=2025&page={last + 5}").get_data(True)
    assert f"Page {last} of {last}" in text_of(beyond)


def test_staff_see_response_rates_per_campaign(world, client_of):
    html = client_of(world.staff).get("/dashboard/response-rates").get_data(as_text=True)
    page = text_of(html)
    assert "Attestation MECH 2025" in page and "Attestation OTHER 2025" not in page
    row = re.search(r"Attestation CHEM 2025.*?</tr>", html, re.S).group(0)
    cells = [text_of(c).strip() for c in re.findall(r'<td class="num">(.*?)</td>', row, re.S)]
    assert cells[1:] == ["12", "12", "100.0%"]
    chart = next(iter(charts_in(html).values()))
    assert sum(chart["data"][0]["y"]) == chart["data"][1]["y"][-1]


def test_methodology_page_renders_the_document_in_the_readers_language(world, client_of):
    client = client_of(world.member)
    en = client.get("/dashboard/methodology").get_data(as_text=True)
    assert "<h1>Methodology: how Hamkor computes" in en
    assert "<h2>Targets: met, not met, inconclusive</h2>" in en and "<table>" in en
    assert "cluster" in en and "Why small groups are hidden" in en
    ru = client.get("/dashboard/methodology?lang=ru").get_data(as_text=True)
    assert "Почему малые группы скрыты" in ru and 'lang="ru"' in ru
    uz = client.get("/dashboard/methodology?lang=uz").get_data(as_text=True)
    assert "Nega kichik guruhlar yashiriladi" in uz


def test_methodology_markdown_is_sanitised(monkeypatch):
    from surveys.dashboard import methodology

    methodology.rendered.cache_clear()
    monkeypatch.setattr(
        methodology,
        "_source",
        lambda lang: (
            '# T\n\n<script>alert(1)</script> [x](javascript:alert(1)) <b onclick="x">b</b>',
            "en",
        ),
    )
    try:
        html = str(methodology.rendered("en").html)
    finally:
        methodology.rendered.cache_clear()
    assert "<script" not in html and 'href="javascript:' not in html
    assert not re.search(r"<[^>]*onclick", html)  # shown as text at most, never an attribute
    assert "<h1>T</h1>" in html


def test_a_chart_whose_every_group_is_suppressed_shows_its_reading_and_table_not_empty_axes(
    world, client_of
):
    client = client_of(world.member)
    elec = world.programmes["ELEC"].id  # 3 responses in 2025: every domain is "< 5"
    small = client.get(f"/dashboard/programmes/{elec}?year=2025").get_data(as_text=True)
    assert "Every domain rests on fewer than 5 responses, so no score is shown." in small
    assert 'id="chart-domain-scores-table"' in small  # the table says "< 5" per domain
    assert "domain-scores" not in charts_in(small)  # no axes without a point to draw
    assert "< 5" in text_of(small.split('id="chart-domain-scores-table"', 1)[1])
    mech = world.programmes["MECH"].id
    large = client.get(f"/dashboard/programmes/{mech}?year=2025").get_data(as_text=True)
    assert "domain-scores" in charts_in(large)
    assert 'id="chart-domain-scores-table"' in large
