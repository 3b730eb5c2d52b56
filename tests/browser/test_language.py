"""The employer's language in Chromium: remembered across devices, laid out in every width."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MOBILE
from tests.browser.survey_form import answer_section, press

pytestmark = pytest.mark.browser

#: Option labels whose text runs over their box, or whose words break inside.
BROKEN_LABELS = """() => {
    const broken = [];
    for (const label of document.querySelectorAll('.option label')) {
        const box = label.getBoundingClientRect();
        const range = document.createRange();
        for (const node of label.querySelectorAll('.point, .point-label')) {
            const inner = node.getBoundingClientRect();
            if (inner.left < box.left + 2 || inner.right > box.right - 2) {
                broken.push('touches its box: ' + label.textContent.trim());
            }
            const text = node.firstChild;
            if (!text) continue;
            let start = 0;
            for (const word of text.textContent.split(' ')) {
                range.setStart(text, start);
                range.setEnd(text, start + word.length);
                if (range.getClientRects().length > 1) {
                    broken.push('word broken: ' + word);
                }
                start += word.length + 1;
            }
        }
    }
    return broken;
}"""


def test_a_language_chosen_on_one_device_is_the_forms_language_on_another(new_context, survey_link):
    laptop = new_context().new_page()  # an English browser, like the second device
    laptop.goto(survey_link.url)
    expect(laptop.locator("html")).to_have_attribute("lang", "en")
    with laptop.expect_navigation():
        laptop.select_option("#lang-select", "ru")
    expect(laptop.locator("html")).to_have_attribute("lang", "ru")
    answer_section(laptop)
    press(laptop, "save")

    phone = new_context(**MOBILE).new_page()  # another device: no cookie, no session
    phone.goto(survey_link.url)
    expect(phone.locator("html")).to_have_attribute("lang", "ru")
    # in Russian, and where the answers stop: section 1 was answered on the laptop
    expect(phone.locator("main")).to_contain_text("Раздел 2 из 4")
    expect(phone.locator('button[value="save"]')).to_have_text("Сохранить и продолжить позже")


@pytest.mark.sqlite_only("the labels' layout does not touch the database")
@pytest.mark.parametrize("width", [360, 740, 1024])
def test_russian_scale_labels_stay_inside_their_boxes(new_context, survey_link, artifact, width):
    """Phone upright and on its side, and a laptop: "Удовлетворительно" is one long word."""
    options = {**MOBILE, "viewport": {"width": width, "height": 800}} if width < 800 else {}
    page = new_context(**options).new_page()
    broken = {}
    for section in (1, 4):
        page.goto(f"{survey_link.url}?lang=ru&section={section}")
        expect(page.locator("html")).to_have_attribute("lang", "ru")
        broken[section] = page.evaluate(BROKEN_LABELS)
        if section == 1:
            page.locator("fieldset.item").first.screenshot(path=artifact(f"ru-scale-{width}px"))
    assert not any(broken.values()), broken
