"""Language choice (Uzbek Latin, Russian, English) for pages and instrument texts."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, session
from jinja2 import pass_context

#: Names shown in the language switcher, each in its own language.
LANGUAGE_NAMES = {"uz": "Oʻzbekcha", "ru": "Русский", "en": "English"}


def select_locale() -> str:
    """The page language: ``?lang=``, then the saved choice, the invitation's, the browser's."""
    if not has_request_context():
        return "en"  # command line (app context only): messages match click's English help
    languages = current_app.config["HAMKOR_LANGUAGES"]
    wanted = request.args.get("lang")
    if wanted in languages:
        session["lang"] = wanted
        return wanted
    if session.get("lang") in languages:
        return session["lang"]
    if g.get("invitation_language") in languages:
        return g.invitation_language
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


#: The template context variable holding the page's translations (see :func:`setup_i18n`).
TRANSLATIONS = "_page_translations"


def _translations(context):
    """The translations of the page being rendered: looked up once per page by the context
    processor, or through Flask-Babel where there is none (a macro imported without context,
    a template rendered without ``render_template``, such as the e-mails)."""
    from flask_babel import get_translations

    found = context.get(TRANSLATIONS)
    return found if found is not None else get_translations()


@pass_context
def _gettext(context, string):
    return _translations(context).ugettext(string)


@pass_context
def _ngettext(context, singular, plural, n):
    return _translations(context).ungettext(singular, plural, n)


@pass_context
def _pgettext(context, message_context, string):
    return _translations(context).upgettext(message_context, string)


@pass_context
def _npgettext(context, message_context, singular, plural, n):
    return _translations(context).unpgettext(message_context, singular, plural, n)


def setup_i18n(app: Flask) -> None:
    """Make the language list, the current language and the page's translations available to
    every template.

    Flask-Babel's template ``_()`` finds the request's translations anew on every call (three
    lookups through ``g`` each, about half of what a ``_()`` costs); a form page calls it
    some 30 times. The translations are the same for the whole page, so the context
    processor looks them up once and the template callables below read them from the page's
    context (Jinja's i18n extension still escapes and formats as before).
    """
    from flask_babel import get_locale, get_translations

    app.jinja_env.install_gettext_callables(
        gettext=_gettext,
        ngettext=_ngettext,
        pgettext=_pgettext,
        npgettext=_npgettext,
        newstyle=True,
    )

    @app.context_processor
    def language_context():
        return {
            "languages": [(code, LANGUAGE_NAMES[code]) for code in app.config["HAMKOR_LANGUAGES"]],
            "current_language": str(get_locale()),
            TRANSLATIONS: get_translations(),
        }
