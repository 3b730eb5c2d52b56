"""What an employer does on the survey form, as Playwright steps (shared by the tests).

Answers are given by tapping or clicking the visible LABELS, as a person does, never by
setting input values from script.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.attestation import REQUIRED_ITEMS, SECTION_ITEMS, SECTIONS  # noqa: F401 (re-exported)

FIRST_SECTION_ITEMS = SECTION_ITEMS[0]
#: The message after "Save and continue later", and the autosave status ("All changes saved").
SAVED_BY_BUTTON = re.compile(r"answers are saved", re.IGNORECASE)
SAVED = re.compile(r"saved", re.IGNORECASE)


def radio(page: Page, key: str, value: str):
    """The radio input of answer ``value`` to item ``key``."""
    return page.locator(f'input[type="radio"][name="{key}"][value="{value}"]')


def label_of(page: Page, key: str, value: str):
    """The label a person taps to give answer ``value`` to item ``key``."""
    input_id = radio(page, key, value).get_attribute("id")
    assert input_id, f"the radio {key}={value} has no id, so no <label for=...> can name it"
    return page.locator(f'label[for="{input_id}"]')


def choose(page: Page, key: str, value: str, *, tap: bool = False) -> None:
    """Give answer ``value`` to item ``key`` by clicking (or tapping) its label."""
    label = label_of(page, key, value)
    if tap:
        label.tap()
    else:
        label.click()
    expect(radio(page, key, value)).to_be_checked()


def radio_groups(page: Page) -> list[str]:
    """The item keys of the radio groups on the current page, in page order."""
    names = page.eval_on_selector_all(
        'form input[type="radio"]', "inputs => inputs.map(i => i.name)"
    )
    return list(dict.fromkeys(names))


def answer_section(page: Page, value: str = "4", nps: str = "9") -> dict[str, str]:
    """Answer every radio group on the page (0–10 groups get ``nps``); returns key → value."""
    given = {}
    for key in radio_groups(page):
        values = page.eval_on_selector_all(
            f'input[type="radio"][name="{key}"]', "inputs => inputs.map(i => i.value)"
        )
        chosen = nps if "10" in values else value
        choose(page, key, chosen)
        given[key] = chosen
    return given


def press(page: Page, action: str) -> None:
    """Press one of the form's buttons (previous, next, save, submit) and wait for the page."""
    with page.expect_navigation():
        page.locator(f'button[name="action"][value="{action}"]').click()


def answer_all_sections(page: Page, value: str = "4", nps: str = "9") -> dict[str, str]:
    """From section 1, answer every section and go on with Next up to the last one."""
    given: dict[str, str] = {}
    for _ in range(SECTIONS - 1):
        given |= answer_section(page, value, nps)
        press(page, "next")
    given |= answer_section(page, value, nps)
    expect(page.locator('button[name="action"][value="submit"]')).to_be_visible()
    return given


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 = no sideways scrolling)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
