"""Language choice (Uzbek Latin, Russian, English) for pages and instrument texts."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, session
from jinja2 import pass_context
from markupsafe import Markup

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


def _formatted(context, translated: str, variables: dict) -> str:
    """A translation as Jinja's "newstyle" gettext gives it: marked safe when the page
    autoescapes (messages come from the project's own catalogues), then %-formatted with
    ``variables``, which the ``%`` of :class:`Markup` escapes."""
    if context.eval_ctx.autoescape:
        translated = Markup(translated)  # noqa: S704  (the catalogue's text, as Jinja does)
    return translated % variables


@pass_context
def _gettext(context, string, **variables):
    """``_()`` and ``gettext()`` of the templates, in one call instead of the three wrappers
    of Jinja's i18n extension."""
    translated = _translations(context).ugettext(string)
    return _formatted(context, translated, variables)


@pass_context
def _ngettext(context, singular, plural, n, **variables):
    """``ngettext()`` as :func:`_gettext` does ``gettext()`` (``num`` is ``n``)."""
    variables.setdefault("num", n)
    translated = _translations(context).ungettext(singular, plural, n)
    return _formatted(context, translated, variables)


@pass_context
def _pgettext(context, message_context, string, **variables):
    variables.setdefault("context", message_context)
    translated = _translations(context).upgettext(message_context, string)
    return _formatted(context, translated, variables)


@pass_context
def _npgettext(context, message_context, singular, plural, n, **variables):
    variables.setdefault("context", message_context)
    variables.setdefault("num", n)
    translated = _translations(context).unpgettext(message_context, singular, plural, n)
    return _formatted(context, translated, variables)


def setup_i18n(app: Flask) -> None:
    """Make the language list, the current language and the page's translations available to
    every template.

    Flask-Babel's template ``_()`` finds the request's translations anew on every call (three
    lookups through ``g`` each, about half of what a ``_()`` costs); a form page calls it
    some 30 times. The translations are the same for the whole page, so the context
    processor looks them up once and the template callables below read them from the page's
    context, escaping and formatting as Jinja's i18n extension does.
    """
    from flask_babel import get_locale, get_translations

    # Jinja's "newstyle" gettext (``{% trans %}`` passes its variables as keywords), with
    # the callables above in place of the i18n extension's wrappers around Flask-Babel's
    app.jinja_env.newstyle_gettext = True  # type: ignore[attr-defined]
    app.jinja_env.globals.update(
        _=_gettext,
        gettext=_gettext,
        ngettext=_ngettext,
        pgettext=_pgettext,
        npgettext=_npgettext,
    )

    @app.context_processor
    def language_context():
        return {
            "languages": [(code, LANGUAGE_NAMES[code]) for code in app.config["HAMKOR_LANGUAGES"]],
            "current_language": str(get_locale()),
            TRANSLATIONS: get_translations(),
        }
