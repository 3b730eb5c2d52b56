"""Submitting: in Russian, once only (double clicks, resubmits), validation, literal text."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from playwright.sync_api import expect

from surveys.responses.models import ResponseStatus
from tests.browser.survey_form import (
    FIRST_SECTION_ITEMS,
    REQUIRED_ITEMS,
    SECTIONS,
    answer_all_sections,
    answer_section,
    choose,
    press,
    radio,
)
from tests.live import requests_reaching

pytestmark = pytest.mark.browser

THANK_YOU = re.compile("Thank you")
CYRILLIC = re.compile("[А-Яа-яЁё]")
#: The static files of a page of the form (base.html's and form.html's; a headless browser
#: asks for no icon).
STATIC_OF_THE_FORM = ("hamkor.css", "hamkor.js", "survey.js")


def server_errors(page) -> list[str]:
    """Collect every 5xx the page receives (documents, autosaves, assets)."""
    errors: list[str] = []

    def note(response) -> None:
        if response.status >= 500:
            errors.append(f"{response.status} {response.request.method} {response.url}")

    page.on("response", note)
    return errors


def submit_button(page):
    return page.locator('button[name="action"][value="submit"]')


def test_an_employer_fills_the_form_in_russian_and_it_is_stored_once(
    app, page, survey_link, responses_of, artifact
):
    static = requests_reaching(app, "/static/")
    page.goto(survey_link.url)
    with page.expect_navigation():
        page.select_option("#lang-select", "ru")
    assert "lang=ru" in page.url
    main = page.locator("main")
    expect(main).to_contain_text(f"Раздел 1 из {SECTIONS}")
    expect(page.locator('button[name="action"][value="next"]')).to_have_text(CYRILLIC)
    expect(main).to_contain_text("Знание теоретических основ специальности")

    given = {}
    for number in range(1, SECTIONS):
        expect(main).to_contain_text(f"Раздел {number} из {SECTIONS}")
        given |= answer_section(page, value="4")
        press(page, "next")
    expect(main).to_contain_text(f"Раздел {SECTIONS} из {SECTIONS}")
    expect(main).to_contain_text("Каковы главные сильные стороны выпускника?")
    given |= answer_section(page, value="5", nps="10")
    page.fill('textarea[name="strengths"]', "Быстро осваивает новое оборудование")
    press(page, "submit")

    expect(page.locator("h1")).to_contain_text("Спасибо")
    expect(main).to_contain_text("Быстро осваивает новое оборудование")
    page.screenshot(path=artifact("thank-you-ru"), full_page=True)

    (response,) = responses_of(survey_link.invitation_id)
    assert response.status == ResponseStatus.SUBMITTED
    assert response.submitted_at is not None
    assert response.language in (None, "ru")
    answers = {a.item_key: a for a in response.answers}
    assert set(given) == set(REQUIRED_ITEMS)
    assert set(answers) == {*REQUIRED_ITEMS, "strengths"}
    assert answers["pk_theory"].number == 4
    assert answers["overall"].number == 5
    assert answers["recommend"].number == 10
    assert answers["strengths"].text == "Быстро осваивает новое оборудование"
    # seven pages, and the stylesheet and the scripts were fetched once each: the browser
    # kept them (their URLs change with their content), asking nothing again
    fetched = Counter(path for path, _ in static)
    assert {f"/static/{name}" for name in STATIC_OF_THE_FORM} <= set(fetched), fetched
    assert set(fetched.values()) == {1} and {status for _, status in static} == {200}, static


def test_the_language_choice_stays_on_the_next_pages(page, survey_link):
    page.goto(survey_link.url + "?lang=ru")
    press(page, "next")
    expect(page.locator("main")).to_contain_text(f"Раздел 2 из {SECTIONS}")
    page.goto(survey_link.url)
    expect(page.locator("html")).to_have_attribute("lang", "ru")


def test_a_double_click_on_submit_makes_one_response(page, survey_link, responses_of):
    errors = server_errors(page)
    page.goto(survey_link.url)
    answer_all_sections(page)
    submit_button(page).dblclick()
    expect(page.locator("h1")).to_contain_text(THANK_YOU)
    page.wait_for_load_state()
    assert errors == []

    (response,) = responses_of(survey_link.invitation_id)
    assert response.status == ResponseStatus.SUBMITTED
    page.goto(survey_link.url)
    expect(page.locator("h1")).to_contain_text(THANK_YOU)


TWO_SUBMITS_AT_ONCE = """async () => {
    const form = document.querySelector("form[data-autosave-url]");
    const post = () => {
        const body = new FormData(form);
        body.set("action", "submit");
        const url = form.getAttribute("action");  // form.action is the button named "action"
        return fetch(url, {method: "POST", body, credentials: "same-origin"})
            .then(async r => [r.status, await r.text()]);
    };
    return Promise.all([post(), post()]);
}"""


def test_two_submits_racing_each_other_make_one_response(page, survey_link, responses_of):
    page.goto(survey_link.url)
    answer_all_sections(page)
    results = page.evaluate(TWO_SUBMITS_AT_ONCE)  # as a double click that slipped through
    assert [status for status, _ in results] == [200, 200]
    assert all("Thank you" in html for _, html in results)

    (response,) = responses_of(survey_link.invitation_id)
    assert response.status == ResponseStatus.SUBMITTED
    assert len(response.answers) == len(REQUIRED_ITEMS)


def test_going_back_and_submitting_again_changes_nothing(new_context, survey_link, responses_of):
    page = new_context().new_page()
    errors = server_errors(page)
    page.goto(survey_link.url)
    answer_all_sections(page, value="4")
    page.fill('textarea[name="gaps"]', "Reading of P&ID diagrams")
    with page.expect_request(lambda r: r.method == "POST" and "autosave" not in r.url) as sent:
        press(page, "submit")
    expect(page.locator("h1")).to_contain_text(THANK_YOU)
    first_post = sent.value

    # The browser's Back button shows the filled last section again (from its cache);
    # the employer changes an answer and submits once more.
    page.go_back()
    if submit_button(page).count():  # a browser that re-fetches shows the thank-you page
        choose(page, "overall", "1")
        press(page, "submit")
    expect(page.locator("h1")).to_contain_text(THANK_YOU)

    # The same POST resent (reload after submit), with a changed answer smuggled in...
    changed = first_post.post_data.replace("gaps=Reading", "gaps=Changed")
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    replay = page.request.post(first_post.url, data=changed, headers=form_headers)
    assert replay.status == 200
    assert "Thank you" in replay.text()
    # ...and as "Save and continue later": refused, with the received answers shown.
    resave = page.request.post(
        first_post.url, data=changed.replace("action=submit", "action=save"), headers=form_headers
    )
    assert resave.status == 409
    assert "already submitted" in resave.text()
    assert errors == []

    (response,) = responses_of(survey_link.invitation_id)
    assert response.status == ResponseStatus.SUBMITTED
    answers = {a.item_key: a for a in response.answers}
    assert answers["overall"].number == 4
    assert answers["gaps"].text == "Reading of P&ID diagrams"
    page.goto(survey_link.url)
    expect(page.locator("h1")).to_contain_text(THANK_YOU)
    expect(page.locator("main")).to_contain_text("Reading of P&ID diagrams")
    expect(submit_button(page)).to_have_count(0)


def field_error_of(page, key: str):
    """The error message shown beside item ``key``; asserts a control points at it."""
    item = page.locator("fieldset", has=page.locator(f'input[name="{key}"]'))
    error = item.locator(".field-error")
    expect(error).to_be_visible()
    error_id = error.get_attribute("id")
    assert error_id, f"the error of {key} has no id, so nothing can point at it"
    described = page.locator(f'[aria-describedby~="{error_id}"]')
    assert described.count() >= 1, f"nothing of item {key} is linked to its error"
    return error


def test_missing_required_answers_are_pointed_out_beside_the_field_and_on_top(
    page, survey_link, responses_of
):
    page.goto(survey_link.url)
    main = page.locator("main")
    # The employer skips one question of section 1, and "overall" (no "cannot judge").
    for key in FIRST_SECTION_ITEMS:
        if key != "ps_problems":
            choose(page, key, "4")
    press(page, "next")
    for _ in range(SECTIONS - 2):
        answer_section(page)
        press(page, "next")
    choose(page, "recommend", "8")
    press(page, "submit")

    summary = page.get_by_role("alert")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # read out at once by a screen reader
    expect(summary).to_contain_text("Finding and fixing problems in the work process")
    expect(summary).to_contain_text("how satisfied are you")
    expect(page.locator("h1")).not_to_contain_text(THANK_YOU)
    expect(main).to_contain_text("Section 1 of 4")  # where the first gap is
    field_error_of(page, "ps_problems")
    expect(radio(page, "pk_theory", "4")).to_be_checked()  # what was answered stays
    (response,) = responses_of(survey_link.invitation_id)
    assert response.status == ResponseStatus.DRAFT

    # The summary's link leads to the other gap; once both are answered, Submit works.
    with page.expect_navigation():
        summary.get_by_role("link", name=re.compile("how satisfied are you")).click()
    expect(main).to_contain_text(f"Section {SECTIONS} of {SECTIONS}")
    expect(radio(page, "recommend", "8")).to_be_checked()
    choose(page, "overall", "4")
    press(page, "submit")
    expect(summary).not_to_contain_text("how satisfied are you")
    choose(page, "ps_problems", "3")
    for _ in range(SECTIONS - 1):
        press(page, "next")
    press(page, "submit")
    expect(page.locator("h1")).to_contain_text(THANK_YOU)
    (response,) = responses_of(survey_link.invitation_id)
    assert response.status == ResponseStatus.SUBMITTED


def test_typed_markup_is_shown_as_text_and_never_runs(page, survey_link, responses_of):
    payload = "<script>window.__pwned=1</script><b>x</b>"
    page.goto(survey_link.url)
    answer_all_sections(page)
    page.fill('textarea[name="strengths"]', payload)
    press(page, "submit")

    expect(page.locator("h1")).to_contain_text(THANK_YOU)
    expect(page.locator("main")).to_contain_text(payload)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("main b", has_text=re.compile("^x$")).count() == 0
    (response,) = responses_of(survey_link.invitation_id)
    assert {a.item_key: a.text for a in response.answers}["strengths"] == payload
