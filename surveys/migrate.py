"""Alembic migrations, run from the app (``hamkor init-db``) rather than a separate alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(app: Flask) -> Config:
    """An Alembic config pointing at this package's migrations and the app's database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option(
        "sqlalchemy.url", app.config["SQLALCHEMY_DATABASE_URI"].replace("%", "%%")
    )
    config.attributes["flask_app"] = app
    return config


def upgrade_database(app: Flask, revision: str = "head") -> None:
    """Migrate the app's database to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(app), revision)
