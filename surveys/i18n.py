"""Language choice (Uzbek Latin, Russian, English) for pages and instrument texts."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, session

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


def setup_i18n(app: Flask) -> None:
    """Make the language list and current language available to every template."""
    from flask_babel import get_locale

    @app.context_processor
    def language_context():
        return {
            "languages": [(code, LANGUAGE_NAMES[code]) for code in app.config["HAMKOR_LANGUAGES"]],
            "current_language": str(get_locale()),
        }
