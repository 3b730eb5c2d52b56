"""An employer can stop and come back: saved, autosaved and no-JavaScript drafts survive."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MOBILE
from tests.browser.survey_form import (
    FIRST_SECTION_ITEMS,
    SAVED,
    SAVED_BY_BUTTON,
    SECTIONS,
    answer_section,
    choose,
    horizontal_overflow,
    press,
    radio,
)

pytestmark = pytest.mark.browser


def test_on_a_phone_saved_answers_are_there_when_the_link_is_opened_again(
    new_context, survey_link, artifact
):
    context = new_context(**MOBILE)
    page = context.new_page()
    page.goto(survey_link.url)
    main = page.locator("main")
    expect(main).to_contain_text(survey_link.graduate_name)
    expect(main).to_contain_text(survey_link.employer_name)
    expect(main).to_contain_text(survey_link.programme_name)
    expect(main).to_contain_text("Section 1 of 4")
    assert horizontal_overflow(page) == 0, "the form scrolls sideways on a 360 px phone"

    choose(page, "pk_theory", "4", tap=True)
    choose(page, "pk_technology", "5", tap=True)
    choose(page, "pk_documents", "na", tap=True)
    page.screenshot(path=artifact("form-section1-360px"), full_page=True)
    assert horizontal_overflow(page) == 0
    press(page, "save")
    expect(page.get_by_role("status").filter(has_text=SAVED_BY_BUTTON)).to_be_visible()
    expect(main).to_contain_text("Section 1 of 4")
    context.close()

    page = new_context(**MOBILE).new_page()
    page.goto(survey_link.url)
    expect(radio(page, "pk_theory", "4")).to_be_checked()
    expect(radio(page, "pk_technology", "5")).to_be_checked()
    expect(radio(page, "pk_documents", "na")).to_be_checked()
    expect(page.locator('input[name="ps_tasks"]:checked')).to_have_count(0)

    # Every section fits the phone, the 0–10 scale of the last one included.
    for number in range(2, SECTIONS + 1):
        press(page, "next")
        expect(page.locator("main")).to_contain_text(f"Section {number} of {SECTIONS}")
        assert horizontal_overflow(page) == 0, f"section {number} scrolls sideways at 360 px"
    page.screenshot(path=artifact("form-last-section-360px"), full_page=True)


def test_a_changed_answer_is_autosaved_without_pressing_any_button(new_context, survey_link):
    page = new_context().new_page()
    page.goto(survey_link.url)
    with page.expect_response(
        lambda r: r.url.endswith("/autosave") and r.request.method == "POST"
    ) as autosave:
        choose(page, "ps_quality", "2")
    assert autosave.value.ok, f"autosave answered {autosave.value.status}"
    expect(page.get_by_role("status").filter(has_text=SAVED)).to_be_visible()
    assert page.url == survey_link.url, "autosave must not leave the page"

    again = new_context().new_page()
    again.goto(survey_link.url)
    expect(radio(again, "ps_quality", "2")).to_be_checked()


def test_without_javascript_next_previous_and_save_keep_the_answers(new_context, survey_link):
    page = new_context(java_script_enabled=False).new_page()
    page.goto(survey_link.url)
    main = page.locator("main")
    first = answer_section(page, value="3")
    assert set(first) == set(FIRST_SECTION_ITEMS)

    press(page, "next")
    expect(main).to_contain_text("Section 2 of 4")
    choose(page, "sc_rules", "5")
    press(page, "previous")
    expect(main).to_contain_text("Section 1 of 4")
    for key in FIRST_SECTION_ITEMS:
        expect(radio(page, key, "3")).to_be_checked()

    press(page, "next")
    expect(radio(page, "sc_rules", "5")).to_be_checked()
    choose(page, "sc_standards", "na")
    press(page, "save")
    expect(main).to_contain_text("Section 2 of 4")
    expect(page.get_by_role("status").filter(has_text=SAVED_BY_BUTTON)).to_be_visible()

    # The link reopens where the employer stopped: the first section with a gap.
    again = new_context(java_script_enabled=False).new_page()
    again.goto(survey_link.url)
    expect(again.locator("main")).to_contain_text("Section 2 of 4")
    expect(radio(again, "sc_rules", "5")).to_be_checked()
    expect(radio(again, "sc_standards", "na")).to_be_checked()
    press(again, "previous")
    for key in FIRST_SECTION_ITEMS:
        expect(radio(again, key, "3")).to_be_checked()


def test_answers_given_just_before_switching_language_are_on_the_switched_page(
    new_context, survey_link
):
    page = new_context().new_page()
    page.goto(survey_link.url)
    choose(page, "pk_theory", "2")
    choose(page, "pk_technology", "na")
    with page.expect_navigation():
        page.select_option("#lang-select", "ru")
    expect(page.locator("main")).to_contain_text("Раздел 1 из 4")
    expect(radio(page, "pk_theory", "2")).to_be_checked(timeout=500)
    expect(radio(page, "pk_technology", "na")).to_be_checked(timeout=500)
