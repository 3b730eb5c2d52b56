"""``hamkor user …``, ``hamkor institution …``, ``hamkor enterprise …`` from the shell.

A newcomer's first steps are ``hamkor institution add`` and ``hamkor user add``; both write
through the same services as the admin pages (same checks, same audit events, actor ``cli``).
Bad input exits with status 2 and a message naming the option; nothing is written.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from surveys.cli import FORMAT_OPTION, print_rows, with_app

#: Which command-line option each service field corresponds to, for error messages.
_OPTION_NAMES = {
    "email": "EMAIL",
    "role": "--role",
    "institution": "--institution",
    "password": "password",
    "code": "CODE",
    "name": "NAME",
    "assignments": "--committee",
    "tax_number": "--tax-number",
    "sector": "--sector",
    "region": "--region",
}


class InputError(click.ClickException):
    """Refused input: a clear message and exit status 2 (as click's usage errors)."""

    exit_code = 2


def _run_and_commit(action: Callable[[], Any]) -> Any:
    """Run a service call, commit once; on refused input roll back and exit with status 2."""
    from surveys.auth.services import InputError as ServiceInputError
    from surveys.extensions import db

    try:
        result = action()
        db.session.commit()
    except ServiceInputError as error:
        db.session.rollback()
        option = _OPTION_NAMES.get(error.field, error.field)
        raise InputError(f"{option}: {error.message}") from error
    except BaseException:
        db.session.rollback()
        raise
    return result


def _stdin_is_terminal() -> bool:
    """Whether a person is typing (then we ask for the password instead of generating one)."""
    return sys.stdin.isatty()


def _read_password_stdin() -> str:
    """The first line of standard input, without its line ending."""
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@click.group("user")
def user_group() -> None:
    """Manage login accounts (administrators, institution staff, committee members)."""


@user_group.command("add")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "staff", "committee"]),
    help="admin: manages users and institutions; staff: one institution's quality office; "
    "committee: reads aggregated statistics only.",
)
@click.option(
    "--institution",
    "institution_code",
    metavar="CODE",
    help="Institution code (required for --role staff).",
)
@click.option(
    "--committee",
    "committee_scopes",
    metavar="CODE[/PROGRAMME]",
    multiple=True,
    help="For --role committee: an institution (all its programmes) or one programme of it; "
    "repeat for several.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts).",
)
@with_app
def user_add(
    email: str,
    role: str,
    institution_code: str | None,
    committee_scopes: tuple[str, ...],
    password_stdin: bool,
) -> None:
    """Create a login account for EMAIL.

    The password is read from standard input with --password-stdin, asked for (twice) when
    the command runs in a terminal, or otherwise generated and printed once.
    """
    from surveys.admin import services
    from surveys.auth.passwords import MIN_PASSWORD_LENGTH
    from surveys.extensions import db
    from surveys.registry.services import institution_by_code

    institution_id = None
    if institution_code:
        institution = institution_by_code(db.session, institution_code)
        if institution is None:
            raise InputError(
                f"--institution: there is no institution with the code {institution_code!r} "
                "(see: hamkor institution list)."
            )
        institution_id = institution.id
    elif role == "staff":
        raise InputError("--institution: a staff member needs an institution code.")
    assignments = [_parse_scope(db.session, scope) for scope in committee_scopes]

    if password_stdin:
        password: str | None = _read_password_stdin()
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InputError(
                f"password: the password must have at least {MIN_PASSWORD_LENGTH} characters."
            )
    elif _stdin_is_terminal():
        password = click.prompt(
            "Password (empty: generate one)",
            hide_input=True,
            confirmation_prompt=True,
            default="",
            show_default=False,
        )
    else:
        password = None

    result = _run_and_commit(
        lambda: services.create_user(
            db.session,
            email=email,
            role=role,
            institution_id=institution_id,
            password=password or None,
            assignments=assignments,
        )
    )
    click.echo(f"Created {result.user.role.value} {result.user.email} (id {result.user.id}).")
    if result.generated:
        click.echo(f"One-time password (shown only now): {result.generated}")


def _parse_scope(session: Any, scope: str) -> tuple[int, int | None]:
    """``CODE`` or ``CODE/PROGRAMME`` → (institution id, programme id or None)."""
    from surveys.registry.models import Programme
    from surveys.registry.services import institution_by_code

    code, _sep, programme_code = scope.partition("/")
    institution = institution_by_code(session, code)
    if institution is None:
        raise InputError(f"--committee: there is no institution with the code {code!r}.")
    if not programme_code:
        return institution.id, None
    programme = session.scalars(
        select(Programme).where(
            Programme.institution_id == institution.id, Programme.code == programme_code
        )
    ).first()
    if programme is None:
        raise InputError(
            f"--committee: {institution.code} has no programme with the code {programme_code!r}."
        )
    return institution.id, programme.id


@user_group.command("list")
@click.option(
    "--role", type=click.Choice(["admin", "staff", "committee"]), help="Only users of this role."
)
@FORMAT_OPTION
@with_app
def user_list(role: str | None, fmt: str) -> None:
    """List login accounts (e-mail, role, institution, status, last login)."""
    from surveys.admin.services import assignment_codes
    from surveys.auth.models import Role, User
    from surveys.extensions import db

    stmt = select(User).order_by(User.email)
    if role:
        stmt = stmt.where(User.role == Role(role))
    users = list(db.session.scalars(stmt))
    scopes = assignment_codes(db.session, [u.id for u in users])
    rows = [
        {
            "id": user.id,
            "email": user.email,
            "role": user.role.value,
            "institution": user.institution.code if user.institution else None,
            "committee": [
                institution + (f"/{programme}" if programme else "")
                for institution, programme in scopes.get(user.id, [])
            ],
            "active": user.active,
            "must_change_password": user.must_change_password,
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        }
        for user in users
    ]
    if fmt != "json":
        for row in rows:
            row["committee"] = " ".join(row["committee"])
    print_rows(
        rows,
        [
            "id",
            "email",
            "role",
            "institution",
            "committee",
            "active",
            "must_change_password",
            "last_login_at",
        ],
        fmt,
    )


@user_group.command("set-password")
@click.argument("email")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input.",
)
@with_app
def user_set_password(email: str, password_stdin: bool) -> None:
    """Give EMAIL a new password (read, asked for, or generated); their sessions end."""
    from surveys.admin import services
    from surveys.auth.passwords import MIN_PASSWORD_LENGTH
    from surveys.auth.services import find_user_by_email
    from surveys.extensions import db

    user = find_user_by_email(db.session, email)
    if user is None:
        raise InputError(f"EMAIL: there is no user with the e-mail {email!r}.")
    if password_stdin:
        password: str | None = _read_password_stdin()
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InputError(
                f"password: the password must have at least {MIN_PASSWORD_LENGTH} characters."
            )
    elif _stdin_is_terminal():
        password = click.prompt(
            "New password (empty: generate one)",
            hide_input=True,
            confirmation_prompt=True,
            default="",
            show_default=False,
        )
    else:
        password = None
    result = _run_and_commit(lambda: services.set_password(db.session, user.id, password or None))
    click.echo(f"Password of {user.email} changed.")
    if result.generated:
        click.echo(f"One-time password (shown only now): {result.generated}")


def _set_active(email: str, active: bool) -> None:
    from surveys.admin import services
    from surveys.auth.services import find_user_by_email
    from surveys.extensions import db

    user = find_user_by_email(db.session, email)
    if user is None:
        raise InputError(f"EMAIL: there is no user with the e-mail {email!r}.")
    _run_and_commit(lambda: services.set_user_active(db.session, user.id, active))
    state = "can log in again" if active else "is deactivated and logged out everywhere"
    click.echo(f"{user.email} {state}.")


@user_group.command("deactivate")
@click.argument("email")
@with_app
def user_deactivate(email: str) -> None:
    """Stop EMAIL from logging in (ends their sessions; data and audit trail stay)."""
    _set_active(email, False)


@user_group.command("reactivate")
@click.argument("email")
@with_app
def user_reactivate(email: str) -> None:
    """Let a deactivated EMAIL log in again."""
    _set_active(email, True)


@click.group("institution")
def institution_group() -> None:
    """Manage institutions (create them before importing their registry)."""


@institution_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option(
    "--privacy-notice-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="UTF-8 text shown to employers on every survey form of this institution.",
)
@with_app
def institution_add(code: str, name: str, privacy_notice_file: Path | None) -> None:
    """Create the institution CODE (short, used in exports) called NAME."""
    from surveys.admin import services
    from surveys.extensions import db

    notice = None
    if privacy_notice_file is not None:
        try:
            notice = privacy_notice_file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"--privacy-notice-file: {privacy_notice_file} is not UTF-8 text ({exc.reason})."
            ) from exc
    institution = _run_and_commit(
        lambda: services.create_institution(db.session, code=code, name=name, privacy_notice=notice)
    )
    click.echo(f"Created institution {institution.code} (id {institution.id}): {institution.name}")


@institution_group.command("list")
@FORMAT_OPTION
@with_app
def institution_list(fmt: str) -> None:
    """List institutions (code, name, whether a privacy notice is set)."""
    from surveys.extensions import db
    from surveys.registry.models import Institution

    rows = [
        {
            "id": i.id,
            "code": i.code,
            "name": i.name,
            "privacy_notice": bool(i.privacy_notice),
        }
        for i in db.session.scalars(select(Institution).order_by(Institution.code))
    ]
    print_rows(rows, ["id", "code", "name", "privacy_notice"], fmt)


@click.group("enterprise")
def enterprise_group() -> None:
    """Enterprises' shared identities (tax number, official name, sector, region).

    Institutions keep their own name, contact and notes for an enterprise (imported with
    their employers file); only the shared identity is read and corrected here.
    """


@enterprise_group.command("list")
@click.option("--search", default=None, help="Text in the tax number, name, sector or region.")
@FORMAT_OPTION
@with_app
def enterprise_list(search: str | None, fmt: str) -> None:
    """List enterprises with the number of institutions that work with each."""
    from surveys.admin import services
    from surveys.extensions import db

    page = services.list_enterprises(db.session, search=search, per_page=10**9)
    rows = [
        {
            "tax_number": employer.tax_number,
            "name": employer.name,
            "sector": employer.sector,
            "region": employer.region,
            "institutions": institutions,
        }
        for employer, institutions in page.rows
    ]
    print_rows(rows, ["tax_number", "name", "sector", "region", "institutions"], fmt)


@enterprise_group.command("edit")
@click.argument("tax_number")
@click.option("--name", default=None, help="New official name.")
@click.option("--sector", default=None, help='New sector ("" to clear).')
@click.option("--region", default=None, help='New region ("" to clear).')
@click.option("--tax-number", "new_tax_number", default=None, help="Corrected tax number.")
@with_app
def enterprise_edit(
    tax_number: str,
    name: str | None,
    sector: str | None,
    region: str | None,
    new_tax_number: str | None,
) -> None:
    """Correct the identity of the enterprise with TAX_NUMBER (audited: old and new values).

    Options not given keep their value.
    """
    from surveys.admin import services
    from surveys.extensions import db

    employer = services.enterprise_by_tax_number(db.session, tax_number)
    if employer is None:
        raise InputError(f"TAX_NUMBER: no enterprise has the tax number {tax_number!r}.")
    before = (employer.tax_number, employer.name, employer.sector, employer.region)
    _run_and_commit(
        lambda: services.update_enterprise(
            db.session,
            employer.id,
            tax_number=employer.tax_number if new_tax_number is None else new_tax_number,
            name=employer.name if name is None else name,
            sector=employer.sector if sector is None else sector,
            region=employer.region if region is None else region,
        )
    )
    after = (employer.tax_number, employer.name, employer.sector, employer.region)
    if after == before:
        click.echo(f"Enterprise {employer.tax_number}: nothing to change.")
    else:
        click.echo(
            f"Enterprise {employer.tax_number}: {employer.name}"
            f" · {employer.sector or '—'} · {employer.region or '—'}"
        )


commands: list[click.Command] = [user_group, institution_group, enterprise_group]
