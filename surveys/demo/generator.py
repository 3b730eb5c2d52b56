"""A realistic, reproducible demo: two institutions, their partners, and five years of surveys.

Everything is drawn from one ``random.Random(seed)``, so the same seed gives the same
registry, responses and scores (only secrets differ: passwords and link nonces). Scores
follow a small latent model so that indicators differ believably: each programme has a
level and its own strong and weak competency domains, later cohorts are rated slightly
better, and each employer is a little more lenient or strict than the others (raters
cluster, as in real employer surveys).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.admin.models import CommitteeAssignment
from surveys.auth.access import end_sessions
from surveys.auth.models import Role, User
from surveys.auth.passwords import hash_password
from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
from surveys.campaigns.services import create_campaign, create_invitations
from surveys.campaigns.tokens import invitation_link
from surveys.demo import names
from surveys.instruments.models import InstrumentVersion
from surveys.instruments.services import load_builtin_instruments
from surveys.registry.models import (
    AgreementKind,
    Employer,
    EmployerLink,
    EmploymentRecord,
    EmploymentStatus,
    Graduate,
    Institution,
    Internship,
    PartnershipAgreement,
    Programme,
    ProgrammeLevel,
)
from surveys.responses.models import Response, ResponseStatus, blank_answer_row
from surveys.responses.services import insert_answer_rows

#: Number of graduation years in the demo (the last one is the year before ``today``).
YEARS = 5

#: (code, name, privacy contact) of the two demo institutions; the first is the oil-and-gas
#: mechanical engineering faculty of the seed paper.
INSTITUTIONS = (
    (
        "QMII-NG",
        "Karshi Engineering-Economics Institute — Faculty of Oil and Gas",
        "sifat@qmii.example",
    ),
    (
        "TDTU",
        "Tashkent State Technical University",
        "quality@tdtu.example",
    ),
)

#: The institutions' and programmes' names in Uzbek and Russian (the default is English).
TRANSLATED_NAMES = {
    "Karshi Engineering-Economics Institute — Faculty of Oil and Gas": {
        "uz": "Qarshi muhandislik-iqtisodiyot instituti — Neft va gaz fakulteti",
        "ru": "Каршинский инженерно-экономический институт — факультет нефти и газа",
    },
    "Tashkent State Technical University": {
        "uz": "Toshkent davlat texnika universiteti",
        "ru": "Ташкентский государственный технический университет",
    },
    "Machines and equipment of the oil and gas industry": {
        "uz": "Neft va gaz sanoati mashinalari va jihozlari",
        "ru": "Машины и оборудование нефтегазовой отрасли",
    },
    "Oil and gas field development and operation": {
        "uz": "Neft va gaz konlarini ishlatish",
        "ru": "Разработка и эксплуатация нефтяных и газовых месторождений",
    },
    "Technological machines of oil and gas processing": {
        "uz": "Neft va gazni qayta ishlash texnologik mashinalari",
        "ru": "Технологические машины нефтегазопереработки",
    },
    "Oil and gas equipment engineering (master)": {
        "uz": "Neft-gaz jihozlari muhandisligi (magistratura)",
        "ru": "Инженерия нефтегазового оборудования (магистратура)",
    },
    "Electrical power engineering": {"uz": "Elektr energetikasi", "ru": "Электроэнергетика"},
    "Computer engineering": {"uz": "Kompyuter injiniringi", "ru": "Компьютерный инжиниринг"},
    "Construction of buildings and structures": {
        "uz": "Bino va inshootlar qurilishi",
        "ru": "Строительство зданий и сооружений",
    },
    "Metallurgy": {"uz": "Metallurgiya", "ru": "Металлургия"},
}


def _privacy_notices(names: dict[str, str], contact: str) -> dict[str, str]:
    """The demo institution's privacy notice in English (default), Uzbek and Russian."""
    return {
        "en": (
            f"{names['en']} processes your answers only to assess and improve the training of "
            "its graduates and as evidence in accreditation. Results are published only as "
            "statistics over at least five responses; your name and the graduate's name never "
            "appear in reports. Answers are kept for five years. "
            f"Questions: {contact}."
        ),
        "uz": (
            f"{names['uz']} javoblaringizni faqat bitiruvchilarni tayyorlash sifatini baholash "
            "va yaxshilash uchun hamda akkreditatsiyada dalil sifatida qayta ishlaydi. Natijalar "
            "faqat kamida beshta javob boʻyicha statistika sifatida eʼlon qilinadi; sizning "
            "ismingiz va bitiruvchining ismi hisobotlarda hech qachon koʻrsatilmaydi. Javoblar "
            f"besh yil saqlanadi. Savollar uchun: {contact}."
        ),
        "ru": (
            f"{names['ru']} обрабатывает ваши ответы только для оценки и улучшения подготовки "
            "своих выпускников и как доказательство при аккредитации. Результаты публикуются "
            "только в виде статистики не менее чем по пяти ответам; ваше имя и имя выпускника "
            "в отчётах не появляются. Ответы хранятся пять лет. "
            f"Вопросы: {contact}."
        ),
    }


#: Enterprises of the first institution that also partner with the second (shared identity,
#: each institution with its own contact person and e-mail).
SHARED_PARTNERS = 4

#: (institution, code, name, level, field, yearly cohort size, quality, (strong, weak) domains)
PROGRAMMES = (
    (
        "QMII-NG",
        "60720800",
        "Machines and equipment of the oil and gas industry",
        ProgrammeLevel.BACHELOR,
        "Mechanical engineering",
        48,
        0.25,
        ("safety_culture", "digital_skills"),
    ),
    (
        "QMII-NG",
        "60721100",
        "Oil and gas field development and operation",
        ProgrammeLevel.BACHELOR,
        "Oil and gas engineering",
        42,
        0.10,
        ("practical_skills", "communication_teamwork"),
    ),
    (
        "QMII-NG",
        "60720900",
        "Technological machines of oil and gas processing",
        ProgrammeLevel.BACHELOR,
        "Mechanical engineering",
        30,
        -0.20,
        ("professional_knowledge", "practical_skills"),
    ),
    (
        "QMII-NG",
        "70720801",
        "Oil and gas equipment engineering (master)",
        ProgrammeLevel.MASTER,
        "Mechanical engineering",
        12,
        0.35,
        ("professional_knowledge", "learning_adaptability"),
    ),
    (
        "TDTU",
        "60710300",
        "Electrical power engineering",
        ProgrammeLevel.BACHELOR,
        "Electrical engineering",
        52,
        0.05,
        ("responsibility_discipline", "digital_skills"),
    ),
    (
        "TDTU",
        "60610100",
        "Computer engineering",
        ProgrammeLevel.BACHELOR,
        "Information technology",
        45,
        0.30,
        ("digital_skills", "safety_culture"),
    ),
    (
        "TDTU",
        "60730300",
        "Construction of buildings and structures",
        ProgrammeLevel.BACHELOR,
        "Civil engineering",
        38,
        -0.30,
        ("communication_teamwork", "digital_skills"),
    ),
    (
        "TDTU",
        "60720600",
        "Metallurgy",
        ProgrammeLevel.BACHELOR,
        "Materials engineering",
        20,
        -0.05,
        ("safety_culture", "learning_adaptability"),
    ),
)

#: Sectors that hire each institution's graduates (index into names.ENTERPRISE_KINDS).
SECTORS_BY_INSTITUTION = {"QMII-NG": (0, 0, 0, 1, 2, 3), "TDTU": (1, 1, 2, 3, 4, 5)}


@dataclass
class DemoResult:
    """What ``hamkor demo`` made and must tell the newcomer."""

    users: list[tuple[str, str, str]] = field(default_factory=list)  #: (e-mail, role, password)
    links: list[str] = field(default_factory=list)  #: open invitations of the open campaign
    counts: dict[str, int] = field(default_factory=dict)


def demo_present(session: Session) -> bool:
    """Whether this database already holds the demo."""
    codes = {c for c, _, _ in INSTITUTIONS}
    found = session.scalars(select(Institution.code).where(Institution.code.in_(codes))).all()
    return bool(found)


def database_is_empty(session: Session) -> bool:
    """Whether the registry is empty (the demo never mixes with real data)."""
    return session.scalar(select(func.count()).select_from(Institution)) == 0


def _staff_email(code: str) -> str:
    return f"staff@{code.lower().replace('-', '')}.example"


#: The demo's accounts, the only ones a second ``hamkor demo`` run touches.
DEMO_EMAILS = (
    "admin@hamkor.example",
    *(_staff_email(code) for code, _, _ in INSTITUTIONS),
    "committee@hamkor.example",
    "expert@hamkor.example",
)


def reset_demo_passwords(session: Session) -> list[tuple[str, str, str]]:
    """Give every demo account a new password (for a second ``hamkor demo`` run).

    Accounts someone created by hand keep theirs, whatever their e-mail looks like.
    """
    users = session.scalars(select(User).where(User.email.in_(DEMO_EMAILS))).all()
    result = []
    for user in sorted(users, key=lambda u: u.email):
        password = _new_password()
        user.password_hash = hash_password(password)
        user.must_change_password = False  # printed to be used as it is, like the first run's
        end_sessions(user)
        result.append((user.email, str(user.role), password))
    session.flush()
    return result


def _new_password() -> str:
    return secrets.token_urlsafe(12)


def build_demo(
    session: Session,
    *,
    seed: int,
    secret_key: str,
    base_url: str,
    today: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Fill an empty database with the demo; flushes, never commits."""
    today = today or dt.date.today()
    rng = random.Random(seed)
    say = progress or (lambda message: None)
    builder = _DemoBuilder(session, rng, today)
    result = DemoResult()

    say("registry: institutions, programmes, graduates")
    builder.registry()
    say("partners: employers, agreements, internships, employment")
    builder.partners()
    say("instruments")
    versions = {v.instrument.key: v for v in load_builtin_instruments(session)}
    say("campaigns and invitations")
    campaigns = builder.campaigns(versions, secret_key)
    say("responses")
    builder.responses(campaigns)
    say("users")
    result.users = builder.users()

    open_campaigns = [c for c, _ in campaigns if c.status == CampaignStatus.OPEN]
    open_invitations = session.scalars(
        select(Invitation)
        .where(Invitation.campaign_id.in_([c.id for c in open_campaigns]))
        .where(~Invitation.id.in_(select(Response.invitation_id)))
        .order_by(Invitation.id)
    ).all()
    result.links = [invitation_link(i, secret_key, base_url) for i in open_invitations]
    for model in (
        Institution,
        Programme,
        Graduate,
        Employer,
        EmployerLink,
        PartnershipAgreement,
        Internship,
        EmploymentRecord,
        Campaign,
        Invitation,
    ):
        result.counts[model.__tablename__] = session.scalar(select(func.count()).select_from(model))
    result.counts["submitted_responses"] = session.scalar(
        select(func.count())
        .select_from(Response)
        .where(Response.status == ResponseStatus.SUBMITTED)
    )
    result.counts["draft_responses"] = session.scalar(
        select(func.count()).select_from(Response).where(Response.status == ResponseStatus.DRAFT)
    )
    return result


class _DemoBuilder:
    """The demo's steps, sharing one random generator in a fixed order."""

    def __init__(self, session: Session, rng: random.Random, today: dt.date) -> None:
        self.session = session
        self.rng = rng
        # the graduates' recorded employment status has a generator of its own, derived from
        # the main one's state without drawing from it: the rest of a seed's demo is unchanged
        self.status_rng = random.Random(hash(rng.getstate()))
        self.today = today
        self.last_year = today.year - 1
        self.years = list(range(self.last_year - YEARS + 1, self.last_year + 1))
        self.institutions: dict[str, Institution] = {}
        self.programmes: list[tuple[Programme, float, tuple[str, str]]] = []
        self.graduates: dict[int, list[Graduate]] = {}  # programme id -> graduates
        self.employers: dict[str, list[Employer]] = {}  # institution code -> its partners
        self.leniency: dict[int, float] = {}  # employer id -> rater effect

    def _pseudonym(self, prefix: str) -> str:
        return f"{prefix}-{self.rng.getrandbits(64):016x}"

    def _date_in(self, start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=self.rng.randint(0, max(0, (end - start).days)))

    def registry(self) -> None:
        for code, name, contact in INSTITUTIONS:
            notices = _privacy_notices({"en": name, **TRANSLATED_NAMES[name]}, contact)
            self.institutions[code] = Institution(
                code=code,
                name=name,
                names=TRANSLATED_NAMES[name],
                privacy_notice=notices.pop("en"),
                privacy_notices=notices,
            )
        self.session.add_all(self.institutions.values())
        self.session.flush()
        student_counter = 0
        for inst, code, name, level, field_of_study, size, quality, domains in PROGRAMMES:
            programme = Programme(
                institution=self.institutions[inst],
                code=code,
                name=name,
                names=TRANSLATED_NAMES[name],
                level=level,
                field_of_study=field_of_study,
            )
            self.session.add(programme)
            self.session.flush()
            self.programmes.append((programme, quality, domains))
            cohort: list[Graduate] = []
            for year in self.years:
                for _ in range(max(5, round(size * self.rng.uniform(0.8, 1.2)))):
                    student_counter += 1
                    cohort.append(
                        Graduate(
                            institution_id=programme.institution_id,
                            programme_id=programme.id,
                            graduation_year=year,
                            student_number=f"{year % 100:02d}{student_counter:06d}",
                            full_name=self._person_name(),
                            email=None
                            if self.rng.random() < 0.3
                            else f"student{student_counter}@mail.example",
                            pseudonym=self._pseudonym("G"),
                        )
                    )
            self.session.add_all(cohort)
            self.graduates[programme.id] = cohort
        self.session.flush()

    def _person_name(self) -> str:
        female = self.rng.random() < 0.35
        given = self.rng.choice(names.FEMALE_GIVEN if female else names.MALE_GIVEN)
        surname = self.rng.choice(names.SURNAME_STEMS) + ("a" if female else "")
        patronym = self.rng.choice(names.PATRONYMIC_STEMS) + (" qizi" if female else " oʻgʻli")
        return f"{surname} {given} {patronym}"

    def partners(self) -> None:
        """60 partners per institution; a few of the first's also work with the second.

        An enterprise is one shared identity (tax number, official name, sector, region) and
        one link per institution that works with it, holding that institution's own name for
        it, contact person and e-mail.
        """
        used_names: set[str] = set()
        tax = 301000000
        for index, (inst_code, inst) in enumerate(self.institutions.items()):
            shared = self._shared_partners() if index > 0 else []
            partners: list[Employer] = [employer for employer, _ in shared]
            new: list[Employer] = []
            while len(partners) < 60:
                sector, kinds = names.ENTERPRISE_KINDS[
                    self.rng.choice(SECTORS_BY_INSTITUTION[inst_code])
                ]
                while True:
                    name = (
                        f"{self.rng.choice(names.ENTERPRISE_STEMS)} "
                        f"{self.rng.choice(kinds)} {self.rng.choice(names.LEGAL_FORMS)}"
                    )
                    if name not in used_names:
                        used_names.add(name)
                        break
                tax += self.rng.randint(1, 9000)
                employer = Employer(
                    name=name,
                    tax_number=str(tax),
                    sector=sector,
                    region="Qashqadaryo"
                    if inst_code == "QMII-NG" and self.rng.random() < 0.6
                    else self.rng.choice(names.REGIONS),
                    pseudonym=self._pseudonym("E"),
                )
                partners.append(employer)
                new.append(employer)
                self.leniency[id(employer)] = self.rng.gauss(0, 0.35)
            self.session.add_all(new)
            self.session.flush()
            self.leniency.update({e.id: self.leniency.pop(id(e)) for e in new})
            domain = inst_code.lower().replace("-", "")
            self.session.add_all(
                EmployerLink(
                    institution=inst,
                    employer=employer,
                    # the second institution writes a shared partner's name its own way
                    name=own_name or employer.name,
                    sector=employer.sector,
                    region=employer.region,
                    contact_name=self._person_name(),
                    contact_email=f"{domain}.hr{employer.tax_number}@enterprise.example",
                )
                for employer, own_name in [*shared, *((e, None) for e in new)]
            )
            self.employers[inst_code] = partners
            self._agreements(inst, partners)
        self.session.flush()
        self._internships_and_employment()

    def _shared_partners(self) -> list[tuple[Employer, str]]:
        """Partners of the first institution that the next one works with too, with the name
        the next one uses for each (its own spelling)."""
        first = next(iter(self.employers.values()))
        chosen = self.rng.sample(first, SHARED_PARTNERS)
        return [(employer, f"{employer.name} ({employer.region})") for employer in chosen]

    def _agreements(self, institution: Institution, partners: list[Employer]) -> None:
        kinds = list(AgreementKind)
        rows = []
        for number, employer in enumerate(partners, start=1):
            for kind in self.rng.sample(kinds, self.rng.randint(1, 3)):
                signed = self._date_in(
                    dt.date(self.years[0] - 2, 1, 10), self.today - dt.timedelta(days=30)
                )
                rows.append(
                    PartnershipAgreement(
                        institution_id=institution.id,
                        employer_id=employer.id,
                        kind=kind,
                        number=f"{institution.code}-{signed.year}/{number:03d}-{kind.value[:3]}",
                        signed_on=signed,
                        valid_from=signed,
                        valid_until=None
                        if self.rng.random() < 0.3
                        else signed + dt.timedelta(days=365 * self.rng.randint(1, 5)),
                    )
                )
        self.session.add_all(rows)

    def _internships_and_employment(self) -> None:
        internships, employment = [], []
        for programme, _, _ in self.programmes:
            code = programme.institution.code
            partners = self.employers[code]
            for graduate in self.graduates[programme.id]:
                year = graduate.graduation_year
                intern_at = None
                if self.rng.random() < 0.45:
                    intern_at = self.rng.choice(partners)
                    start = dt.date(year - 1, 6, 1) + dt.timedelta(days=self.rng.randint(0, 40))
                    internships.append(
                        Internship(
                            graduate_id=graduate.id,
                            employer_id=intern_at.id,
                            mentor_name=self._person_name(),
                            start_date=start,
                            end_date=start + dt.timedelta(days=self.rng.choice((28, 42, 56))),
                        )
                    )
                if self.rng.random() >= 0.85:
                    # no employment record: the graduate survey recorded a status for most
                    # (its own draw, so the rest of the demo stays as it was for a seed)
                    draw = self.status_rng.random()
                    if draw < 0.55:
                        graduate.employment_status = EmploymentStatus.NOT_EMPLOYED
                    elif draw < 0.8:
                        graduate.employment_status = EmploymentStatus.FURTHER_STUDY
                    continue
                # interns are often hired where they trained
                employer = (
                    intern_at
                    if intern_at and self.rng.random() < 0.6
                    else self.rng.choice(partners)
                )
                start = dt.date(year, 7, 15) + dt.timedelta(days=self.rng.randint(0, 240))
                if start >= self.today:
                    start = self.today - dt.timedelta(days=self.rng.randint(10, 60))
                end = None
                if self.rng.random() < 0.12:
                    end = start + dt.timedelta(days=self.rng.randint(120, 700))
                    if end >= self.today:
                        end = None
                employment.append(
                    EmploymentRecord(
                        graduate_id=graduate.id,
                        employer_id=employer.id,
                        position=self.rng.choice(POSITIONS[programme.field_of_study]),
                        start_date=start,
                        end_date=end,
                    )
                )
        self.session.add_all(internships)
        self.session.add_all(employment)
        self.session.flush()

    def campaigns(
        self, versions: dict[str, InstrumentVersion], secret_key: str
    ) -> list[tuple[Campaign, float]]:
        """Closed campaigns for earlier cohorts, one open attestation campaign for the last.

        Returns each campaign with its response rate.
        """
        result = []
        for inst_code, inst in self.institutions.items():
            programme_ids = [p.id for p, _, _ in self.programmes if p.institution_id == inst.id]
            for year in self.years:
                for key in ("attestation", "interview", "performance"):
                    if key == "performance" and year == self.last_year:
                        continue  # too early to review a year's performance
                    is_open = key == "attestation" and year == self.last_year
                    if is_open:
                        opens = self.today - dt.timedelta(days=10)
                        closes = self.today + dt.timedelta(days=45)
                    else:
                        opens = dt.date(year + 1, 3 if key != "interview" else 1, 1)
                        closes = opens + dt.timedelta(days=60)
                        if closes >= self.today:
                            opens = self.today - dt.timedelta(days=120)
                            closes = self.today - dt.timedelta(days=60)
                    campaign = create_campaign(
                        self.session,
                        institution_id=inst.id,
                        instrument_version_id=versions[key].id,
                        year=year,
                        programme_ids=programme_ids,
                        name=f"{inst_code} {key} {year}",
                        opens_on=opens,
                        closes_on=closes,
                        status=CampaignStatus.OPEN if is_open else CampaignStatus.CLOSED,
                        # a reminder a week and two weeks after the invitation, as a
                        # quality office would set it (the campaign page shows it)
                        reminder_days=(7, 14),
                    )
                    create_invitations(
                        self.session,
                        campaign,
                        secret_key=secret_key,
                        language="uz" if inst_code == "QMII-NG" else "ru",
                    )
                    rate = 0.4 if is_open else self.rng.uniform(0.75, 0.97)
                    result.append((campaign, rate))
        self.session.flush()
        return result

    def responses(self, campaigns: list[tuple[Campaign, float]]) -> None:
        quality = {p.id: (q, domains) for p, q, domains in self.programmes}
        response_rows: list[Response] = []
        answers: list[dict[str, Any]] = []
        pending: list[tuple[Response, list[dict[str, Any]]]] = []
        for campaign, rate in campaigns:
            definition = campaign.instrument_version.definition
            items = [item for section in definition["sections"] for item in section["items"]]
            invitations = self.session.scalars(
                select(Invitation)
                .where(Invitation.campaign_id == campaign.id)
                .order_by(Invitation.id)
            ).all()
            for invitation in invitations:
                draw = self.rng.random()
                if draw >= rate + 0.05:
                    continue  # no answer
                draft = draw >= rate
                graduate = invitation.graduate
                level, (strong, weak) = quality[graduate.programme_id]
                latent = (
                    level
                    + 0.06 * (graduate.graduation_year - self.years[0])
                    + self.leniency[invitation.employer_id]
                    + self.rng.gauss(0, 0.45)
                )
                when = self._date_in(campaign.opens_on, min(campaign.closes_on, self.today))
                at = dt.datetime.combine(when, dt.time(9), tzinfo=dt.UTC) + dt.timedelta(
                    minutes=self.rng.randint(0, 600)
                )
                response = Response(
                    invitation_id=invitation.id,
                    instrument_version_id=campaign.instrument_version_id,
                    status=ResponseStatus.DRAFT if draft else ResponseStatus.SUBMITTED,
                    public_id=self._pseudonym("R"),
                    language=invitation.language,
                    started_at=at - dt.timedelta(minutes=self.rng.randint(3, 40)),
                    updated_at=at,
                    submitted_at=None if draft else at,
                )
                rows = self._answers(definition, items, latent, strong, weak, campaign, draft)
                response_rows.append(response)
                pending.append((response, rows))
        self.session.add_all(response_rows)
        self.session.flush()
        for response, rows in pending:
            for row in rows:
                row["response_id"] = response.id
            answers.extend(rows)
        insert_answer_rows(self.session, answers)
        self.session.flush()

    def _answers(
        self,
        definition: dict[str, Any],
        items: list[dict[str, Any]],
        latent: float,
        strong: str,
        weak: str,
        campaign: Campaign,
        draft: bool,
    ) -> list[dict[str, Any]]:
        rows = []
        domain_means: list[float] = []
        # how this graduate stands out in each domain: items of a domain agree more with each
        # other than with other domains' items, as in real competency ratings
        domain_effect: dict[str, float] = {}
        answered = len(items) if not draft else self.rng.randint(2, max(2, len(items) // 2))
        for item in items[:answered]:
            row = blank_answer_row(item["key"])
            kind = item["type"]
            if kind == "likert":
                domain = item["domain"]
                if item.get("allow_na") and domain not in ("overall",) and self.rng.random() < 0.05:
                    row["not_applicable"] = True
                else:
                    scale = self._scale(definition, item)
                    shift = 0.45 if domain == strong else -0.5 if domain == weak else 0.0
                    if domain == "overall":
                        mean = sum(domain_means) / len(domain_means) if domain_means else 3.7
                        value = mean + self.rng.gauss(0, 0.4)
                    else:
                        if domain not in domain_effect:
                            domain_effect[domain] = self.rng.gauss(0, 0.35)
                        value = (
                            3.75 + latent + shift + domain_effect[domain] + self.rng.gauss(0, 0.45)
                        )
                        domain_means.append(value)
                    row["number"] = float(_clip(round(value), scale[0], scale[1]))
            elif kind == "nps":
                scale = self._scale(definition, item)
                mean = sum(domain_means) / len(domain_means) if domain_means else 3.7
                value = 2.2 * mean - 0.3 + self.rng.gauss(0, 1.2)
                row["number"] = float(_clip(round(value), scale[0], scale[1]))
            elif kind == "single_choice":
                options = [o["key"] for o in item["options"]]
                weights = [max(0.05, 1.0 + latent * (1.5 - i)) for i in range(len(options))]
                row["choice"] = self.rng.choices(options, weights=weights)[0]
            elif kind == "multiple_choice":
                options = [o["key"] for o in item["options"]]
                row["choices"] = sorted(
                    self.rng.sample(options, self.rng.randint(1, min(3, len(options))))
                )
            elif kind == "date":
                start = dt.date(campaign.year, 8, 1)
                row["date"] = (
                    start
                    if "start" in item["key"]
                    else self._date_in(
                        dt.date(campaign.year + 1, 1, 1), min(campaign.closes_on, self.today)
                    )
                )
            elif kind == "short_text":
                row["text"] = self.rng.choice(("Muhandis", "Инженер-механик", "Engineer", "Usta"))
            elif kind == "long_text":
                if self.rng.random() < 0.3:
                    pool = names.GAPS if "gap" in item["key"] else names.STRENGTHS
                    row["text"] = self.rng.choice(pool)
                else:
                    continue
            rows.append(row)
        return rows

    @staticmethod
    def _scale(definition: dict[str, Any], item: dict[str, Any]) -> tuple[int, int]:
        scale = definition["scales"][item["scale"]]
        return int(scale["min"]), int(scale["max"])

    def users(self) -> list[tuple[str, str, str]]:
        accounts = [("admin@hamkor.example", Role.ADMIN, None, None)]
        for code in self.institutions:
            accounts.append((_staff_email(code), Role.STAFF, code, None))
        first_programme = self.programmes[0][0]
        accounts.append(("committee@hamkor.example", Role.COMMITTEE, "QMII-NG", None))
        accounts.append(("expert@hamkor.example", Role.COMMITTEE, "QMII-NG", first_programme.id))
        result = []
        for email, role, inst_code, programme_id in accounts:
            password = _new_password()
            user = User(
                email=email,
                password_hash=hash_password(password),
                role=role,
                institution=self.institutions[inst_code] if role == Role.STAFF else None,
            )
            self.session.add(user)
            if role == Role.COMMITTEE:
                self.session.add(
                    CommitteeAssignment(
                        user=user,
                        institution=self.institutions[inst_code],
                        programme_id=programme_id,
                    )
                )
            result.append((email, str(role), password))
        self.session.flush()
        return result


def _clip(value: float, low: int, high: int) -> int:
    return int(min(high, max(low, value)))


#: Typical first positions of graduates, by field of study.
POSITIONS = {
    "Mechanical engineering": (
        "Mechanical engineer",
        "Maintenance engineer",
        "Equipment technician",
        "Shift engineer",
    ),
    "Oil and gas engineering": (
        "Production engineer",
        "Well operator",
        "Field engineer",
        "Drilling engineer assistant",
    ),
    "Electrical engineering": (
        "Electrical engineer",
        "Relay protection engineer",
        "Substation technician",
    ),
    "Information technology": ("Software developer", "Network engineer", "IT support engineer"),
    "Civil engineering": ("Site engineer", "Design engineer", "Quantity surveyor"),
    "Materials engineering": ("Process engineer", "Quality control engineer", "Metallurgist"),
}
