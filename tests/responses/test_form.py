"""The employer's form behind a personal link: pages, drafts, submit once, bad input."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from surveys.audit.models import AuditEvent
from surveys.campaigns.models import Campaign, CampaignStatus
from surveys.responses.models import Answer, Response, ResponseStatus
from tests.attestation import SECTION_ITEMS
from tests.conftest import csrf_token_from
from tests.responses.conftest import (
    FIRST_SECTION,
    checked_values,
    invitation_of,
    make_link,
    post_section,
)

#: Answers for every required item of the attestation, section by section.
ALL_ANSWERS = {
    1: {key: "4" for key in FIRST_SECTION},
    2: {key: "3" for key in SECTION_ITEMS[1]},
    3: {"la_learning": "5", "la_change": "na", "ds_tools": "4", "ds_specialised": "2"},
    4: {"overall": "4", "recommend": "9", "strengths": "Careful with safety rules."},
}


def responses_of(db, link) -> list[Response]:
    db.expire_all()
    return list(db.scalars(select(Response).where(Response.invitation_id == link.invitation_id)))


def answers_of(db, link) -> dict[str, Answer]:
    (response,) = responses_of(db, link)
    return {a.item_key: a for a in response.answers}


def fill_everything(client, link, *, until: int = 3) -> None:
    for section in range(1, until + 1):
        assert post_section(client, link, section, ALL_ANSWERS[section], "next").status_code == 303


def test_the_form_shows_whom_and_what_is_assessed(client, link):
    page = client.get(link.url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for expected in (
        "Dilnoza Karimova",
        "Shurtan Gas Chemical Complex",
        "Oil and gas machines",
        "Karshi Engineering Institute",
        "Section 1 of 4",
        "How your answers are used",
        "theoretical foundations",  # the first item's wording from the YAML
    ):
        assert expected in html, expected
    # a fieldset with a legend per scale item, a label for every radio, "cannot judge" offered
    assert html.count("<fieldset") == len(FIRST_SECTION)
    assert 'id="pk_theory-4"' in html and '<label for="pk_theory-4">' in html
    assert 'value="na"' in html and "Cannot judge" in html
    assert 'name="action" value="next"' in html and 'value="submit"' not in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert "noindex" in html


def test_a_saved_draft_is_restored_when_the_link_is_opened_again(client, app, db, link):
    saved = post_section(client, link, 1, {"pk_theory": "5", "pk_technology": "na"})
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(f"{link.url}?section=1")
    assert "Your answers are saved" in client.get(saved.headers["Location"]).get_data(as_text=True)

    (response,) = responses_of(db, link)
    assert response.status == ResponseStatus.DRAFT
    answers = answers_of(db, link)
    assert answers["pk_theory"].number == 5
    assert answers["pk_technology"].not_applicable and answers["pk_technology"].number is None

    other_device = app.test_client()  # no cookies: only the link
    html = other_device.get(link.url).get_data(as_text=True)
    assert checked_values(html) == {"pk_theory": "5", "pk_technology": "na"}


def test_next_and_previous_keep_answers_and_reopening_resumes_where_answers_stop(
    client, app, db, link
):
    moved = post_section(client, link, 1, ALL_ANSWERS[1], "next")
    assert moved.headers["Location"].endswith("?section=2")
    assert "Section 2 of 4" in client.get(moved.headers["Location"]).get_data(as_text=True)
    back = post_section(client, link, 2, {"sc_rules": "2"}, "previous")
    assert back.headers["Location"].endswith("?section=1")
    assert (
        checked_values(client.get(back.headers["Location"]).get_data(as_text=True))
        == (ALL_ANSWERS[1])
    )
    # opened again later without ?section: the first section with an unanswered question
    html = app.test_client().get(link.url).get_data(as_text=True)
    assert "Section 2 of 4" in html
    assert checked_values(html) == {"sc_rules": "2"}


def test_submit_makes_the_response_final_and_shows_a_summary(client, db, link):
    fill_everything(client, link)
    done = post_section(client, link, 4, ALL_ANSWERS[4], "submit")
    assert done.status_code == 303 and done.headers["Location"].endswith(link.url)
    thanks = client.get(link.url)
    html = thanks.get_data(as_text=True)
    assert thanks.status_code == 200
    assert "Thank you" in html and "Careful with safety rules." in html
    assert "4 · Good" in html and "Cannot judge" in html

    (response,) = responses_of(db, link)
    assert response.status == ResponseStatus.SUBMITTED and response.submitted_at is not None
    assert response.language == "en"
    answers = answers_of(db, link)
    assert len(answers) == 6 + 6 + 4 + 3  # the empty "gaps" text is not stored
    assert answers["recommend"].number == 9
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "responses.submit")).all()
    assert len(events) == 1 and events[0].object_id == str(response.id)


def test_submit_with_unanswered_required_items_keeps_the_draft_and_says_where(client, db, link):
    post_section(client, link, 1, {"pk_theory": "4"}, "next")
    page = post_section(client, link, 4, ALL_ANSWERS[4], "submit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'role="alert"' in html and "answers need your attention" in html
    assert "Section 1 of 4" in html  # shown where the first missing answer is
    assert 'id="error-pk_technology"' in html and 'aria-describedby="error-pk_technology"' in html
    assert "(section 2)" in html  # missing answers elsewhere are listed with their section
    (response,) = responses_of(db, link)
    assert response.status == ResponseStatus.DRAFT
    assert answers_of(db, link)["overall"].number == 4  # what was given is kept


def test_a_second_submit_double_click_or_second_tab_never_makes_a_second_response(
    client, app, db, link
):
    fill_everything(client, link)
    second_tab = app.test_client()
    token_in_second_tab = csrf_token_from(
        second_tab.get(f"{link.url}?section=4").get_data(as_text=True)
    )
    form = {
        "csrf_token": csrf_token_from(client.get(f"{link.url}?section=4").get_data(as_text=True)),
        "section": "4",
        "action": "submit",
    } | ALL_ANSWERS[4]
    assert client.post(link.url, data=form).status_code == 303
    resubmitted = client.post(link.url, data=form)  # the browser resends the same POST
    assert resubmitted.status_code == 303  # the same thank-you page again
    changed = second_tab.post(
        link.url,
        data={"csrf_token": token_in_second_tab, "section": "4", "action": "save", "overall": "1"},
    )
    assert changed.status_code == 409
    assert "already submitted" in changed.get_data(as_text=True)
    assert len(responses_of(db, link)) == 1
    assert answers_of(db, link)["overall"].number == 4


def test_concurrent_submits_create_one_response(app, db, link):
    import threading

    clients = [app.test_client() for _ in range(4)]
    fill_everything(clients[0], link)
    forms = []
    for client in clients:
        token = csrf_token_from(client.get(f"{link.url}?section=4").get_data(as_text=True))
        forms.append({"csrf_token": token, "section": "4", "action": "submit"} | ALL_ANSWERS[4])
    barrier = threading.Barrier(len(clients))
    statuses = []

    def submit(client, form):
        barrier.wait()
        statuses.append(client.post(link.url, data=form).status_code)

    threads = [
        threading.Thread(target=submit, args=pair) for pair in zip(clients, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [303] * len(clients)
    (response,) = responses_of(db, link)
    assert response.status == ResponseStatus.SUBMITTED
    assert db.scalar(select(func.count()).select_from(Answer)) == 6 + 6 + 4 + 3


def test_scores_outside_the_scale_are_refused_beside_the_field_and_nothing_is_saved(
    client, db, link
):
    page = post_section(client, link, 1, {"pk_theory": "9", "pk_technology": "4"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="error-pk_theory"' in html and "Choose one of the offered answers." in html
    assert 'role="alert"' in html
    client.get(f"{link.url}?lang=ru")  # the messages come in the page's language
    russian = post_section(client, link, 1, {"pk_theory": "9"}).get_data(as_text=True)
    assert "Выберите один из предложенных ответов." in russian
    assert responses_of(db, link) == []


def test_forged_item_keys_missing_csrf_and_odd_posts_get_clear_answers(client, db, link):
    forged = post_section(client, link, 1, {"pk_theory": "4", "is_admin": "1"})
    assert forged.status_code == 400 and "is_admin" in forged.get_data(as_text=True)
    other_section = post_section(client, link, 1, {"overall": "5"})
    assert other_section.status_code == 400 and "overall" in other_section.get_data(as_text=True)
    no_csrf = client.post(link.url, data={"section": "1", "action": "save", "pk_theory": "4"})
    assert no_csrf.status_code == 400 and "CSRF" in no_csrf.get_data(as_text=True)
    bad_csrf = client.post(
        link.url, data={"csrf_token": "x" * 40, "section": "1", "action": "save"}
    )
    assert bad_csrf.status_code == 400
    page = client.get(link.url).get_data(as_text=True)
    token = csrf_token_from(page)
    for data in (
        {"section": "7", "action": "save"},
        {"section": "one", "action": "save"},
        {"section": "1", "action": "delete"},
    ):
        refused = client.post(link.url, data={"csrf_token": token} | data)
        assert refused.status_code == 400
    assert responses_of(db, link) == []


def test_long_text_and_html_are_handled_as_text(client, db, link):
    fill_everything(client, link)
    huge = post_section(client, link, 4, {"strengths": "x" * 100_000}, "save")
    assert huge.status_code == 422
    assert "At most 5000 characters" in huge.get_data(as_text=True)
    assert answers_of(db, link).get("strengths") is None

    script = '<script>alert("x")</script><b>bold</b>'
    post_section(client, link, 4, ALL_ANSWERS[4] | {"gaps": script}, "submit")
    assert answers_of(db, link)["gaps"].text == script  # stored as typed
    html = client.get(link.url).get_data(as_text=True)
    assert script not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in html


def test_links_that_open_nothing_get_a_polite_page_that_reveals_nothing(client, db, link):
    unknown = client.get("/s/" + "A" * 43)
    malformed = client.get("/s/short")
    assert unknown.status_code == malformed.status_code == 404
    assert unknown.get_data() == malformed.get_data()
    assert "This link does not open a form" in unknown.get_data(as_text=True)
    assert client.get(link.url[:-1] + ("B" if link.url[-1] != "B" else "C")).status_code == 404

    invitation = invitation_of(db, link)
    invitation.withdrawn_at = dt.datetime.now(dt.UTC)
    db.commit()
    withdrawn = client.get(link.url)
    assert withdrawn.status_code == 410 and "withdrawn" in withdrawn.get_data(as_text=True)
    post = client.post(link.url, data={"section": "1", "action": "save"})
    assert post.status_code in (400, 410)  # CSRF or gone: never saved
    assert responses_of(db, link) == []


def test_closed_and_not_yet_open_campaigns(client, db, link):
    campaign = db.get(Campaign, link.campaign_id)
    campaign.status = CampaignStatus.CLOSED
    db.commit()
    closed = client.get(link.url)
    assert closed.status_code == 410 and "This survey is closed" in closed.get_data(as_text=True)
    campaign.status = CampaignStatus.OPEN
    campaign.opens_on = dt.date.today() + dt.timedelta(days=3)
    campaign.closes_on = dt.date.today() + dt.timedelta(days=30)
    db.commit()
    assert client.get(link.url).status_code == 404


def test_autosave_stores_the_draft_and_answers_json(client, db, link):
    token = csrf_token_from(client.get(link.url).get_data(as_text=True))
    url = f"{link.url}/autosave"
    headers = {"Accept": "application/json"}
    saved = client.post(
        url, data={"csrf_token": token, "section": "1", "pk_theory": "3"}, headers=headers
    )
    assert saved.status_code == 200 and saved.json["status"] == "draft"
    assert answers_of(db, link)["pk_theory"].number == 3
    # clearing a text or leaving a radio unchosen removes only this section's answers
    saved = client.post(url, data={"csrf_token": token, "section": "1"}, headers=headers)
    assert saved.status_code == 200 and answers_of(db, link) == {}

    invalid = client.post(
        url, data={"csrf_token": token, "section": "1", "pk_theory": "0"}, headers=headers
    )
    assert invalid.status_code == 422 and "pk_theory" in invalid.json["errors"]
    no_csrf = client.post(url, data={"section": "1", "pk_theory": "3"}, headers=headers)
    assert no_csrf.status_code == 400
    unknown = client.post(
        "/s/" + "Z" * 43 + "/autosave", data={"csrf_token": token}, headers=headers
    )
    assert unknown.status_code == 404 and unknown.json == {"error": "unknown"}

    fill_everything(client, link)
    post_section(client, link, 4, ALL_ANSWERS[4], "submit")
    late = client.post(
        url, data={"csrf_token": token, "section": "1", "pk_theory": "1"}, headers=headers
    )
    assert late.status_code == 409
    assert answers_of(db, link)["pk_theory"].number == 4


def test_language_follows_the_invitation_then_the_switcher(
    client, db, make_institution, make_programme, make_graduate, make_employer
):
    link = make_link(
        db, make_institution, make_programme, make_graduate, make_employer, language="ru"
    )
    html = client.get(link.url).get_data(as_text=True)
    assert '<html lang="ru">' in html
    assert "Знание теоретических основ" in html  # the item's Russian wording from the YAML
    html = client.get(f"{link.url}?lang=uz").get_data(as_text=True)
    assert '<html lang="uz">' in html
    # the choice persists in the session
    assert '<html lang="uz">' in client.get(link.url).get_data(as_text=True)
    post_section(client, link, 1, {"pk_theory": "4"})
    (response,) = responses_of(db, link)
    assert response.language == "uz"


def test_guessing_tokens_is_rate_limited(app, client, link):
    app.config["HAMKOR_TOKEN_RATE_LIMIT"] = "5 per minute"
    for attempt in range(5):
        assert client.get(f"/s/{'Q' * 42}{attempt}").status_code == 404
    assert client.get("/s/" + "Q" * 43).status_code == 429


def test_a_form_submitted_through_the_link_enters_the_ratings_table_pseudonymously(
    client, db, link
):
    from analysis import compute_indicators
    from surveys.responses.ratings import build_ratings, ratings_columns

    fill_everything(client, link)
    post_section(client, link, 4, ALL_ANSWERS[4], "submit")
    rows = build_ratings(db, year=2025)
    assert len(rows) == 6 + 6 + 4 + 2  # every scale item, the texts are not ratings
    by_item = {row["item"]: row for row in rows}
    assert by_item["la_change"]["score"] is None  # "cannot judge" is an empty score
    assert by_item["pk_theory"]["score"] == 4 and by_item["recommend"]["score"] == 9
    assert by_item["recommend"]["scale_min"] == 0 and by_item["recommend"]["scale_max"] == 10
    flat = " ".join(str(value) for row in rows for value in row.values())
    assert "Dilnoza" not in flat and "Shurtan" not in flat
    # and the analysis package reads it as it is
    records = compute_indicators(ratings_columns(db, year=2025), min_n=1)
    overall = [r for r in records if r.indicator == "overall_satisfied" and r.programme != "*"]
    assert overall and overall[0].n == 1 and overall[0].estimate == 1.0


def test_dates_that_cannot_be_are_refused_beside_the_field(
    client, db, make_institution, make_programme, make_graduate, make_employer
):
    """The performance review's period: not in the future, and its end not before its start."""
    link = make_link(
        db,
        make_institution,
        make_programme,
        make_graduate,
        make_employer,
        instrument="performance",
    )
    # the institution's day (HAMKOR_TIMEZONE), not the machine's: they differ around midnight
    today = dt.datetime.now(ZoneInfo(client.application.config["HAMKOR_TIMEZONE"])).date()
    html = client.get(link.url).get_data(as_text=True)
    assert 'type="date" id="period_end"' in html and f'max="{today.isoformat()}"' in html
    backwards = post_section(
        client,
        link,
        1,
        {"period_start": "2025-09-01", "period_end": "2025-03-31", "position": "Engineer"},
    )
    page = backwards.get_data(as_text=True)
    assert backwards.status_code == 422
    assert "This date cannot be before “Start of the period reviewed”." in page
    future = (today + dt.timedelta(days=40)).isoformat()
    ahead = post_section(client, link, 1, {"period_start": future})
    assert ahead.status_code == 422 and "This date is in the future" in ahead.get_data(as_text=True)
    nonsense = post_section(client, link, 1, {"period_start": "2025-02-30"})
    assert nonsense.status_code == 422
    assert "Enter a real date (year, month and day)." in nonsense.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Response)) == 0
    fine = post_section(client, link, 1, {"period_start": "2025-03-01", "period_end": "2025-09-30"})
    assert fine.status_code == 303
    assert answers_of(db, link)["period_end"].date == dt.date(2025, 9, 30)


def test_a_submit_that_waits_on_a_save_checks_the_answers_that_save_wrote(app, db, link):
    """A submit reads the response's answers after it holds the row lock: answers that a
    concurrent save committed while the submit waited count (no false "unanswered")."""
    import threading
    import time

    from sqlalchemy import insert, text
    from sqlalchemy.orm import Session

    from surveys.responses.services import lock_response

    engine = db.get_bind()
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite's writers queue on the database lock)")
    client = app.test_client()
    assert post_section(client, link, 1, ALL_ANSWERS[1], "next").status_code == 303
    invitation = SimpleNamespace(id=link.invitation_id)
    saver = Session(engine)
    held = lock_response(saver, invitation)  # the save holds the row lock …
    saver.execute(
        insert(Answer.__table__).values(response_id=held.id, item_key="overall", number=4)
    )
    seen = {}

    def submit() -> None:
        with Session(engine) as submitter:
            seen["state"] = lock_response(submitter, invitation, with_answers=True)
            submitter.rollback()

    waiting = threading.Thread(target=submit)
    waiting.start()
    deadline = time.monotonic() + 20
    with engine.connect() as watcher:  # … until the submit waits on it
        while not watcher.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ):
            assert time.monotonic() < deadline, "the submit never waited on the lock"
            time.sleep(0.05)
    saver.commit()
    saver.close()
    waiting.join(20)
    assert seen["state"].values["overall"] == 4
    assert set(ALL_ANSWERS[1]) <= set(seen["state"].values)
