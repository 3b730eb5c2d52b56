"""``hamkor user …`` and ``hamkor institution …``."""

import json

import pytest
from sqlalchemy import func, select

from surveys.audit.models import AuditEvent
from surveys.auth.models import Role, User
from surveys.auth.passwords import verify_password
from surveys.registry.models import Institution
from tests.auth.helpers import events


def count(db, model):
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


def test_institution_add_and_list(runner, db, tmp_path):
    notice = tmp_path / "notice.txt"
    notice.write_text("Javoblaringiz faqat akkreditatsiya uchun ishlatiladi.", encoding="utf-8")
    result = runner.invoke(
        [
            "institution",
            "add",
            "tdtu",
            "Tashkent State Technical University",
            "--privacy-notice-file",
            str(notice),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created institution TDTU" in result.output
    institution = db.scalars(select(Institution)).one()
    assert institution.privacy_notice.startswith("Javoblaringiz")
    (event,) = events(db, "auth.institution_created")
    assert event.actor == "cli" and event.institution_id == institution.id

    listing = runner.invoke(["institution", "list", "--format", "json"])
    assert json.loads(listing.output) == [
        {
            "id": institution.id,
            "code": "TDTU",
            "name": "Tashkent State Technical University",
            "privacy_notice": True,
        }
    ]
    assert "TDTU" in runner.invoke(["institution", "list"]).output


def test_institution_add_duplicate_code_exits_2(runner, db, make_institution):
    make_institution(code="TDTU")
    db.commit()
    result = runner.invoke(["institution", "add", "tdtu", "Again"])
    assert result.exit_code == 2
    assert "An institution with the code TDTU exists" in result.output
    assert count(db, Institution) == 1


def test_user_add_with_password_from_stdin(runner, db, make_institution):
    make_institution(code="TDTU")
    db.commit()
    result = runner.invoke(
        [
            "user",
            "add",
            "Quality@TDTU.uz",
            "--role",
            "staff",
            "--institution",
            "tdtu",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created staff quality@tdtu.uz" in result.output
    assert "a long enough password" not in result.output and "One-time" not in result.output
    user = db.scalars(select(User)).one()
    assert user.role == Role.STAFF and user.institution.code == "TDTU"
    assert verify_password(user.password_hash, "a long enough password")
    (event,) = events(db, "auth.user_created")
    assert event.actor == "cli" and event.details["password"] == "set"


def test_user_add_without_terminal_prints_a_generated_password(runner, db):
    result = runner.invoke(["user", "add", "root@hamkor.uz", "--role", "admin"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("One-time password"))
    password = line.split(": ", 1)[1]
    assert len(password) >= 10
    user = db.scalars(select(User)).one()
    assert verify_password(user.password_hash, password)
    assert password not in json.dumps([e.details for e in events(db)])


def test_user_add_committee_with_assignments(runner, db, make_institution, make_programme):
    inst = make_institution(code="TDTU")
    make_programme(inst, code="MECH")
    make_institution(code="SAMDU")
    db.commit()
    result = runner.invoke(
        [
            "user",
            "add",
            "m@committee.uz",
            "--role",
            "committee",
            "--committee",
            "TDTU/MECH",
            "--committee",
            "samdu",
        ]
    )
    assert result.exit_code == 0, result.output
    listing = json.loads(runner.invoke(["user", "list", "--format", "json"]).output)
    assert listing[0]["email"] == "m@committee.uz"
    assert sorted(listing[0]["committee"]) == ["SAMDU", "TDTU/MECH"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["x@uni.uz", "--role", "staff", "--institution", "NOPE"],
            None,
            "there is no institution with the code 'NOPE'",
        ),
        (["x@uni.uz", "--role", "staff"], None, "a staff member needs an institution code"),
        (["taken@uni.uz", "--role", "admin"], None, "A user with the e-mail taken@uni.uz exists"),
        (["TAKEN@UNI.UZ", "--role", "admin"], None, "exists"),
        (["not-an-email", "--role", "admin"], None, "is not a valid e-mail address"),
        (["x@uni.uz", "--role", "admin", "--password-stdin"], "short\n", "at least 10 characters"),
        (
            ["x@uni.uz", "--role", "admin", "--institution", "TDTU"],
            None,
            "Only staff members belong to an institution",
        ),
        (
            ["x@uni.uz", "--role", "committee", "--committee", "TDTU/NOPE"],
            None,
            "TDTU has no programme with the code 'NOPE'",
        ),
        (["x@uni.uz", "--role", "wizard"], None, "'wizard' is not one of"),
    ],
)
def test_user_add_errors_exit_2_and_write_nothing(
    runner, db, make_user, make_institution, args, stdin, message
):
    make_institution(code="TDTU")
    make_user("admin", email="taken@uni.uz")
    db.commit()
    users, trail = count(db, User), count(db, AuditEvent)
    result = runner.invoke(["user", "add", *args], input=stdin)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert (count(db, User), count(db, AuditEvent)) == (users, trail)


def test_user_list_formats(runner, db, make_user, make_institution):
    inst = make_institution(code="TDTU")
    make_user("staff", inst, email="b@uni.uz")
    make_user("admin", email="a@uni.uz")
    db.commit()
    rows = json.loads(runner.invoke(["user", "list", "--format", "json"]).output)
    assert [(r["email"], r["role"], r["institution"], r["active"]) for r in rows] == [
        ("a@uni.uz", "admin", None, True),
        ("b@uni.uz", "staff", "TDTU", True),
    ]
    csv_out = runner.invoke(["user", "list", "--format", "csv", "--role", "staff"]).output
    assert csv_out.splitlines()[0] == (
        "id,email,role,institution,committee,active,must_change_password,last_login_at"
    )
    assert len(csv_out.splitlines()) == 2 and "b@uni.uz" in csv_out
    table = runner.invoke(["user", "list"]).output
    assert table.splitlines()[0].split()[:3] == ["id", "email", "role"]


def test_user_set_password(runner, db, make_user):
    user = make_user("admin", email="a@uni.uz")
    db.commit()
    result = runner.invoke(
        ["user", "set-password", "A@uni.uz", "--password-stdin"], input="another good password\n"
    )
    assert result.exit_code == 0, result.output
    db.refresh(user)
    assert verify_password(user.password_hash, "another good password")
    result = runner.invoke(["user", "set-password", "nobody@uni.uz"])
    assert result.exit_code == 2 and "there is no user" in result.output


def test_every_command_has_help(runner):
    """``--help`` on every ``user`` and ``institution`` command, found by walking the tree."""
    from surveys.cli import main

    commands = []
    for name in ("user", "institution"):
        group = main.commands[name]
        commands.append([name])
        commands += [[name, sub] for sub in group.commands]
    assert ["user", "deactivate"] in commands and ["institution", "list"] in commands
    for command in commands:
        result = runner.invoke([*command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, command
        assert "Show this message and exit" in result.output


def test_user_add_asks_for_the_password_in_a_terminal(runner, db, monkeypatch):
    monkeypatch.setattr("surveys.admin.cli._stdin_is_terminal", lambda: True)
    result = runner.invoke(
        ["user", "add", "typed@uni.uz", "--role", "admin"],
        input="typed in twice\ntyped in twice\n",
    )
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output and "One-time" not in result.output
    assert "typed in twice" not in result.output  # hidden input is not echoed
    user = db.scalars(select(User)).one()
    assert verify_password(user.password_hash, "typed in twice")


def test_user_add_short_typed_password_exits_2(runner, db, monkeypatch):
    monkeypatch.setattr("surveys.admin.cli._stdin_is_terminal", lambda: True)
    result = runner.invoke(
        ["user", "add", "typed@uni.uz", "--role", "admin"], input="short\nshort\n"
    )
    assert result.exit_code == 2 and "at least 10 characters" in result.output
    assert count(db, User) == 0


def test_user_deactivate_and_reactivate(runner, db, make_user):
    user = make_user("staff", email="leaver@uni.uz")
    db.commit()
    result = runner.invoke(["user", "deactivate", "Leaver@uni.uz"])
    assert result.exit_code == 0 and "is deactivated" in result.output
    db.refresh(user)
    assert not user.active
    assert runner.invoke(["user", "reactivate", "leaver@uni.uz"]).exit_code == 0
    db.refresh(user)
    assert user.active
    assert [e.action for e in events(db)] == ["auth.user_deactivated", "auth.user_reactivated"]
    result = runner.invoke(["user", "deactivate", "nobody@uni.uz"])
    assert result.exit_code == 2 and "there is no user" in result.output
