"""Mailing a campaign's invitations or reminders as a background job (the page's buttons).

The job runs :func:`surveys.campaigns.delivery.deliver`, the same batch as ``hamkor
invitations send|remind``. The batch commits each message's attempt on its own (so a job
that dies half-way loses nothing and resends nothing); the job's own transaction only
records how it ended.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from surveys.campaigns.delivery import DeliveryError, deliver
from surveys.extensions import db
from surveys.jobs.kinds import JobContext, JobFailed, job_kind

#: The job kind of invitation and reminder batches.
SEND_JOB = "campaigns.send"


def describe_send(params: dict[str, Any]) -> str:
    """ "Invitations of campaign 3" or "Reminders of campaign 3"."""
    if params["mode"] == "remind":
        return _("Reminders of campaign %(id)s", id=params["campaign_id"])
    return _("Invitations of campaign %(id)s", id=params["campaign_id"])


@job_kind(
    SEND_JOB,
    label=_l("Campaign e-mails"),
    describe=describe_send,
    result_template="campaigns/_send_result.html",
)
def run_send(ctx: JobContext) -> dict[str, Any]:
    """Mail what is due of the campaign in ``params``; the counts are the job's result."""
    try:
        result = deliver(
            db.engine,
            ctx.params["campaign_id"],
            ctx.params["mode"],
            config=current_app.config,
            progress=lambda done, total: ctx.progress(done, total),
        )
    except DeliveryError as exc:
        raise JobFailed(str(exc)) from exc
    payload = result.as_dict()
    payload["campaign_id"] = ctx.params["campaign_id"]
    return payload
