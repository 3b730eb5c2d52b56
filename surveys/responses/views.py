"""The employer's form behind a personal link ``/s/<token>``: one section per page.

No account is needed: the token is the key (see ``surveys.campaigns.tokens``). Every button
saves the section's answers as a draft (Previous, Next, "Save and continue later"); Submit,
on the last section, checks the required items of all sections and makes the response
final. After a submit the link shows the thank-you page with a summary. Without JavaScript
everything works by plain form posts; ``survey.js`` adds autosave through ``/autosave``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, refresh
from flask_babel import gettext as _

from surveys.campaigns.models import Invitation
from surveys.campaigns.services import decline_invitation
from surveys.extensions import db, limiter
from surveys.instruments.definitions import NUMERIC_TYPES, item_map, text
from surveys.instruments.services import version_definition
from surveys.responses import services
from surveys.responses.forms import (
    LONG_TEXT_MAX,
    NOT_APPLICABLE,
    SHORT_TEXT_MAX,
    form_values,
    section_form,
    stored_data,
    unknown_fields,
)
from surveys.responses.links import OpenLink
from surveys.responses.models import Response, ResponseStatus
from surveys.web import Form, parse_int

bp = Blueprint("responses", __name__)

ACTIONS = ("previous", "next", "save", "submit")
#: The guessing limit's one counter for a client address on every address of a link (the
#: form, its autosave and its decline page): 30 guesses a minute in all, not 30 on each.
LINK_SCOPE = "personal-link"


class DeclineForm(Form):
    """The employer's confirmation that they decline (the button; CSRF only)."""


def _token_limit() -> str:
    return current_app.config["HAMKOR_TOKEN_RATE_LIMIT"]


def _failed_lookup(response) -> bool:
    """Only links that open nothing count towards the guessing limit (autosave is frequent)."""
    return response.status_code in (404, 410)


@bp.errorhandler(services.LinkUnavailable)
def link_unavailable(exc: services.LinkUnavailable):
    if request.path.endswith("/autosave"):
        return jsonify(error=exc.reason), exc.status
    # the page in the invitation's language, as its form and e-mail were (unless the
    # employer chose another): the locale is chosen again now that the language is known
    g.invitation_language = exc.language
    refresh()
    submitted_at = _local(exc.submitted_at)
    return render_template(
        "responses/unavailable.html", reason=exc.reason, exc=exc, submitted_at=submitted_at
    ), exc.status


@bp.after_request
def no_store(response):
    """Pages behind a personal link hold personal data: no cache may keep them."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/s/<token>", methods=["GET", "POST"])
@limiter.view_limit(_token_limit, scope=LINK_SCOPE, deduct_when=_failed_lookup)
def survey(token: str):
    """Show a section of the form, or take its answers (save, move, submit)."""
    invitation = _open(token)
    sections = _definition(invitation)["sections"]
    if request.method != "POST":  # a page shows the stored answers
        draft = services.find_draft(db.session, invitation)
        if draft.submitted:
            return _submitted(
                invitation, token, draft.values, draft.submitted_at, draft.instrument_version_id
            )
        index = _section_from(request.args.get("section"), sections, draft.values)
        return _page(invitation, token, index, data=stored_data(draft.values))

    # a post changes the answers: read (and on PostgreSQL lock) the response once, here
    action = request.form.get("action", "save")
    response = services.lock_response(db.session, invitation, with_answers=action == "submit")
    if response is not None and response.submitted:
        return _submitted_response(invitation, token, response)
    index = _posted_section(sections)
    if action not in ACTIONS:
        abort(400, description=_("Unknown form action."))
    form = _posted_form(invitation, sections[index])
    if not form.validate():
        return _page(invitation, token, index, form=form, status=422)
    values = form_values(form, sections[index])
    language = str(get_locale())
    try:
        if action == "submit":
            result = services.submit(
                db.session, invitation, values, language=language, response=response, locked=True
            )
            if result.submitted:
                return redirect(url_for(".survey", token=token), 303)
            return _incomplete(invitation, token, result)
        services.save_answers(
            db.session, invitation, values, language=language, response=response, locked=True
        )
    except services.AlreadySubmitted as exc:
        return _submitted_response(invitation, token, exc.response)
    if action == "save":
        flash(
            _(
                "Your answers are saved. You can close this page and come back later "
                "with the same link."
            ),
            "success",
        )
        target = index
    else:
        target = index + 1 if action == "next" else index - 1
    target = min(max(target, 0), len(sections) - 1)
    return redirect(url_for(".survey", token=token, section=target + 1), 303)


@bp.post("/s/<token>/autosave")
@limiter.view_limit(_token_limit, scope=LINK_SCOPE, deduct_when=_failed_lookup)
def autosave(token: str):
    """Save the posted section as a draft (JSON answer for ``survey.js``)."""
    invitation = _open(token)
    sections = _definition(invitation)["sections"]
    index = _posted_section(sections)
    form = _posted_form(invitation, sections[index])
    if not form.validate():
        return jsonify(errors=form.errors), 422
    try:
        response = services.save_answers(
            db.session,
            invitation,
            form_values(form, sections[index]),
            language=str(get_locale()),
        )
    except services.AlreadySubmitted:
        return jsonify(error="submitted"), 409
    return jsonify(saved_at=response.updated_at.isoformat(), status="draft")


@bp.route("/s/<token>/decline", methods=["GET", "POST"])
@limiter.view_limit(_token_limit, scope=LINK_SCOPE, deduct_when=_failed_lookup)
def decline(token: str):
    """The employer declines to answer (the link in every e-mail): asked once to confirm,
    then no more reminders, and the link says it was declined."""
    invitation = _open(token)
    response = services.find_response(db.session, invitation)
    if response is not None and response.status == ResponseStatus.SUBMITTED:
        return redirect(url_for(".survey", token=token), 303)
    form = DeclineForm()
    if request.method == "POST":
        if not form.validate():
            abort(400, description=_("The form expired; open the link again."))
        decline_invitation(db.session, db.session.get(Invitation, invitation.id))
        return redirect(url_for(".survey", token=token), 303)  # now the "declined" page
    return render_template("responses/decline.html", invitation=invitation, form=form, token=token)


# --------------------------------------------------------------------------- helpers


def _open(token: str) -> OpenLink:
    """The invitation of a link that may be used now; its language becomes the default.

    A language the employer picks (``?lang=``) is remembered on the invitation, so the form
    comes back in it when the link is opened on another device.
    """
    invitation = services.open_link(db.session, token, current_app.config["SECRET_KEY"], _today())
    if request.method == "GET":
        services.mark_opened(db.session, invitation)
    chosen = request.args.get("lang")
    if chosen in current_app.config["HAMKOR_LANGUAGES"]:
        services.remember_language(db.session, invitation, chosen)
    g.invitation_language = invitation.language
    return invitation


def _local_now() -> dt.datetime:
    """Now in the institution's time zone (``HAMKOR_TIMEZONE``; UTC if it is not a zone)."""
    try:
        zone = ZoneInfo(current_app.config["HAMKOR_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return dt.datetime.now(zone)


def _today() -> dt.date:
    return _local_now().date()


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    """``moment`` in the institution's time zone, for the employer to read."""
    return moment.astimezone(_local_now().tzinfo) if moment is not None else None


def _definition(invitation: OpenLink) -> dict[str, Any]:
    return services.form_definition(invitation)


def _posted_section(sections: list[dict[str, Any]]) -> int:
    number = parse_int(request.form.get("section"), minimum=1, maximum=len(sections))
    if number is None:
        abort(400, description=_("The form did not say which section it belongs to."))
    return number - 1


def _posted_form(invitation: OpenLink, section: dict[str, Any]):
    unknown = unknown_fields(request.form, section)
    if unknown:
        description = _(
            "The form contained fields that are not questions of this section: %(names)s.",
            names=", ".join(unknown[:5]),
        )
        abort(400, description=description)
    return section_form(
        _definition(invitation), section, str(get_locale()), request.form, today=_today()
    )


def _section_from(raw: str | None, sections: list[dict[str, Any]], values: dict[str, Any]):
    """The section asked for (1-based), else the first one with an unanswered item."""
    number = parse_int(raw, minimum=1, maximum=len(sections))
    if number is not None:
        return number - 1
    if not values:
        return 0
    for index, section in enumerate(sections):
        if any(services.unanswered(values.get(item["key"])) for item in section["items"]):
            return index
    return len(sections) - 1


def _page(
    invitation: OpenLink,
    token: str,
    index: int,
    *,
    form=None,
    data: dict[str, Any] | None = None,
    problems: list[dict[str, Any]] | None = None,
    status: int = 200,
):
    """Render section ``index`` (0-based) with ``form`` (posted) or stored ``data``."""
    language = str(get_locale())
    definition = _definition(invitation)
    sections = definition["sections"]
    section = sections[index]
    if form is None:
        form = section_form(definition, section, language, data=data, today=_today())
    if problems is None:
        problems = [
            {"key": key, "section": index + 1, "text": form[key].label.text, "message": message}
            for key, messages in form.errors.items()
            for message in messages
        ]
    return (
        render_template(
            "responses/form.html",
            invitation=invitation,
            token=token,
            definition=definition,
            section=section,
            number=index + 1,
            total=len(sections),
            form=form,
            items=section["items"],
            problems=problems,
            language=language,
            text=text,
            not_applicable=NOT_APPLICABLE,
            short_text_max=SHORT_TEXT_MAX,
            long_text_max=LONG_TEXT_MAX,
        ),
        status,
    )


def _incomplete(invitation: OpenLink, token: str, result: services.SubmitResult):
    """Submit with required items unanswered: the draft is kept; show where they are."""
    definition = _definition(invitation)
    language = str(get_locale())
    where = {
        item["key"]: position
        for position, section in enumerate(definition["sections"])
        for item in section["items"]
    }
    items = item_map(definition)
    message = _("Please answer this question.")
    problems = [
        {
            "key": key,
            "section": where[key] + 1,
            "text": text(items[key]["text"], language),
            "message": message,
            "unanswered": True,
        }
        for key in result.missing
    ]
    index = where[result.missing[0]]
    values = services.stored_values(result.response)
    form = section_form(
        definition,
        definition["sections"][index],
        language,
        data=stored_data(values),
        today=_today(),
    )
    for problem in problems:
        if problem["section"] == index + 1:
            form[problem["key"]].errors = [message]
    # 200, not 422: the answers given so far are kept as a draft (committed)
    return _page(invitation, token, index, form=form, problems=problems)


def answer_summary(response: Response, language: str) -> list[dict[str, Any]]:
    """Every section of a response's form with each question and its answer as text (the
    thank-you page's summary; staff read a submitted form the same way)."""
    definition = version_definition(response.instrument_version)
    return _summary(services.stored_values(response), definition, language)


def _summary(
    values: dict[str, Any], definition: dict[str, Any], language: str
) -> list[dict[str, Any]]:
    """:func:`answer_summary` of stored ``values`` (item key → value) of ``definition``."""
    return [
        {
            "title": text(section["title"], language),
            "answers": [
                (
                    text(item["text"], language),
                    _display(item, values.get(item["key"]), definition, language),
                )
                for item in section["items"]
            ],
        }
        for section in definition["sections"]
    ]


def _submitted_response(invitation: OpenLink, token: str, response: services.ResponseState):
    """:func:`_submitted` for ``response`` (a post found it submitted); its answers are read
    now if the post did not read them (any action but a submit)."""
    if response.values is None:
        values = services.find_draft(db.session, invitation).values
    else:
        values = response.values
    return _submitted(
        invitation, token, values, response.submitted_at, response.instrument_version_id
    )


def _submitted(
    invitation: OpenLink,
    token: str,
    values: dict[str, Any],
    submitted_at: dt.datetime | None,
    version_id: int | None,
):
    """The thank-you page of a response submitted at ``submitted_at`` with ``values`` in
    instrument version ``version_id``; a POST to a submitted form changes nothing.

    A repeated Submit (double click, resent POST, a second tab) lands on the same thank-you
    page; any other change attempt is answered 409 with the same summary.
    """
    if request.method == "POST" and request.form.get("action") == "submit":
        return redirect(url_for(".survey", token=token), 303)
    changed = request.method == "POST"
    definition = services.response_definition(db.session, invitation, version_id)
    summary = _summary(values, definition, str(get_locale()))
    local = _local(submitted_at)
    return (
        render_template(
            "responses/thanks.html",
            invitation=invitation,
            definition=definition,
            summary=summary,
            submitted_at=local,
            changed=changed,
            language=str(get_locale()),
            text=text,
        ),
        409 if changed else 200,
    )


def _display(item: dict[str, Any], value: Any, definition: dict[str, Any], language: str) -> str:
    """An answer as the employer would read it back, in ``language``."""
    if value is None:
        return "—"
    if value == NOT_APPLICABLE:
        return _("Cannot judge")
    kind = item["type"]
    if kind in NUMERIC_TYPES:
        label = text(definition["scales"][item["scale"]]["labels"].get(str(value)), language)
        return f"{value} · {label}" if label else str(value)
    if kind in ("single_choice", "multiple_choice"):
        labels = {o["key"]: text(o["label"], language) for o in item["options"]}
        chosen = value if isinstance(value, list) else [value]
        return "; ".join(labels.get(key, key) for key in chosen)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
