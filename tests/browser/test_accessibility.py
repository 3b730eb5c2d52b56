"""The form for keyboard and screen-reader users: axe-core finds nothing serious, focus shows."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MOBILE
from tests.browser.survey_form import (
    SAVED_BY_BUTTON,
    SECTIONS,
    answer_section,
    horizontal_overflow,
    press,
    radio,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sqlite_only("tests/responses checks the form's posts on PostgreSQL"),
]

#: axe-core impacts a release must not have.
BLOCKING = ("serious", "critical")

FOCUS_STYLE = """element => {
    const visible = el => {
        if (!el) return false;
        const s = getComputedStyle(el);
        const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
        return outline || (s.boxShadow && s.boxShadow !== "none");
    };
    const label = element.id ? document.querySelector(`label[for="${element.id}"]`) : null;
    return visible(element) || visible(label);
}"""


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page, one readable line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def test_form_and_thank_you_page_have_no_serious_accessibility_problems(
    new_context, survey_link, artifact
):
    page = new_context().new_page()
    page.goto(survey_link.url)
    problems = {"section 1": serious_violations(page)}
    for _ in range(SECTIONS - 1):
        answer_section(page)
        press(page, "next")
    expect(page.locator("main")).to_contain_text(f"Section {SECTIONS} of {SECTIONS}")
    problems["last section"] = serious_violations(page)

    press(page, "submit")  # nothing answered on the last section: the error state
    expect(page.get_by_role("alert")).to_be_visible()
    problems["with errors"] = serious_violations(page)

    answer_section(page)
    press(page, "submit")
    expect(page.locator("h1")).to_contain_text("Thank you")
    problems["thank-you page"] = serious_violations(page)
    page.set_viewport_size(MOBILE["viewport"])
    assert horizontal_overflow(page) == 0, "the thank-you page scrolls sideways at 360 px"
    page.screenshot(path=artifact("thank-you-360px"), full_page=True)
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}


def test_the_form_works_with_the_keyboard_alone_and_focus_is_visible(page, survey_link):
    page.goto(survey_link.url)

    for _ in range(40):  # Tab past the skip link and the header to the first question
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "radio":
            break
    else:
        raise AssertionError("Tab never reached a radio button")
    focused = page.locator(":focus")
    key = focused.get_attribute("name")
    assert key == "pk_theory", f"the first radio reached by Tab belongs to {key!r}"
    assert focused.evaluate(FOCUS_STYLE), "the focused radio button shows no focus outline"

    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    checked = page.locator(f'input[name="{key}"]:checked')
    expect(checked).to_have_count(1)
    value = checked.get_attribute("value")

    for _ in range(120):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.value") == "save":
            break
    else:
        raise AssertionError('Tab never reached "Save and continue later"')
    save = page.locator(":focus")
    assert save.evaluate(FOCUS_STYLE), "the focused Save button shows no focus outline"
    with page.expect_navigation():
        page.keyboard.press("Space")
    expect(page.get_by_role("status").filter(has_text=SAVED_BY_BUTTON)).to_be_visible()

    page.reload()
    expect(radio(page, key, value)).to_be_checked()
