"""The Uzbek and Russian catalogs cover every UI string, and the shipped .mo files match them.

English is the source language: its catalog may stay empty. Instrument texts are not here;
they live, in all three languages, in the instrument YAML files.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "surveys" / "translations"
#: Languages whose catalogs must translate every string (English is the source language).
TRANSLATED = ("uz", "ru")
#: Every catalog shipped with the app.
LANGUAGES = ("uz", "ru", "en")
#: The keywords the extraction command of docs/translations.md adds with ``-k``.
EXTRA_KEYWORDS = parse_keywords(["_l", "lazy_gettext"])
#: What to run from the repository root when a string lacks a translation.
FIX_COMMAND = "\n".join(
    [
        "  .venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -c Translators: \\",
        "      -o surveys/translations/messages.pot .",
        "  .venv/bin/pybabel update -i surveys/translations/messages.pot -d surveys/translations",
        "  # translate the new (and fuzzy) entries in uz and ru messages.po, then:",
        "  .venv/bin/pybabel compile -d surveys/translations",
        "(see docs/translations.md)",
    ]
)
#: printf-style (``%(name)s``, ``%d``, ``%%``) and str.format (``{name}``) placeholders.
PLACEHOLDER = re.compile(
    r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{[A-Za-z_0-9.\[\]]*\}"
)


def _po(lang: str) -> Catalog:
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def _tuple(value: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
    return tuple(value) if isinstance(value, list | tuple) else value


def _forms(string: str | tuple[str, ...]) -> tuple[str, ...]:
    return string if isinstance(string, tuple) else (string,)


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    """What ``pybabel extract`` finds in the source today (not the committed .pot)."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, "babel.cfg")
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords={**DEFAULT_KEYWORDS, **EXTRA_KEYWORDS}
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def test_extraction_finds_the_ui_strings(extracted):
    """A sanity check of the extraction itself: Python, lazy and template strings are found."""
    ids = {m.id for m in extracted if m.id}
    assert "Wrong e-mail or password." in ids  # gettext as _ in a view
    assert "Registry" in ids  # lazy_gettext as _l in navigation.py
    assert "Log in" in ids  # {{ _() }} in a template
    assert ("%(num)d user", "%(num)d users") in ids  # ngettext in a template


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_string_is_translated(extracted, lang):
    """Every msgid in the source has a complete, non-fuzzy translation."""
    catalog = _po(lang)
    problems = []
    for message in extracted:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        entry = catalog.get(key)
        if entry is None or entry.id != message.id:
            problems.append(f"missing: {message.id!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif message.pluralizable and (
            len(_forms(entry.string)) != catalog.num_plurals or not all(_forms(entry.string))
        ):
            problems.append(f"plural forms not all filled: {message.id!r}")
        elif not all(_forms(entry.string)):
            problems.append(f"empty translation: {message.id!r}")
    assert not problems, (
        f"{len(problems)} UI string(s) lack a {lang} translation in "
        f"surveys/translations/{lang}/LC_MESSAGES/messages.po:\n  "
        + "\n  ".join(problems)
        + f"\nTo fix, from the repository root:\n{FIX_COMMAND}"
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_committed_mo_matches_its_po(lang):
    """The shipped .mo is what compiling the .po gives (the wheel ships no compile step)."""
    catalog = _po(lang)
    fresh = io.BytesIO()
    write_mo(fresh, catalog)
    fresh.seek(0)
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo", "rb") as f:
        committed = read_mo(f)
    compiled = read_mo(fresh)

    def messages(c: Catalog) -> dict:
        # read_mo gives a plural's id and forms as lists; tuples make them comparable keys
        return {_tuple(m.id): _tuple(m.string) for m in c if m.id}

    assert messages(committed) == messages(compiled), (
        f"surveys/translations/{lang}/LC_MESSAGES/messages.mo is stale; run "
        ".venv/bin/pybabel compile -d surveys/translations and commit the .mo files"
    )
    assert committed.plural_forms == catalog.plural_forms


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders(lang):
    """A translation has exactly the placeholders of its msgid, or formatting breaks."""
    wrong = []
    for message in _po(lang):
        if not message.id:
            continue
        source = message.id[-1] if isinstance(message.id, tuple) else message.id
        expected = sorted(set(PLACEHOLDER.findall(source)))
        for form in _forms(message.string):
            if form and sorted(set(PLACEHOLDER.findall(form))) != expected:
                wrong.append(f"{message.id!r} -> {form!r} (expected {expected})")
    assert not wrong, f"{lang}: placeholders differ:\n  " + "\n  ".join(wrong)


def test_login_page_is_shown_in_the_chosen_language(tmp_path):
    """Flask-Babel finds surveys/translations: ?lang=ru and ?lang=uz translate the login page."""
    from surveys import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-0123456789abcdef",
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "hamkor.db"),
        }
    )
    app.instance_path = str(tmp_path / "instance")
    phrase = "Forgot your password? Ask your administrator to set a new one."
    for lang in TRANSLATED:
        translated = _po(lang)[phrase].string
        assert translated and translated != phrase
        html = app.test_client().get(f"/login?lang={lang}").get_data(as_text=True)
        assert f'<html lang="{lang}">' in html
        assert translated in html
        assert phrase not in html
