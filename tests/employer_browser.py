"""An employer filling in the form over real HTTP, as a browser without JavaScript does.

Used by the crash test (``tests/test_crash.py``) and the load benchmark
(``benchmarks/submit_load.py``): GET the personal link, post each section with the page's
CSRF token and "next", post the last one with "submit", and follow every 303 with a GET. It
keeps the session cookie, answers every item (a random point of each scale, two options of a
multiple choice, a text, a date a month ago) and records what each acknowledged post saved.
"""

from __future__ import annotations

import datetime as dt
import html
import http.client
import random
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

#: Seconds a request may take before the employer gives up on it.
REQUEST_TIMEOUT = 30.0

_INPUT = re.compile(r"<(input|textarea)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r'([a-zA-Z_:-]+)="([^"]*)"')
_CONTROLS = frozenset({"csrf_token", "section", "action"})


class Browser:
    """Cookies, redirects and per-request timings of one employer's browser."""

    def __init__(self, port: int, timings: list[tuple[str, float]] | None = None):
        self.port = port
        self.cookies: dict[str, str] = {}
        #: (kind, seconds) of every request: "get", "post_next", "submit", …
        self.timings = timings if timings is not None else []

    def request(
        self, method: str, path: str, form: list[tuple[str, str]] | None = None, kind: str = ""
    ) -> tuple[int, str, bool]:
        """One request, then GETs after 30x as a browser does.

        Returns the final status and body, and whether the first answer was a 303 (the
        server's acknowledgement that a post was stored).
        """
        status, location, body = self._one(method, path, form, kind or method.lower())
        acknowledged = status == 303
        while status in (301, 302, 303) and location:
            path = urllib.parse.urlsplit(location)._replace(scheme="", netloc="").geturl()
            status, location, body = self._one("GET", path, None, "get")
        return status, body, acknowledged

    def _one(self, method, path, form, kind):
        headers = {"Accept": "text/html", "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        self.timings.append((kind, time.perf_counter() - started))
        for value in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(value)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        return response.status, response.headers.get("Location"), data


def fill_in(page: str, rng: random.Random) -> list[tuple[str, str]]:
    """The survey form of ``page`` filled in as an employer would: every item answered."""
    start = page.index('class="survey-form')
    form_html = page[start : page.index("</form>", start)]
    fields: list[tuple[str, str]] = []
    radios: dict[str, list[str]] = {}
    checkboxes: dict[str, list[str]] = {}
    for tag, raw in _INPUT.findall(form_html):
        attrs = {k: html.unescape(v) for k, v in _ATTR.findall(raw)}
        name, kind = attrs.get("name"), attrs.get("type", "text")
        if not name:
            continue
        if tag.lower() == "textarea":
            fields.append((name, "Reliable, learns quickly, needs more practice with clients."))
        elif kind == "hidden":
            fields.append((name, attrs.get("value", "")))
        elif kind == "radio":
            radios.setdefault(name, []).append(attrs["value"])
        elif kind == "checkbox":
            checkboxes.setdefault(name, []).append(attrs["value"])
        elif kind == "date":
            fields.append((name, (dt.date.today() - dt.timedelta(days=30)).isoformat()))
        else:
            fields.append((name, "Shift engineer"))
    for name, values in radios.items():
        answers = [v for v in values if v != "na"] or values
        fields.append((name, rng.choice(answers)))
    for name, values in checkboxes.items():
        fields.extend((name, v) for v in rng.sample(values, k=min(2, len(values))))
    return fields


def answers_of(fields: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    """The item answers in posted form fields: key → value (a list for checkboxes)."""
    answers: dict[str, str | list[str]] = {}
    for name, value in fields:
        if name in _CONTROLS:
            continue
        if name in answers:
            previous = answers[name]
            answers[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            answers[name] = value
    return answers


@dataclass
class FormRun:
    """What one employer did with one link."""

    token: str
    #: the answers of each section post the server acknowledged (303), by section number
    saved: dict[int, dict[str, str | list[str]]] = field(default_factory=dict)
    #: the submit got its 303
    submitted: bool = False
    #: the thank-you page came back after the submit
    thanked: bool = False


def complete_form(
    port: int, run: FormRun, rng: random.Random, timings: list[tuple[str, float]] | None = None
) -> FormRun:
    """One employer fills in the whole form of ``run.token``, noting in ``run`` what the
    server acknowledged; connection errors propagate (``run`` keeps what came before)."""
    token = run.token
    browser = Browser(port, timings)
    status, page, _ = browser.request("GET", f"/s/{token}")
    number = 1
    while status == 200 and 'name="action" value="next"' in page:
        fields = fill_in(page, rng)
        status, page, acknowledged = browser.request(
            "POST", f"/s/{token}", [*fields, ("action", "next")], kind="post_next"
        )
        if acknowledged:
            run.saved[number] = answers_of(fields)
        number += 1
    if status != 200 or 'value="submit"' not in page:
        return run
    fields = fill_in(page, rng)
    status, page, acknowledged = browser.request(
        "POST", f"/s/{token}", [*fields, ("action", "submit")], kind="submit"
    )
    if acknowledged:
        run.saved[number] = answers_of(fields)
        run.submitted = True
    run.thanked = status == 200 and 'class="card summary"' in page
    return run
