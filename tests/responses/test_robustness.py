"""The employer's form under odd input, and what a link shows once the campaign is over."""

from __future__ import annotations

import re

from surveys.campaigns.models import Campaign, CampaignStatus
from tests.conftest import csrf_token_from
from tests.responses.conftest import invitation_of, make_link, post_section
from tests.responses.test_form import ALL_ANSWERS, answers_of, fill_everything, responses_of

#: Numbers that look like section numbers to ``str.isdigit`` or ``int`` but are none.
NOT_SECTIONS = ("²", "١", "0", "-1", "5", "99999999999999999999", " 1 1", "1e0", "")


def section_shown(html: str) -> str:
    return re.search(r"Section (\d+) of (\d+)", html).group(1)


def test_a_section_that_is_not_one_shows_the_first_unanswered_one(client, db, link):
    for raw in NOT_SECTIONS:
        page = client.get(link.url, query_string={"section": raw})
        assert page.status_code == 200, raw
        assert section_shown(page.get_data(as_text=True)) == "1", raw
    fill_everything(client, link, until=2)
    for raw in NOT_SECTIONS:
        page = client.get(link.url, query_string={"section": raw})
        assert section_shown(page.get_data(as_text=True)) == "3", raw


def test_a_posted_section_that_is_not_one_is_refused_with_a_reason(client, db, link):
    token = csrf_token_from(client.get(link.url).get_data(as_text=True))
    for raw in NOT_SECTIONS:
        data = {"csrf_token": token, "section": raw, "action": "save", "pk_theory": "4"}
        page = client.post(link.url, data=data)
        assert page.status_code == 400, raw
        assert "The form did not say which section it belongs to." in page.get_data(as_text=True)
        assert 'href="' + link.url + '"' in page.get_data(as_text=True)  # back to the form
        autosave = client.post(f"{link.url}/autosave", data=data)
        assert autosave.status_code == 400, raw
    assert responses_of(db, link) == []


def test_nul_and_control_characters_in_an_answer_are_dropped_not_a_500(client, db, link):
    """PostgreSQL text cannot hold NUL: the characters nobody types vanish, the answer stays."""
    fill_everything(client, link)
    saved = post_section(
        client, link, 4, {"strengths": "Care\x00ful\x01 with\tsafety\r\nrules\x7f"}, "save"
    )
    assert saved.status_code == 303
    assert answers_of(db, link)["strengths"].text == "Careful with\tsafety\r\nrules"

    token = csrf_token_from(client.get(link.url).get_data(as_text=True))
    autosaved = client.post(
        f"{link.url}/autosave",
        data={"csrf_token": token, "section": "4", "gaps": "\x00\x00Drawings\x00"},
    )
    assert autosaved.status_code == 200
    assert answers_of(db, link)["gaps"].text == "Drawings"


def test_a_nameless_multipart_part_does_not_break_the_csrf_check(client, db, link):
    token = csrf_token_from(client.get(link.url).get_data(as_text=True))
    boundary = "b0undary"

    def multipart(*parts: str) -> bytes:
        body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
        return body.encode()

    nameless = "Content-Disposition: form-data\r\n\r\nno name"
    without_token = client.post(
        link.url,
        data=multipart(nameless),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert without_token.status_code == 400
    assert "CSRF" in without_token.get_data(as_text=True)
    with_token = client.post(
        link.url,
        data=multipart(
            nameless,
            f'Content-Disposition: form-data; name="csrf_token"\r\n\r\n{token}',
            'Content-Disposition: form-data; name="section"\r\n\r\n1',
            'Content-Disposition: form-data; name="action"\r\n\r\nsave',
            'Content-Disposition: form-data; name="pk_theory"\r\n\r\n4',
        ),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert with_token.status_code == 303  # the nameless part is ignored, the answer saved
    assert answers_of(db, link)["pk_theory"].number == 4


def test_after_the_campaign_closes_a_submitted_link_says_when_not_who_or_what(client, db, link):
    fill_everything(client, link)
    post_section(client, link, 4, ALL_ANSWERS[4], "submit")
    while_open = client.get(link.url).get_data(as_text=True)
    assert "Thank you" in while_open and "Dilnoza Karimova" in while_open
    assert "Careful with safety rules." in while_open  # the answers, while it is open

    campaign = db.get(Campaign, link.campaign_id)
    campaign.status = CampaignStatus.CLOSED
    db.commit()
    page = client.get(link.url)
    html = page.get_data(as_text=True)
    assert page.status_code == 410
    assert "Your assessment was received" in html
    submitted_at = responses_of(db, link)[0].submitted_at.astimezone()
    assert re.search(r"It was submitted on \d{4}-\d\d-\d\d at \d\d:\d\d\.", html)
    assert str(submitted_at.year) in html
    for secret in ("Dilnoza Karimova", "Careful with safety rules.", "Shurtan"):
        assert secret not in html
    # and nothing can be posted to it any more
    late = client.post(f"{link.url}/autosave", data={"section": "1", "pk_theory": "1"})
    assert late.status_code in (400, 410)
    assert answers_of(db, link)["pk_theory"].number == 4


def test_a_draft_link_after_the_campaign_closes_is_closed(client, db, link):
    post_section(client, link, 1, {"pk_theory": "4"})
    campaign = db.get(Campaign, link.campaign_id)
    campaign.status = CampaignStatus.CLOSED
    db.commit()
    page = client.get(link.url)
    assert page.status_code == 410
    assert "This survey is closed" in page.get_data(as_text=True)
    assert "Your assessment was received" not in page.get_data(as_text=True)


def test_the_language_chosen_on_the_form_is_remembered_on_the_invitation(
    app, db, make_institution, make_programme, make_graduate, make_employer
):
    link = make_link(
        db, make_institution, make_programme, make_graduate, make_employer, language="uz"
    )
    first_device, second_device = app.test_client(), app.test_client()
    assert '<html lang="uz">' in first_device.get(link.url).get_data(as_text=True)
    first_device.get(f"{link.url}?lang=ru")
    assert invitation_of(db, link).language == "ru"
    html = second_device.get(link.url).get_data(as_text=True)
    assert '<html lang="ru">' in html and "Знание теоретических основ" in html
    # a language that is not one of the app's changes nothing
    first_device.get(f"{link.url}?lang=xx")
    assert invitation_of(db, link).language == "ru"


def test_the_required_hint_has_one_star_in_every_language(client, link):
    for language in ("uz", "ru", "en"):
        html = client.get(f"{link.url}?lang={language}").get_data(as_text=True)
        hint = re.search(r'<p class="muted">([^<]*\*[^<]*)</p>', html).group(1)
        assert hint.count("*") == 1, (language, hint)


def test_a_multiple_choice_item_says_choose_all_once(
    client, db, make_institution, make_programme, make_graduate, make_employer
):
    link = make_link(
        db,
        make_institution,
        make_programme,
        make_graduate,
        make_employer,
        instrument="performance",
    )
    pages = [client.get(f"{link.url}?section={n}").get_data(as_text=True) for n in range(1, 7)]
    html = next(page for page in pages if 'type="checkbox"' in page)
    assert "Tick all that apply." in html  # the instrument's own words
    assert "Choose all that apply." not in html
