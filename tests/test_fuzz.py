"""Malformed requests to every route, as every role: never a 5xx, never a logged traceback.

A seeded generator builds requests for every rule of the URL map (so routes that features add
later are fuzzed too, with the parameter values of :mod:`tests.world`), as an anonymous
visitor, an administrator, a staff member, a committee member, and, on the employer pages
``/s/…``, the holder of an open survey link of each built-in instrument. Each request varies
what a client controls: the method, the path's parameters, the query string, the form fields
(the page's own names and others), the body and its content type, uploaded files, and a few
headers. The values come from a pool of troublemakers: NUL and other control characters,
digits that ``str.isdigit`` accepts and ``int`` refuses, integers beyond PostgreSQL's
``integer``, dates at the ends of the calendar, invalid UTF-8 and percent-encoding, nameless
multipart parts, markup, very long text.

Most requests carry the actor's valid CSRF token, so they get past the CSRF check and reach
the views. The test fails on any 5xx answer and on anything logged at ERROR (the app logs each
unhandled exception there), and prints the seed and the failing requests. Set
``HAMKOR_FUZZ_SEED`` to replay another run and ``HAMKOR_FUZZ_ROUNDS`` (requests per route and
actor) to go deeper than CI does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import logging
import os
import random
import time
from collections import Counter
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode

import flask
import pytest
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from surveys.auth.access import start_session
from surveys.campaigns.tokens import assign_token
from surveys.instruments.services import latest_version, load_builtin_instruments
from surveys.models import (
    Campaign,
    CampaignStatus,
    Employer,
    Graduate,
    Institution,
    Invitation,
    User,
)
from tests import factories
from tests.campaigns.builders import SECRET
from tests.conftest import csrf_token_from
from tests.test_access_matrix import build_url
from tests.world import logged_in_client, seed_world

SEED = int(os.environ.get("HAMKOR_FUZZ_SEED", "13"))
#: Requests per (route, actor); CI's default keeps the test near half a minute per database.
ROUNDS = int(os.environ.get("HAMKOR_FUZZ_ROUNDS", "10"))

#: Values no form expects.
NASTY = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x00" * 3 + "1",
    "\x01\x02\x1b[31m\x7f",
    "\t\r\n",
    "²",
    "١٢٣",
    "Ⅻ",
    "1_000",
    "0",
    "-1",
    "1.5",
    "1e309",
    "NaN",
    "inf",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "99999999999999999999",
    "9" * 400,
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2025-02-30",
    "31.12.9999",
    "0000-00-00",
    "<script>alert(1)</script>",
    "\"'><img src=x onerror=alert(1)>",
    "' OR 1=1 --",
    "%",
    "_",
    "\\",
    "%00",
    "%zz",
    "../../etc/passwd",
    "//evil.example/",
    "javascript:alert(1)",
    '=HYPERLINK("http://evil")',
    "\u202eevil",
    "oʻgʻli o'g'li",
    "ИВАНОВ иванов Ёё",
    "🙂" * 20,
    "\ufeff",
    "x" * 6000,
    "ы" * 400,
    "i:1",
    "i:99999999999999999999",
    "p:-1",
    "p:x",
    "i:",
    "na",
    "[]",
    "{}",
    "null",
    "true",
)
#: Plausible values, so that some requests get past the first check.
PLAUSIBLE = (
    "1",
    "2",
    "3",
    "5",
    "10",
    "2025",
    "uz",
    "ru",
    "en",
    "staff",
    "admin",
    "committee",
    "graduates",
    "employers",
    "save",
    "next",
    "previous",
    "submit",
    "check",
    "1",
    "na",
    "2025-06-01",
    "someone@world.example",
    "correct horse battery",
    "A sentence of free text.",
)
#: Query argument names the pages read, and a few they do not.
QUERY_NAMES = (
    "page",
    "section",
    "q",
    "year",
    "institution",
    "programme",
    "kind",
    "lang",
    "next",
    "role",
    "status",
    "actor",
    "action",
    "date_from",
    "date_to",
    "format",
    "sort",
    "\x00",
    "ы",
)
OTHER_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")
#: Content types of raw bodies.
RAW_TYPES = (
    "application/json",
    "text/plain",
    "application/xml",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "multipart/form-data; boundary=zz",
    "application/x-www-form-urlencoded; charset=nope",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "",
)
#: File contents for uploads.
UPLOADS = (
    b"",
    b"\x00" * 64,
    b"PK\x03\x04" + bytes(range(256)),
    b"code,name\nX\x00,\xff\xfe\n",
    "full_name;graduation_year\nИванов;99999999999999999999\n".encode(),
    "programme_code,full_name,graduation_year\n=cmd|' /C calc'!A0,Ёлкин,2025\n".encode("cp1251"),
    b"\xef\xbb\xbftax_number,name\n" + b"1" * 40 + b",x\n",
    b"a,b\n" + b"1,2\n" * 2000,
)
#: Accept-Language headers.
LANGUAGES = ("", "ru", "uz-Latn-UZ,uz;q=0.9", "xx", "*;q=abc", "ru;q=2,en;q=-1", "\x7f")


@dataclasses.dataclass
class Actor:
    """One client of the fuzz: who it is, its session, and its CSRF token."""

    name: str
    client: FlaskClient
    user_id: int | None = None
    csrf: str = ""


def _open_links(db, world) -> list[str]:
    """Tokens of open invitations (one per built-in instrument) of institution A."""
    load_builtin_instruments(db)
    employer = db.get(Employer, world.params["employer_id"])
    graduate = db.get(Graduate, world.params["graduate_id"])
    today = dt.date.today()
    tokens = []
    for key in ("attestation", "interview", "performance"):
        version = latest_version(db, key)
        campaign = Campaign(
            institution_id=world.params["institution_id"],
            instrument_version=version,
            name=f"Fuzz {key}",
            year=2025,
            opens_on=today - dt.timedelta(days=3),
            closes_on=today + dt.timedelta(days=30),
            status=CampaignStatus.OPEN,
            programmes=[graduate.programme],
        )
        invitation = Invitation(campaign=campaign, employer=employer, graduate=graduate)
        tokens.append(assign_token(invitation, SECRET))
        db.add_all([campaign, invitation])
    db.flush()
    return tokens


class Fuzzer:
    """Builds one malformed request at a time from a seeded random generator."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def value(self, offered: list[str] | None = None) -> str:
        """A troublemaker, a plausible value, or one the page itself offers for the field."""
        roll = self.rng.random()
        if offered and roll < 0.6:
            return self.rng.choice(offered)
        return self.rng.choice(NASTY) if roll < 0.9 else self.rng.choice(PLAUSIBLE)

    def path(self, rule: Rule, params: dict[str, Any]) -> str:
        """The rule's URL, sometimes with a malformed value for one of its parameters."""
        values = dict(params)
        arguments = sorted(set(rule.arguments) - set(rule.defaults or {}))
        if arguments and self.rng.random() < 0.2:
            name = self.rng.choice(arguments)
            values[name] = quote(self.value() or "x", safe="")
        return build_url(rule, values)

    def query(self, fields: dict[str, list[str]]) -> str:
        """A query string: known and unknown names, repeated ones, broken encoding."""
        shape = self.rng.random()
        if shape < 0.15:
            return ""
        if shape < 0.25:
            return self.rng.choice(("%zz", "a=%FF%FE", "=", "&&&", "a&b=&=c", ";;", "%00=%00"))
        pairs = []
        for _ in range(self.rng.randint(1, 4)):
            name = self.rng.choice(sorted(fields)) if fields and self.rng.random() < 0.5 else None
            name = name or self.rng.choice(QUERY_NAMES)
            pairs.append((name, self.value(fields.get(name))))
        return urlencode(pairs, encoding="utf-8", errors="surrogatepass")

    def form(self, fields: dict[str, list[str]], csrf: str) -> list[tuple[str, Any]]:
        """Form fields: the page's own (some left out, some repeated), sometimes others."""
        pairs: list[tuple[str, Any]] = []
        for name, offered in fields.items():
            if name == "csrf_token" or self.rng.random() < 0.3:
                continue
            for _ in range(2 if self.rng.random() < 0.1 else 1):
                pairs.append((name, self.value(offered)))
        if self.rng.random() < 0.2:
            pairs.append((self.rng.choice(QUERY_NAMES), self.value()))
        roll = self.rng.random()
        if roll < 0.85:
            pairs.append(("csrf_token", csrf))
        elif roll < 0.95:
            pairs.append(("csrf_token", self.value()))
        return pairs

    def upload(self) -> tuple[io.BytesIO, str]:
        name = self.rng.choice(
            ("graduates.csv", "x.xlsx", "", "\x00.csv", "../../a.csv", "ы.txt", "a" * 300)
        )
        return io.BytesIO(self.rng.choice(UPLOADS)), name

    def request(
        self,
        rule: Rule,
        params: dict[str, Any],
        forms: dict[str, dict[str, list[str]]],
        actor: Actor,
    ) -> dict[str, Any]:
        """Keyword arguments for ``FlaskClient.open``."""
        rng = self.rng
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        method = rng.choice(methods) if rng.random() < 0.85 else rng.choice(OTHER_METHODS)
        headers = {"Accept-Language": rng.choice(LANGUAGES)}
        if rng.random() < 0.1:
            headers["Accept"] = "application/json"
        if rng.random() < 0.1:
            nasty = self.value().encode("latin-1", "ignore").decode("latin-1")
            headers["X-CSRFToken"] = actor.csrf if rng.random() < 0.5 else nasty.strip("\r\n")
        kwargs: dict[str, Any] = {
            "path": self.path(rule, params),
            "method": method,
            "query_string": self.query(forms["GET"] if method == "GET" else {}),
            "headers": headers,
            # many clients, so that the rate limits do not stop the fuzz after a few requests
            "environ_base": {"REMOTE_ADDR": f"10.13.{rng.randint(0, 255)}.{rng.randint(1, 254)}"},
        }
        if method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return kwargs
        body = rng.random()
        fields = forms["POST"]
        pairs = self.form(fields, actor.csrf)
        if body < 0.55:
            kwargs["data"] = urlencode(pairs, errors="surrogatepass")
            kwargs["content_type"] = "application/x-www-form-urlencoded"
        elif body < 0.8:
            data: dict[str, Any] = {}
            for name, value in pairs:
                data.setdefault(name, []).append(value)
            for _ in range(rng.randint(1, 2)):
                name = rng.choice(["file", "file", *fields])
                data.setdefault(name, []).append(self.upload())
            kwargs["data"] = data
            kwargs["content_type"] = "multipart/form-data"
        elif body < 0.9:
            kwargs["data"], kwargs["content_type"] = self._handmade_multipart(pairs)
        else:
            kwargs["content_type"] = rng.choice(RAW_TYPES)
            kwargs["data"] = rng.choice(
                (
                    b"",
                    b"\x00\xff\xfe",
                    json.dumps(dict(pairs)).encode(),
                    json.dumps({name: [1, {"a": None}] for name in fields}).encode(),
                    b'{"a": [1, 2,',
                    urlencode(pairs, errors="surrogatepass").encode(),
                    b"--zz\r\nContent-Disposition: form-data\r\n\r\nx\r\n--zz--\r\n",
                )
            )
        return kwargs

    def _handmade_multipart(self, fields: list[tuple[str, Any]]) -> tuple[bytes, str]:
        """A multipart body with parts browsers never send: no name, odd headers, no end."""
        boundary = "fuzzBOUNDARY"
        parts = []
        for name, value in fields:
            parts.append(
                f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode(
                    "utf-8", "surrogateescape"
                )
            )
        odd = (
            b"Content-Disposition: form-data\r\n\r\nno name",
            b'Content-Disposition: form-data; filename="a.csv"\r\n\r\nno name, a file',
            b'Content-Disposition: form-data; name="file"; filename="\x00.csv"\r\n'
            b"Content-Type: text/csv; charset=x-unknown\r\n\r\n\xff\xfe",
            b'Content-Disposition: form-data; name=""\r\n\r\nempty name',
            b"Content-Type: text/plain\r\n\r\nno disposition",
        )
        parts.insert(self.rng.randint(0, len(parts)), self.rng.choice(odd))
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
        if self.rng.random() < 0.8:
            body += b"--" + boundary.encode() + b"--\r\n"
        return body, f"multipart/form-data; boundary={boundary}"


class _Forms(HTMLParser):
    """The forms of a page: for each, its method and its fields (name → offered values)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, list[str]]]] = []
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" or not self.forms:
            self.forms.append(((attributes.get("method") or "get").upper(), {}))
        fields = self.forms[-1][1]
        name = attributes.get("name")
        if tag in ("input", "select", "textarea", "button") and name:
            offered = fields.setdefault(name, [])
            if attributes.get("value") is not None:
                offered.append(attributes["value"] or "")
            self.select = name if tag == "select" else None
        elif tag == "option" and self.select and attributes.get("value") is not None:
            fields.setdefault(self.select, []).append(attributes["value"] or "")


def page_fields(html: str) -> dict[str, dict[str, list[str]]]:
    """The fields a page's GET forms and its POST forms send (name → offered values)."""
    parser = _Forms()
    parser.feed(html)
    fields: dict[str, dict[str, list[str]]] = {"GET": {}, "POST": {}}
    for method, form in parser.forms:
        for name, offered in form.items():
            fields["GET" if method == "GET" else "POST"].setdefault(name, []).extend(offered)
    return fields


def _restore_login(app, db, actor: Actor) -> None:
    """Log the actor in again if a fuzzed request ended its session (a valid logout)."""
    if actor.user_id is None:
        return
    cookie = actor.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    serializer = app.session_interface.get_signing_serializer(app)
    session = serializer.loads(cookie.value) if cookie is not None else {}
    if session.get("user_id") == actor.user_id:
        return
    db.rollback()
    with app.test_request_context():
        start_session(db.get(User, actor.user_id))  # as the login form would, without its limit
        fresh = dict(flask.session)
    with actor.client.session_transaction() as stored:
        stored.clear()
        stored.update(fresh)
    actor.csrf = csrf_token_from(actor.client.get("/login").get_data(as_text=True))


#: The fuzz runs in one part per actor, so that xdist spreads its requests over the workers.
#: Each part has a generator of its own, seeded from ``SEED`` and the actor's name, and visits
#: the rules in URL order as before (a form's page before its POST target).
ACTORS = ("anonymous", "admin", "staff", "committee", "employer")


@pytest.mark.parametrize("actor_name", ACTORS)
def test_no_request_from_any_role_gives_a_server_error(app, db, caplog, actor_name):
    world = seed_world(db)
    open_tokens = _open_links(db, world)
    # the administrator's fuzzed changes (role, password, deactivation) land on this account,
    # not on the accounts the fuzz logs in with
    institution = db.get(Institution, world.params["institution_id"])
    target = factories.make_user(db, "staff", institution, email="target@world.example")
    db.commit()
    params = {**world.params, "user_id": target.id, "filename": "hamkor.css"}
    # a small upload limit, so that some bodies are "too large" (413)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024

    user = {"admin": world.admin, "staff": world.staff, "committee": world.committee}.get(
        actor_name
    )
    actor = Actor(actor_name, logged_in_client(app, user), user.id if user else None)
    actor.csrf = csrf_token_from(actor.client.get("/login").get_data(as_text=True))
    # the employer's pages are the ones open to the internet: the employer fuzzes them (harder),
    # the other actors every other page
    employer_pages = actor_name == "employer"
    rules = sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("responses.") == employer_pages
        ),
        key=lambda rule: (rule.rule, rule.endpoint),
    )
    rounds = ROUNDS * (8 if employer_pages else 1)
    rng = random.Random(f"{SEED}:{actor_name}")
    fuzzer = Fuzzer(rng)
    caplog.set_level(logging.WARNING)
    failures: list[str] = []
    pages: dict[tuple[str, str], dict[str, dict[str, list[str]]]] = {}
    statuses: Counter[tuple[str, int]] = Counter()  # (endpoint, status)
    started, cpu = time.monotonic(), time.process_time()
    for rule in rules:
        for round_ in range(rounds):
            rule_params = params
            if employer_pages:
                # an open form of each instrument, and the submitted one of a closed campaign
                tokens = [*open_tokens, world.params["token"]]
                rule_params = {**params, "token": tokens[round_ % len(tokens)]}
            forms = _fields_of(pages, actor, rule, rule_params)
            request = fuzzer.request(rule, rule_params, forms, actor)
            caplog.clear()
            response = actor.client.open(**request)
            statuses[rule.endpoint, response.status_code] += 1
            logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
            if response.status_code >= 500 or logged:
                failures.append(_describe(actor, request, response, logged))
            response.close()  # static files are streamed from an open file
            if rule.endpoint.startswith("auth."):
                _restore_login(app, db, actor)
    sent = statuses.total()
    print(
        f"fuzz ({actor_name}): {sent} requests in {time.monotonic() - started:.1f} s "
        f"({time.process_time() - cpu:.1f} s CPU; seed {SEED}, {ROUNDS} rounds): "
        + ", ".join(f"{code}: {n}" for code, n in sorted(_by_status(statuses).items()))
    )
    assert not failures, (
        f"{len(failures)} of {sent} fuzzed requests failed (HAMKOR_FUZZ_SEED={SEED}):\n"
        + "\n".join(failures[:25])
    )
    # the fuzz is not all refused at the door: valid tokens get past CSRF, the employer's
    # posts reach the form (saved, or refused field by field), admins' forms are answered
    if actor_name == "employer":
        assert statuses["responses.survey", 303] and statuses["responses.survey", 422]
        assert statuses["responses.autosave", 200]
    if actor_name == "admin":
        assert statuses["admin.user_new", 200]
    if actor_name in ("admin", "staff"):
        assert statuses["registry.import_upload", 200]
    assert rules and sent >= len(rules) * rounds * 0.9


def _by_status(statuses: Counter[tuple[str, int]]) -> Counter[int]:
    totals: Counter[int] = Counter()
    for (_endpoint, status), count in statuses.items():
        totals[status] += count
    return totals


def _fields_of(
    pages: dict[tuple[str, str], dict[str, dict[str, list[str]]]],
    actor: Actor,
    rule: Rule,
    params: dict[str, Any],
) -> dict[str, dict[str, list[str]]]:
    """The fields of the rule's page as the actor sees it (read once, then remembered).

    A rule without a page (a button's POST target) gets the fields of the pages the actor has
    seen so far (of the same link, on the employer's pages): the rules are visited in URL
    order, so a form's page comes first.
    """
    key = (actor.name, f"{rule.endpoint} {params.get('token', '')}")
    if key not in pages:
        fields: dict[str, dict[str, list[str]]] = {"GET": {}, "POST": {}}
        if "GET" in rule.methods:
            page = actor.client.get(build_url(rule, params))
            if page.mimetype == "text/html":
                fields = page_fields(page.get_data(as_text=True))
            page.close()
        else:
            token = str(params.get("token", ""))
            for (who, page), seen in pages.items():
                if who != actor.name or not page.endswith(" " + token):
                    continue  # another actor's page, or another link's form
                for method, form in seen.items():
                    for name, offered in form.items():
                        fields[method].setdefault(name, []).extend(offered)
        pages[key] = fields
    return pages[key]


def _describe(actor: Actor, request: dict[str, Any], response, logged) -> str:
    body = request.get("data")
    if isinstance(body, dict):
        body = {k: [v if isinstance(v, str) else "<file>" for v in vs] for k, vs in body.items()}
    shown = repr(body)[:300]
    problem = "; ".join(
        f"{r.getMessage()} [{r.exc_info[1]!r}]" if r.exc_info else r.getMessage() for r in logged
    )
    return (
        f"- {actor.name} {request['method']} {request['path']}?{request['query_string'][:200]} "
        f"({request.get('content_type', '')}) body={shown} → {response.status_code} {problem}"
    )
