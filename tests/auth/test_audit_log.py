"""The audit log page and the redaction of secrets in the trail."""

import datetime as dt

from surveys.audit.models import AuditEvent
from surveys.audit.services import record_event, redact
from surveys.extensions import db as flask_db
from tests.auth.helpers import events
from tests.world import logged_in_client


def add_event(db, action, institution, at, **kw):
    db.add(
        AuditEvent(
            actor=kw.pop("actor", "someone@uni.uz"),
            action=action,
            institution_id=institution.id if institution else None,
            at=at,
            **kw,
        )
    )


def test_admin_sees_everything_staff_only_their_institution(app, db, make_user, make_institution):
    a, b = make_institution(code="AAA"), make_institution(code="BBB")
    admin = make_user("admin", email="root@hamkor.example")
    staff = make_user("staff", a, email="staff@aaa.uz")
    when = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    add_event(db, "registry.import", a, when, actor="importer@aaa.uz")
    add_event(db, "campaigns.send", b, when, actor="sender@bbb.uz")
    db.commit()

    page = logged_in_client(app, admin).get("/audit").get_data(as_text=True)
    assert "importer@aaa.uz" in page and "sender@bbb.uz" in page

    page = logged_in_client(app, staff).get("/audit").get_data(as_text=True)
    assert "Events of your institution" in page
    assert "importer@aaa.uz" in page and "sender@bbb.uz" not in page
    assert "campaigns.send" not in page  # not even among the filter's actions
    assert "2026-03-01 09:30:00" in page


def test_filter_by_action_and_dates(app, db, make_user, make_institution):
    admin = make_user("admin", email="root@hamkor.example")
    inst = make_institution()
    add_event(
        db, "registry.import", inst, dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC), actor="jan@x.uz"
    )
    add_event(
        db,
        "registry.import",
        inst,
        dt.datetime(2026, 2, 10, 23, 59, tzinfo=dt.UTC),
        actor="feb@x.uz",
    )
    add_event(
        db, "campaigns.send", inst, dt.datetime(2026, 2, 11, tzinfo=dt.UTC), actor="send@x.uz"
    )
    db.commit()
    client = logged_in_client(app, admin)

    page = client.get("/audit?action=registry.import").get_data(as_text=True)
    assert "jan@x.uz" in page and "feb@x.uz" in page and "send@x.uz" not in page
    assert "2 events" in page

    page = client.get("/audit?date_from=2026-02-01&date_to=2026-02-10").get_data(as_text=True)
    assert "feb@x.uz" in page and "jan@x.uz" not in page and "send@x.uz" not in page

    page = client.get("/audit?date_from=2026-02-11&date_to=2026-02-01").get_data(as_text=True)
    assert "The end date is before the start date" in page

    page = client.get("/audit?date_from=yesterday").get_data(as_text=True)
    assert 'id="date_from-error"' in page  # a clear message, not a 500


def test_paging(app, db, make_user):
    admin = make_user("admin", email="root@hamkor.example")
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for n in range(60):
        add_event(
            db, "test.event", None, start + dt.timedelta(minutes=n), actor=f"actor{n:02d}@x.uz"
        )
    db.commit()
    client = logged_in_client(app, admin)
    page = client.get("/audit?action=test.event").get_data(as_text=True)
    assert "Page 1 of 2" in page and "actor59@x.uz" in page and "actor05@x.uz" not in page
    page = client.get("/audit?action=test.event&page=2").get_data(as_text=True)
    assert "actor05@x.uz" in page and "actor59@x.uz" not in page
    assert "action=test.event" in page  # the pager keeps the filter


def test_secrets_never_reach_the_trail(app, db, make_user):
    admin = make_user("admin", email="root@hamkor.example")
    db.commit()
    with app.test_request_context():
        record_event(
            flask_db.session,
            "test.careless",
            details={
                "password": "hunter2hunter2",
                "new_password": "hunter3hunter3",
                "token": "tok-123",
                "nested": [{"api_secret": "s3cr3t", "count": 3}],
                "email": "kept@x.uz",
            },
        )
        flask_db.session.commit()
    (event,) = events(db, "test.careless")
    assert event.details == {
        "password": "[redacted]",
        "new_password": "[redacted]",
        "token": "[redacted]",
        "nested": [{"api_secret": "[redacted]", "count": 3}],
        "email": "kept@x.uz",
    }
    page = logged_in_client(app, admin).get("/audit").get_data(as_text=True)
    for secret in ("hunter2", "hunter3", "tok-123", "s3cr3t"):
        assert secret not in page
    assert "kept@x.uz" in page


def test_redact_keeps_harmless_words():
    assert redact({"password": "generated"}) == {"password": "generated"}
    assert redact({"Token_Hash": "abc"}) == {"Token_Hash": "[redacted]"}
    assert redact(["x", {"csrf_token": "y"}]) == ["x", {"csrf_token": "[redacted]"}]


def test_details_are_shown_as_readable_pairs(app, db, make_user, make_institution):
    admin = make_user("admin", email="root@hamkor.example")
    db.commit()
    client = logged_in_client(app, admin)
    from tests.auth.helpers import post_form

    post_form(client, "/admin/institutions/new", {"code": "ABC", "name": "Alpha & Beta"})
    page = client.get("/audit?action=auth.institution_created").get_data(as_text=True)
    assert "<strong>code</strong>: ABC" in page
    assert "<strong>name</strong>: Alpha &amp; Beta" in page  # escaped, never raw HTML


def test_filter_by_actor_and_link_from_the_user_page(app, db, make_user):
    admin = make_user("admin", email="root@hamkor.example")
    staff = make_user("staff", email="busy_bee@uni.uz")
    add_event(db, "x.one", None, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), actor="busy_bee@uni.uz")
    add_event(db, "x.two", None, dt.datetime(2026, 1, 2, tzinfo=dt.UTC), actor="busyxbee@uni.uz")
    db.commit()
    client = logged_in_client(app, admin)
    user_page = client.get(f"/admin/users/{staff.id}").get_data(as_text=True)
    assert "/audit?actor=busy_bee@uni.uz" in user_page
    page = client.get("/audit?actor=BUSY_BEE").get_data(as_text=True)
    assert "x.one" in page.split("<tbody>")[1] and "x.two" not in page.split("<tbody>")[1]
