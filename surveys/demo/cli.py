"""``hamkor demo``: a realistic demo database for newcomers, reviewers and tests."""

from __future__ import annotations

import datetime as dt
import time

import click
from flask import current_app

from surveys.cli import with_app
from surveys.extensions import db


@click.command("demo")
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same data.")
@click.option(
    "--reset",
    is_flag=True,
    help="Drop every table and start from an empty database first (destroys all data).",
)
@click.option("--links", default=5, show_default=True, type=int, help="Survey links to print.")
@with_app
def demo(seed: int, reset: bool, links: int) -> None:
    """Create the demo: 2 institutions, 8 programmes, 5 cohorts, partners and survey answers.

    Migrates the database first. On a database that already holds the demo it only gives
    the demo accounts new passwords; it never mixes demo data into a database with other data.
    """
    from surveys.demo.generator import (
        build_demo,
        database_is_empty,
        demo_present,
        reset_demo_passwords,
    )
    from surveys.migrate import upgrade_database

    app = current_app._get_current_object()
    if reset:
        from surveys.orm import Base

        Base.metadata.drop_all(db.engine)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade_database(app)
    session = db.session
    if demo_present(session):
        users = reset_demo_passwords(session)
        session.commit()
        click.echo("The demo is already in this database; its accounts got new passwords.")
        _print_users(users)
        return
    if not database_is_empty(session):
        raise click.ClickException(
            "this database already holds data that is not the demo; use an empty database "
            "(HAMKOR_DATABASE_URL) or --reset to wipe it"
        )
    started = time.perf_counter()

    def progress(step: str) -> None:
        click.echo(f"  {step} … ({time.perf_counter() - started:.1f} s)", err=True)

    click.echo(f"Building the demo (seed {seed}) …", err=True)
    try:
        result = build_demo(
            session,
            seed=seed,
            secret_key=app.config["SECRET_KEY"],
            base_url=app.config["HAMKOR_BASE_URL"],
            today=dt.date.today(),
            progress=progress,
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    click.echo(f"Demo ready in {time.perf_counter() - started:.1f} s:")
    for name, count in result.counts.items():
        click.echo(f"  {name.replace('_', ' ')}: {count}")
    _print_users(result.users)
    if result.links and links:
        click.echo("\nPersonal survey links of the open campaign (answer as an employer):")
        for link in result.links[:links]:
            click.echo(f"  {link}")
        click.echo("  … all of them: hamkor invitations list --status open")


def _print_users(users: list[tuple[str, str, str]]) -> None:
    click.echo("\nDemo accounts (log in at /login):")
    width = max(len(email) for email, _, _ in users)
    for email, role, password in users:
        click.echo(f"  {email.ljust(width)}  {role:<9}  password: {password}")


commands: list[click.Command] = [demo]
