"""Small request/response helpers shared by the page views of every feature.

Query arguments come from anyone: read them through :func:`int_arg`, :func:`id_arg` and
:func:`text_arg`, never with ``request.args.get(..., type=int)`` or raw strings. Python's
``int()`` accepts ``99999999999999999999`` (PostgreSQL's ``integer`` does not: a 500) and
``'²'.isdigit()`` is true; PostgreSQL text cannot hold a NUL byte. These readers turn such
values into "absent" (or a 404 for an object id) before they reach a query.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable, Mapping
from inspect import iscoroutinefunction
from typing import Any

from flask import Flask, Request, abort, flash, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict, FileStorage, ImmutableMultiDict
from werkzeug.routing import IntegerConverter, Rule, UnicodeConverter
from werkzeug.security import safe_join
from wtforms import FileField

#: The largest value an ``Integer`` column holds on every backend (PostgreSQL's int4).
MAX_INT = 2**31 - 1

#: How long a browser keeps a static file fetched by its versioned URL: a year, as the
#: URL changes with the file's content (``HamkorFlask.static_version``).
STATIC_MAX_AGE = 365 * 24 * 3600

#: Control characters (NUL included) that have no place in a typed value.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str | None, *, max_length: int | None = None) -> str:
    """``value`` without control characters (NUL, …) or surrounding space, cut to ``max_length``.

    Tabs and line breaks are kept (a textarea's lines); NUL and the other C0 controls are
    dropped, so the text can be stored in PostgreSQL and shown safely.
    """
    text = _CONTROL.sub("", value or "").strip()
    return text[:max_length] if max_length is not None else text


def parse_int(
    raw: str | None, *, minimum: int = -MAX_INT - 1, maximum: int = MAX_INT
) -> int | None:
    """``raw`` as an int in ``[minimum, maximum]``, or None (missing, not a number, too big).

    Only ASCII digits with an optional sign count: ``'²'``, ``'١'`` or ``'1_000'`` are not
    numbers a user typed into a URL.
    """
    if raw is None:
        return None
    text = raw.strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,19}", text):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


def int_arg(
    name: str, default: int | None = None, *, minimum: int = 0, maximum: int = MAX_INT
) -> int | None:
    """Query argument ``name`` as an int in ``[minimum, maximum]``; ``default`` otherwise.

    For filters and page numbers: a value that is not a whole number in range is ignored,
    as if it had not been given.
    """
    value = parse_int(request.args.get(name), minimum=minimum, maximum=maximum)
    return default if value is None else value


def id_arg(name: str) -> int | None:
    """Query argument ``name`` as a database id; None when absent or empty.

    A value that cannot be an id (not a number, zero, negative, beyond an ``Integer``)
    names no object: 404, as an unknown id would.
    """
    raw = request.args.get(name)
    if raw is None or not raw.strip():
        return None
    value = parse_int(raw, minimum=1)
    if value is None:
        abort(404)
    return value


def text_arg(name: str, *, max_length: int = 200) -> str | None:
    """Query argument ``name`` as search text (control characters dropped); None when empty."""
    return clean_text(request.args.get(name), max_length=max_length) or None


def page_arg() -> int:
    """The ``page`` query argument as a page number (1 for anything that is not one)."""
    return int_arg("page", 1, minimum=1) or 1


class IdConverter(IntegerConverter):
    """``<int:…>`` in routes: only values an ``Integer`` column can hold (others are a 404).

    Registered as the app's ``int`` converter, so ``/admin/users/99999999999999999999``
    is "not found" instead of a database error.
    """

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


def no_store(response):
    """Pages showing personal data or a one-time password: no browser or proxy may keep them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def apply_input_error(form, error) -> None:
    """Show a service's refusal (an ``InputError``) beside the field it concerns, or flash it."""
    field = getattr(form, error.field, None)
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


# --- what a client sends, cleaned once for every view --------------------------------------


def without_controls(value: str) -> str:
    """``value`` without NUL and the other control characters (tabs and line breaks kept)."""
    return _CONTROL.sub("", value)


class ClientParameters(ImmutableMultiDict):
    """Query and form parameters without what no field can hold.

    The app's request class stores ``request.args``, ``request.form`` and ``request.files``
    in this class, so every view, form and CSRF check sees the same cleaned values:

    - a part without a name (a hand-made multipart body) is dropped; it belongs to no field,
      and Flask-WTF's CSRF check fails on a ``None`` name;
    - control characters (NUL …) are removed from names and text values, and from uploaded
      file names: PostgreSQL text cannot hold NUL, and XLSX exports refuse control
      characters. Tabs and line breaks stay (a textarea's lines).

    Nobody types these characters; a pasted NUL vanishes instead of ending in a 500.
    """

    def __init__(self, mapping=None):
        if mapping is None or isinstance(mapping, Mapping):
            super().__init__(mapping)
            return
        kept = []
        for name, value in mapping:
            if isinstance(name, str):
                kept.append((without_controls(name), _clean_value(value)))
            elif isinstance(value, FileStorage):
                value.close()  # the request closes only the files it keeps
        super().__init__(kept)


def _clean_value(value):
    if isinstance(value, str):
        return without_controls(value)
    if isinstance(value, FileStorage) and value.filename:
        value.filename = without_controls(value.filename)
    return value


class HamkorSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, its serializer built once per set of keys.

    Flask builds a new ``URLSafeTimedSerializer`` (and its signers) to read the cookie and
    again to write it, on every request; the keys (``SECRET_KEY`` and
    ``SECRET_KEY_FALLBACKS``) are what it is built from, so it is kept while they stay.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], Any] = {}

    def get_signing_serializer(self, app: Flask):  # type: ignore[no-untyped-def]
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            self._serializers = {keys: serializer}  # a key rotation replaces the old one
        return serializer


class HamkorFlask(Flask):
    """The app: Flask with the work that is the same for every request done once.

    Flask asks of every hook, context processor and view, on every request, whether it is
    an ``async def`` (``inspect.iscoroutinefunction``: some 18 times for an employer's
    page); the answer is remembered per function here. The session cookie's serializer
    is kept too (:class:`HamkorSessionInterface`).

    Static files are addressed by their content: ``url_for("static", filename=…)`` adds
    ``?v=`` and the first 16 hex digits of the file's SHA-256, and a request with the
    current ``v`` is answered with a year of caching. Flask's default (revalidate on every
    use) made each page view ask again for the stylesheet, the scripts and the icon: four
    more requests per page of the employer's form, each a 304 from a web worker.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_interface = HamkorSessionInterface()
        self._synchronous: dict[Callable[..., Any], bool] = {}
        self._static_versions: dict[str, tuple[tuple[int, int], str]] = {}
        self.url_defaults(self._versioned_static_url)

    def static_version(self, filename: str) -> str | None:
        """The version of static file ``filename`` in its URL (hashed again only when its
        size or modification time changes), or None if there is no such file."""
        path = safe_join(str(self.static_folder), filename)
        if path is None:
            return None
        try:
            found = os.stat(path)
            if not stat.S_ISREG(found.st_mode):  # the folder itself (``/static/.``), a subfolder
                return None
            key = (found.st_mtime_ns, found.st_size)
            known = self._static_versions.get(path)
            if known is None or known[0] != key:
                with open(path, "rb") as handle:
                    known = (key, hashlib.sha256(handle.read()).hexdigest()[:16])
                self._static_versions[path] = known
        except OSError:  # gone or unreadable: the request's own 404 says so
            return None
        return known[1]

    def _versioned_static_url(self, endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "v" not in values and "filename" in values:
            version = self.static_version(values["filename"])
            if version is not None:
                values["v"] = version

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """A year for a static file asked for by its current version; otherwise Flask's
        default (revalidate on every use: an old page's link, the favicon, downloads)."""
        if filename is not None and has_request_context() and request.endpoint == "static":
            asked = request.args.get("v")
            if asked and asked == self.static_version(filename):
                return STATIC_MAX_AGE
        return super().get_send_file_max_age(filename)

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            synchronous = self._synchronous[func]
        except KeyError:
            synchronous = not iscoroutinefunction(func)
            if len(self._synchronous) >= 4096:  # functions made per request, if any
                self._synchronous.clear()
            self._synchronous[func] = synchronous
        except TypeError:  # not hashable: asked every time, as Flask does
            synchronous = not iscoroutinefunction(func)
        return func if synchronous else self.async_to_sync(func)


class HamkorRequest(Request):
    """The app's request: parameters in :class:`ClientParameters`, uploads always closed."""

    parameter_storage_class = ClientParameters

    def _get_file_stream(self, *args, **kwargs):
        """Werkzeug's upload buffer, remembered so that :meth:`close` closes it even when the
        multipart body was cut short (the parser then drops the parts it had read)."""
        stream = super()._get_file_stream(*args, **kwargs)
        self.__dict__.setdefault("_upload_streams", []).append(stream)
        return stream

    def close(self) -> None:
        super().close()
        for stream in self.__dict__.get("_upload_streams", ()):
            stream.close()


class LazyBuilderRule(Rule):
    """A URL rule whose two ``url_for`` builders are compiled when first used.

    Werkzeug compiles them for every rule as the app is created (Python source generated
    and compiled: 90 % of ``create_app``'s 160 ms for our 70 rules), although a command or a
    worker builds URLs for a few endpoints only. Same builders, same URLs, compiled later.
    """

    def _compile_builder(self, append_unknown: bool = True):  # type: ignore[no-untyped-def]
        compile_now = super()._compile_builder
        compiled = None

        def build(rule: Rule, *args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal compiled
            if compiled is None:
                compiled = compile_now(append_unknown)
            return compiled(rule, *args, **kwargs)

        return build


class TextConverter(UnicodeConverter):
    """``<name>`` in routes: no control characters (``/instruments/%00`` is a 404, not a 500)."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", r"[^/\x00-\x1f\x7f]")


class Form(FlaskForm):
    """The base of the app's forms: a text field gets text, a file field gets a file.

    Flask-WTF fills a form from ``request.files`` and ``request.form`` together, or from a
    JSON body; a client could then hand a text field an uploaded file or a JSON number, which
    no validator expects (a 500). Here only file fields see uploads, and a JSON body fills
    nothing: the app's forms are posted by browsers.
    """

    class Meta:
        def wrap_formdata(self, form, formdata):
            data = super().wrap_formdata(form, formdata)
            if not has_request_context() or data is None or data is request.form:
                return data
            if isinstance(data, CombinedMultiDict) and request.files:
                file_fields = {n for n, f in form._fields.items() if isinstance(f, FileField)}
                uploads = [(n, f) for n, f in request.files.items(multi=True) if n in file_fields]
                return ClientParameters([*request.form.items(multi=True), *uploads])
            if data is not request.args and request.is_json:
                return None
            return data
