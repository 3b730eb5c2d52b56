"""The ``hamkor`` command line: database, demo, server, and each feature's commands."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from importlib import import_module
from typing import Any

import click

#: Modules whose ``commands`` list is added to ``hamkor`` (each a click command or group).
COMMAND_MODULES = (
    "surveys.admin.cli",
    "surveys.registry.cli",
    "surveys.instruments.cli",
    "surveys.campaigns.cli",
    "surveys.responses.cli",
    "surveys.demo.cli",
    "surveys.jobs.cli",
    # ``hamkor indicators``: analysis.cli's command (CSV in) plus --institution (database)
    "surveys.indicators.cli",
    "surveys.reports.cli",
)


class _ConfigProblem(click.ClickException):
    exit_code = 2


def _create_app():
    """The app from the environment; a configuration problem is a message, not a traceback."""
    from surveys import create_app
    from surveys.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        raise _ConfigProblem(str(exc)) from exc


def with_app(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command inside an application context (config from ``HAMKOR_*``)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from flask import current_app

        if current_app:  # already inside an app (tests invoke commands this way)
            return func(*args, **kwargs)
        with _create_app().app_context():
            return func(*args, **kwargs)

    return wrapper


def print_rows(rows: Sequence[dict[str, Any]], columns: Iterable[str], fmt: str) -> None:
    """Print ``rows`` as an aligned table, JSON (a list of objects) or CSV."""
    columns = list(columns)
    if fmt == "json":
        click.echo(json.dumps(list(rows), ensure_ascii=False, indent=2, default=str))
        return
    if fmt == "csv":
        import csv

        from surveys.spreadsheets import neutralise_formula

        writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: neutralise_formula(v) for k, v in row.items()} for row in rows)
        return
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="Output for people (table) or for scripts (json, csv).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hamkor")
def main() -> None:
    """Hamkor: employer assessment of graduates and quality-of-training indicators.

    Settings come from the environment: HAMKOR_DATABASE_URL (default: SQLite in the
    instance folder), HAMKOR_SECRET_KEY, HAMKOR_BASE_URL, HAMKOR_REDIS_URL (shared rate
    limits and job workers), HAMKOR_SMTP_*; README.md lists them all.
    """


@main.command("init-db")
@with_app
def init_db() -> None:
    """Create or migrate the database to the newest schema."""
    from flask import current_app

    from surveys.migrate import upgrade_database

    upgrade_database(current_app._get_current_object())
    click.echo("Database is at the newest schema.")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the app with gunicorn (production-grade; Ctrl+C stops it)."""
    from gunicorn.app.base import BaseApplication

    from surveys import gunicorn_config

    app = _create_app()
    warning = per_worker_limits_warning(app.config, workers)
    if warning:
        click.secho(warning, err=True, fg="red", bold=True)

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            # no control socket in ~/.gunicorn: one less file and nothing to clean up
            self.cfg.set("control_socket_disable", True)
            self.cfg.set("post_worker_init", gunicorn_config.post_worker_init)

        def load(self):
            return app

    click.echo(f"Hamkor on http://{host}:{port}/  (Ctrl+C to stop)")
    _Server().run()


def per_worker_limits_warning(config: dict[str, Any], workers: int) -> str | None:
    """What to say when rate limits live in each worker's memory, multiplying them."""
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if workers <= 1 or not storage.startswith("memory://"):
        return None
    return (
        f"hamkor: WARNING: rate limits are counted in each worker's own memory, so with "
        f"--workers {workers} every limit (logins, survey links) is in effect {workers} times "
        "higher. Set HAMKOR_REDIS_URL (e.g. redis://127.0.0.1:6379/0) so that all workers "
        "and hosts share them (see docs/deploy.md)."
    )


def _add_feature_commands() -> None:
    for name in COMMAND_MODULES:
        for command in import_module(name).commands:
            main.add_command(command)


_add_feature_commands()
