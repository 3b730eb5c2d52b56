"""The form shows the institution, programme and privacy notice in the form's language."""

from __future__ import annotations

from sqlalchemy import select

from surveys.registry.models import Institution, Programme
from tests.responses.conftest import make_link

NAMES = {
    "uz": "Qarshi muhandislik-iqtisodiyot instituti",
    "ru": "Каршинский инженерно-экономический институт",
}
PROGRAMMES = {"ru": "Нефтегазовые машины"}
NOTICES = {
    "uz": "Javoblaringiz faqat akkreditatsiya uchun ishlatiladi.",
    "ru": "Ваши ответы используются только для аккредитации.",
}


def test_names_and_notice_follow_the_forms_language(
    app, client, db, make_institution, make_programme, make_graduate, make_employer
):
    link = make_link(
        db, make_institution, make_programme, make_graduate, make_employer, language="ru"
    )
    institution = db.scalar(select(Institution).where(Institution.code == "KARSHI"))
    institution.names = NAMES
    institution.privacy_notice = "Answers are used for accreditation only."
    institution.privacy_notices = NOTICES
    db.scalar(select(Programme).where(Programme.code == "OGM")).names = PROGRAMMES
    db.commit()

    russian = client.get(link.url).get_data(as_text=True)  # the invitation's language
    assert NAMES["ru"] in russian and PROGRAMMES["ru"] in russian and NOTICES["ru"] in russian
    assert "Karshi Engineering Institute" not in russian
    assert "Oil and gas machines" not in russian

    uzbek = client.get(f"{link.url}?lang=uz").get_data(as_text=True)
    assert NAMES["uz"] in uzbek and NOTICES["uz"] in uzbek
    assert "Oil and gas machines" in uzbek  # no Uzbek name: the default one

    english = client.get(f"{link.url}?lang=en").get_data(as_text=True)
    assert "Karshi Engineering Institute" in english
    assert "Answers are used for accreditation only." in english
    assert NAMES["ru"] not in english and NOTICES["uz"] not in english
