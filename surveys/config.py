"""Configuration from the environment (``HAMKOR_*``), with safe defaults for development."""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Upload limit for imports and forms; a larger request gets a clear "too large" page.
DEFAULT_MAX_UPLOAD_MB = 20
#: Data rows one registry import may have (a larger file is refused, naming the limit).
DEFAULT_IMPORT_MAX_ROWS = 200_000


class ConfigError(RuntimeError):
    """The app cannot start with this configuration (the message says what to set)."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    """An integer setting; a wrong value stops the app with a message naming the variable."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r}: at least {minimum}, please")
    return value


def load_config(instance_path: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config from ``HAMKOR_*`` environment variables and ``overrides``.

    Production (``HAMKOR_ENV=production``) refuses to start without ``HAMKOR_SECRET_KEY``;
    development and the demo keep a generated key in the instance folder (so personal links
    keep working across restarts) and say so on stderr.
    """
    env = os.environ
    overrides = dict(overrides or {})
    mode = overrides.get("HAMKOR_ENV", env.get("HAMKOR_ENV", "development"))
    production = mode == "production"
    default_db = "sqlite:///" + str(Path(instance_path) / "hamkor.db")
    redis_url = env.get("HAMKOR_REDIS_URL") or None
    config: dict[str, Any] = {
        "HAMKOR_ENV": mode,
        "SQLALCHEMY_DATABASE_URI": env.get("HAMKOR_DATABASE_URL", default_db),
        "HAMKOR_BASE_URL": env.get("HAMKOR_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "HAMKOR_SMTP_HOST": env.get("HAMKOR_SMTP_HOST", "localhost"),
        "HAMKOR_SMTP_PORT": int(env.get("HAMKOR_SMTP_PORT", "25")),
        "HAMKOR_SMTP_USER": env.get("HAMKOR_SMTP_USER"),
        "HAMKOR_SMTP_PASSWORD": env.get("HAMKOR_SMTP_PASSWORD"),
        "HAMKOR_SMTP_STARTTLS": _bool(env.get("HAMKOR_SMTP_STARTTLS")),
        "HAMKOR_SMTP_SENDER": env.get("HAMKOR_SMTP_SENDER", "hamkor@localhost"),
        # One Redis for rate limits, the job queue and any cache; without it, memory and threads
        "HAMKOR_REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": env.get("HAMKOR_RATELIMIT_STORAGE_URI")
        or redis_url
        or "memory://",
        # Redis unreachable: count in this process's memory rather than refuse every login
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "hamkor",
        "RATELIMIT_HEADERS_ENABLED": True,
        "HAMKOR_LOGIN_RATE_LIMIT": env.get("HAMKOR_LOGIN_RATE_LIMIT", "10 per minute"),
        "HAMKOR_LOGIN_ACCOUNT_RATE_LIMIT": env.get(
            "HAMKOR_LOGIN_ACCOUNT_RATE_LIMIT", "5 per minute"
        ),
        "HAMKOR_TOKEN_RATE_LIMIT": env.get("HAMKOR_TOKEN_RATE_LIMIT", "30 per minute"),
        # Proxies in front of the app (nginx: 1) whose X-Forwarded-For/-Proto are believed
        "HAMKOR_TRUSTED_PROXIES": _int(env, "HAMKOR_TRUSTED_PROXIES", 0),
        # Background jobs (surveys/jobs): see docs/deploy.md
        "HAMKOR_JOB_QUEUE": env.get("HAMKOR_JOB_QUEUE", "hamkor"),
        "HAMKOR_JOB_HEARTBEAT_TIMEOUT": _int(env, "HAMKOR_JOB_HEARTBEAT_TIMEOUT", 60, minimum=1),
        "HAMKOR_JOB_TIMEOUT": _int(env, "HAMKOR_JOB_TIMEOUT", 3600, minimum=1),
        "HAMKOR_JOB_RETENTION_DAYS": _int(env, "HAMKOR_JOB_RETENTION_DAYS", 30),
        "HAMKOR_JOB_POLL_SECONDS": _int(env, "HAMKOR_JOB_POLL_SECONDS", 2, minimum=1),
        "HAMKOR_JOB_MODULES": tuple(
            m.strip() for m in env.get("HAMKOR_JOB_MODULES", "").split(",") if m.strip()
        ),
        "HAMKOR_IMPORT_MAX_ROWS": _int(
            env, "HAMKOR_IMPORT_MAX_ROWS", DEFAULT_IMPORT_MAX_ROWS, minimum=1
        ),
        "MAX_CONTENT_LENGTH": int(env.get("HAMKOR_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB))
        * 1024
        * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_NAME": "hamkor_session",
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session; long forms must not expire
        "BABEL_DEFAULT_LOCALE": "uz",
        "HAMKOR_LANGUAGES": ("uz", "ru", "en"),
        "HAMKOR_TIMEZONE": env.get("HAMKOR_TIMEZONE", "Asia/Tashkent"),
        # dates and times on pages (Flask-Babel's filters) in the same zone
        "BABEL_DEFAULT_TIMEZONE": env.get("HAMKOR_TIMEZONE", "Asia/Tashkent"),
        # no pool_pre_ping: connections that lay idle are pinged (extensions.ping_idle_connections)
        "SQLALCHEMY_ENGINE_OPTIONS": {},
    }
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", config["HAMKOR_JOB_QUEUE"]):
        raise ConfigError("HAMKOR_JOB_QUEUE: letters, digits, - and _ only (at most 64)")
    secret = env.get("HAMKOR_SECRET_KEY")
    if secret:
        config["SECRET_KEY"] = secret
    config.update(overrides)
    if str(config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        # SQLite has one writer at a time: a request waits for a job's commit rather than fail
        options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.setdefault("connect_args", {"timeout": 30})
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    # dates on pages go through Flask-Babel, in the configured time zone
    config.setdefault("BABEL_DEFAULT_TIMEZONE", config["HAMKOR_TIMEZONE"])
    if not config.get("SECRET_KEY"):
        if production:
            raise ConfigError(
                "HAMKOR_SECRET_KEY is not set: production refuses to start without a secret "
                "key (generate one with: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        config["SECRET_KEY"] = _development_secret(instance_path)
    return config


def _development_secret(instance_path: str) -> str:
    """A random key kept in ``instance/secret_key`` for development and the demo."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    print(
        f"hamkor: HAMKOR_SECRET_KEY is not set; generated a development key in {path}. "
        "Set HAMKOR_SECRET_KEY in production.",
        file=sys.stderr,
    )
    return key
