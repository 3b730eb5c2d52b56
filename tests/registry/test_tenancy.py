"""Shared enterprises: one institution never changes, reads or learns of another's data.

Each test replays an attack of issue 13 as staff of one institution ("TDTU") against an
enterprise another institution ("QMII") works with, through the real pages, and checks what
each side's staff, survey form and invitations show afterwards.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from surveys.campaigns.services import create_invitations
from surveys.instruments.services import latest_version, load_builtin_instruments
from surveys.registry.models import Employer, EmployerLink, EmploymentRecord, Graduate
from tests.campaigns.builders import SECRET, campaign_for
from tests.conftest import csrf_token_from
from tests.jobs.helpers import wait_for_status
from tests.registry.conftest import example
from tests.world import logged_in_client

#: A tax number of QMII's (docs/examples/employers.csv) and what QMII keeps for it.
SHURTAN = "302345671"
QMII_NAME = "Sho'rtan gaz kimyo majmuasi"
QMII_CONTACT = "hr71@corp.example.uz"

#: What an attacker at TDTU would like QMII's staff, form and invitations to use instead.
HIJACK = (
    "tax_number,name,sector,region,contact_name,contact_email\r\n"
    f"{SHURTAN},Hijacked LLC,Fraud,Nowhere,Mallory,mallory@attacker.example\r\n"
).encode()


@pytest.fixture
def tdtu(make_institution, db):
    institution = make_institution(code="TDTU", name="Toshkent davlat texnika universiteti")
    db.commit()
    return institution


@pytest.fixture
def clients(app, make_user, institution, tdtu, db):
    """Logged-in staff of QMII (the victim) and of TDTU (the attacker)."""
    qmii_staff = make_user("staff", institution, email="quality@qmii.example")
    tdtu_staff = make_user("staff", tdtu, email="quality@tdtu.example")
    db.commit()
    return {"qmii": logged_in_client(app, qmii_staff), "tdtu": logged_in_client(app, tdtu_staff)}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _upload(client, kind: str, name: str, data: bytes, *, button: str = "submit"):
    """Upload as a browser would, wait for the import job as its page does, return the page."""
    page = _text(client.get("/registry/import"))
    form = {
        "csrf_token": csrf_token_from(page),
        "kind": kind,
        "file": (io.BytesIO(data), name),
        button: "1",
    }
    response = client.post("/registry/import", data=form, content_type="multipart/form-data")
    assert response.status_code == 303, response.status_code
    location = response.headers["Location"]
    wait_for_status(client, int(location.rsplit("/", 1)[1]))
    return client.get(location)


def _report(response) -> str:
    """The import page's report (or flash), without the per-request CSRF token."""
    html = _text(response)
    match = re.search(
        r'<section class="card" aria-labelledby="report-title">.*?</section>', html, re.S
    )
    flashes = re.findall(r'<[^>]*class="flash[^"]*"[^>]*>(.*?)</', html, re.S)
    body = match.group(0) if match else ""
    body = re.sub(r'name="csrf_token" value="[^"]+"', "", body)
    body = re.sub(r"/registry/import/\d+/confirm", "/registry/import/<job>/confirm", body)
    return body + "".join(flashes)


def _employer_rows(client) -> list[list[str]]:
    html = _text(client.get("/registry/employers"))
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in rows if "<td>" in row]


def test_another_institutions_employers_import_never_changes_or_reaches_ours(
    app, clients, run_import, institution, tdtu, db
):
    run_import(institution.id, "employers", "employers.csv")
    official = db.scalar(select(Employer).where(Employer.tax_number == SHURTAN))
    pseudonym = official.pseudonym

    page = _upload(clients["tdtu"], "employers", "hijack.csv", HIJACK)
    # to TDTU this is simply a new employer of its own: 1 created, nothing "updated"
    assert "1 created, 0 updated, 0 unchanged" in _text(page)
    assert _employer_rows(clients["tdtu"]) == [
        [SHURTAN, "Hijacked LLC", "Fraud", "Nowhere", "Mallory", "mallory@attacker.example", ""]
    ]

    # QMII's staff still see their own name and contact, and nothing of TDTU's
    qmii_rows = {row[0]: row for row in _employer_rows(clients["qmii"])}
    assert qmii_rows[SHURTAN][1:6] == [
        QMII_NAME.replace("'", "&#39;"),
        "Oil and gas",
        "Qashqadaryo",
        "HR department",
        QMII_CONTACT,
    ]
    qmii_list = _text(clients["qmii"].get("/registry/employers"))
    assert "Hijacked" not in qmii_list and "mallory" not in qmii_list
    # the shared identity is untouched: one enterprise, one rater id, same official name
    db.expire_all()
    (identity,) = db.scalars(select(Employer).where(Employer.tax_number == SHURTAN)).all()
    assert (identity.name, identity.sector, identity.region, identity.pseudonym) == (
        QMII_NAME,
        "Oil and gas",
        "Qashqadaryo",
        pseudonym,
    )
    links = db.scalars(select(EmployerLink).where(EmployerLink.employer_id == identity.id)).all()
    assert {link.institution_id: link.contact_email for link in links} == {
        institution.id: QMII_CONTACT,
        tdtu.id: "mallory@attacker.example",
    }


def test_invitations_and_the_survey_form_use_the_inviting_institutions_own_contact(
    app, clients, run_import, import_chain, institution, tdtu, db
):
    import_chain("employment")
    _upload(clients["tdtu"], "employers", "hijack.csv", HIJACK)
    load_builtin_instruments(db)
    shurtan = db.scalar(select(Employer).where(Employer.tax_number == SHURTAN))
    employed = db.scalar(
        select(Graduate)
        .join(EmploymentRecord, EmploymentRecord.graduate_id == Graduate.id)
        .where(EmploymentRecord.employer_id == shurtan.id)
    )
    assert employed is not None, "the example employment file employs graduates at Sho'rtan"
    campaign = campaign_for(
        db,
        latest_version(db, "attestation"),
        list(institution.programmes),
        year=employed.graduation_year,
        opens_on=dt.date.today() - dt.timedelta(days=1),
        closes_on=dt.date.today() + dt.timedelta(days=30),
    )
    invitations = create_invitations(db, campaign, secret_key=SECRET, language="en")
    db.commit()
    ours = [i for i in invitations if i.employer_id == shurtan.id]
    assert ours
    assert {i.email for i in ours} == {QMII_CONTACT}
    assert not any(i.email == "mallory@attacker.example" for i in invitations)

    from surveys.campaigns.tokens import token_for

    form = _text(app.test_client().get(f"/s/{token_for(ours[0].nonce, SECRET)}"))
    assert "Sho&#39;rtan gaz kimyo majmuasi" in form
    assert "Hijacked" not in form


def test_an_agreement_may_only_name_our_own_employers_and_reveals_nothing(
    app, clients, run_import, institution, tdtu, db
):
    run_import(institution.id, "employers", "employers.csv")
    agreement = (
        "number,employer_tax_number,kind,signed_on,valid_from\r\n"
        "T-1,{tax},internship,2024-01-10,2024-02-01\r\n"
    )
    known_elsewhere = _upload(
        clients["tdtu"], "agreements", "a.csv", agreement.format(tax=SHURTAN).encode()
    )
    unknown = _upload(
        clients["tdtu"], "agreements", "a.csv", agreement.format(tax="399999999").encode()
    )
    for page in (known_elsewhere, unknown):
        assert "1 problem: nothing was imported" in _text(page)
    expected = (
        "the tax number of an employer in this institution&#39;s registry (import employers first)"
    )
    assert expected in _text(known_elsewhere)
    # the two answers differ only in the tax number echoed back
    assert _report(known_elsewhere).replace(SHURTAN, "X") == _report(unknown).replace(
        "399999999", "X"
    )
    # nothing was linked, and QMII's contact never shows in TDTU's lists
    assert _employer_rows(clients["tdtu"]) == []
    for kind in ("employers", "agreements"):
        page = _text(clients["tdtu"].get(f"/registry/{kind}"))
        assert QMII_CONTACT not in page and "Sho&#39;rtan" not in page


def test_check_only_says_the_same_whether_or_not_another_institution_has_the_tax_number(
    app, clients, run_import, institution, tdtu
):
    data = example("employers.csv")
    before = _report(_upload(clients["tdtu"], "employers", "employers.csv", data, button="check"))
    run_import(institution.id, "employers", "employers.csv")  # now QMII has all eight
    after = _report(_upload(clients["tdtu"], "employers", "employers.csv", data, button="check"))
    assert "create 8, update 0 and leave 0 unchanged" in before
    # staged files carry a signature over user, institution, kind, name and bytes: equal too
    assert before == after
    # and the service's counts, as the CLI and the audit log show them
    cold = run_import(tdtu.id, "employers", "employers.csv", dry_run=True)
    assert cold.counts() == {
        "kind": "employers",
        "file": "employers.csv",
        "dry_run": True,
        "rows": 8,
        "created": 8,
        "updated": 0,
        "unchanged": 0,
        "errors": 0,
    }


def test_employment_and_internships_refuse_employers_of_other_institutions(
    run_import, import_chain, institution, tdtu
):
    import_chain("internships")
    run_import(tdtu.id, "programmes", "programmes.csv")
    run_import(tdtu.id, "graduates", "graduates.csv")
    for kind in ("employment", "internships"):
        result = run_import(tdtu.id, kind, f"{kind}.csv")
        assert not result.ok
        refused = [e for e in result.errors if e.column == "employer_tax_number"]
        assert len(refused) == result.rows, kind  # every row: its employer is not TDTU's
        assert all("import employers first" in e.expected for e in refused)
        # (internships also name QMII's agreements, which are as unknown to TDTU)
        assert {e.column for e in result.errors} <= {"employer_tax_number", "agreement_number"}
    # once TDTU imports the employers (its own records), the same files go through
    assert run_import(tdtu.id, "employers", "employers.csv").created == 8
    assert run_import(tdtu.id, "employment", "employment.csv").ok


def test_an_institutions_employer_import_updates_only_its_own_link(
    run_import, institution, tdtu, db
):
    run_import(institution.id, "employers", "employers.csv")
    run_import(tdtu.id, "employers", "hijack.csv", HIJACK)
    changed = (
        "tax_number,name,contact_email,notes\r\n"
        f"{SHURTAN},Shurtan GCC,practice@shurtan.example,Mentors since 2019\r\n"
    ).encode()
    result = run_import(tdtu.id, "employers", "e.csv", changed)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    again = run_import(tdtu.id, "employers", "e.csv", changed)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    db.expire_all()
    links = {
        link.institution_id: link
        for link in db.scalars(
            select(EmployerLink).join(Employer).where(Employer.tax_number == SHURTAN)
        )
    }
    assert (links[tdtu.id].name, links[tdtu.id].contact_email, links[tdtu.id].notes) == (
        "Shurtan GCC",
        "practice@shurtan.example",
        "Mentors since 2019",
    )
    assert links[tdtu.id].contact_name == "Mallory"  # a column absent from the file stays
    assert (links[institution.id].name, links[institution.id].contact_email) == (
        QMII_NAME,
        QMII_CONTACT,
    )
    assert db.scalar(select(Employer.name).where(Employer.tax_number == SHURTAN)) == QMII_NAME


def test_registry_list_command_shows_the_institutions_own_records(
    runner, run_import, institution, tdtu
):
    run_import(institution.id, "employers", "employers.csv")
    run_import(tdtu.id, "employers", "hijack.csv", HIJACK)
    ours = runner.invoke(["registry", "list", "employers", "--institution", "qmii"])
    theirs = runner.invoke(["registry", "list", "employers", "--institution", "TDTU"])
    assert QMII_CONTACT in ours.stdout and "mallory" not in ours.stdout
    assert "mallory@attacker.example" in theirs.stdout and QMII_CONTACT not in theirs.stdout
    assert len(theirs.stdout.splitlines()) == 2  # header + its one employer
