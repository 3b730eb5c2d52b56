"""Browser fixtures: the app on a live port, one Chromium per session, a survey link.

Chromium is Debian's, its headless shell when installed (as Playwright runs headless by
default; ``surveys.charts.export.default_browser``); Playwright never downloads a browser. Each
test gets fresh browser contexts (fresh cookies, so a fresh session), and the app runs on
the test's own database of the parametrized backend (SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from surveys.campaigns.services import create_invitations
from surveys.campaigns.tokens import token_for
from surveys.instruments.services import latest_version, load_builtin_instruments
from surveys.responses.models import Response
from tests import factories
from tests.campaigns.builders import SECRET, campaign_for, employ
from tests.live import chromium, serving

#: Screenshots land here; the folder's .gitignore keeps them out of commits.
ARTIFACTS = Path(__file__).parent / "artifacts"

#: A phone held upright: the smallest screen an employer is likely to answer on.
MOBILE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for this package's tests (contexts isolate the tests).

    Package scope, not session: Playwright's sync API allows one running instance at a
    time, and other packages' browser tests (tests/auth) start their own.
    """
    with chromium() as browser:
        yield browser


@pytest.fixture
def new_context(browser) -> Iterator[Callable[..., object]]:
    """Open browser contexts (each a new visitor: no cookies); all are closed afterwards.

    Defaults to an English-speaking desktop browser; pass Playwright's ``new_context``
    options (``java_script_enabled=False``, ``**MOBILE``...) to change that.
    """
    contexts = []

    def _new_context(**options):
        options.setdefault("locale", "en-GB")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield _new_context
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    """A page in a fresh desktop context."""
    return new_context().new_page()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The ``app`` fixture served on a free local port; yields its base URL."""
    with serving(app) as base:
        yield base


@dataclass(frozen=True)
class SurveyLink:
    """An employer's personal link and the ids a test checks the database with."""

    url: str
    token: str
    invitation_id: int
    graduate_name: str
    programme_name: str
    employer_name: str


GRADUATE = "Dilnoza Karimova"
PROGRAMME = "Chemical Technology"
EMPLOYER = "Navoiyazot JSC"


@pytest.fixture
def survey_link(db: Session, live_server: str) -> SurveyLink:
    """An open attestation campaign with one invitation (in English); returns its link."""
    institution = factories.make_institution(
        db, code="NDKTU", name="Navoiy State University of Mining and Technologies"
    )
    programme = factories.make_programme(db, institution, code="CHT", name=PROGRAMME)
    graduate = factories.make_graduate(db, programme, full_name=GRADUATE, graduation_year=2025)
    employer = factories.make_employer(db, name=EMPLOYER)
    employ(db, graduate, employer)
    load_builtin_instruments(db)
    version = latest_version(db, "attestation")
    today = dt.date.today()
    campaign = campaign_for(
        db,
        version,
        [programme],
        year=2025,
        opens_on=today - dt.timedelta(days=7),
        closes_on=today + dt.timedelta(days=30),
    )
    (invitation,) = create_invitations(db, campaign, secret_key=SECRET, language="en")
    db.commit()
    token = token_for(invitation.nonce, SECRET)
    return SurveyLink(
        url=f"{live_server}/s/{token}",
        token=token,
        invitation_id=invitation.id,
        graduate_name=GRADUATE,
        programme_name=PROGRAMME,
        employer_name=EMPLOYER,
    )


@pytest.fixture
def responses_of(db: Session) -> Callable[[int], list[Response]]:
    """The ``responses`` rows of an invitation, read fresh from the database."""

    def _responses_of(invitation_id: int) -> list[Response]:
        db.rollback()  # end the test session's transaction: see what the server committed
        return list(db.scalars(select(Response).where(Response.invitation_id == invitation_id)))

    return _responses_of


@pytest.fixture
def artifact(database_url) -> Callable[[str], str]:
    """The path of a screenshot file, named after the backend so runs do not overwrite."""
    ARTIFACTS.mkdir(exist_ok=True)
    backend = database_url.split(":", 1)[0].split("+", 1)[0]

    def _artifact(name: str) -> str:
        return str(ARTIFACTS / f"{name}-{backend}.png")

    return _artifact
