"""Every model, imported in one place so that Alembic and ``create_all`` see them all."""

from surveys.admin.models import CommitteeAssignment
from surveys.api.models import ApiToken
from surveys.audit.models import AuditEvent
from surveys.auth.models import Role, User
from surveys.campaigns.models import Campaign, CampaignStatus, Invitation, campaign_programmes
from surveys.datachanges import DataVersion
from surveys.indicators.models import IndicatorComputation, IndicatorRecord, IndicatorSettings
from surveys.instruments.models import Instrument, InstrumentKind, InstrumentVersion
from surveys.orm import Base
from surveys.registry.models import (
    AgreementKind,
    Employer,
    EmploymentRecord,
    EmploymentStatus,
    Graduate,
    Institution,
    Internship,
    PartnershipAgreement,
    Programme,
    ProgrammeLevel,
    institution_employers,
)
from surveys.responses.models import Answer, Response, ResponseStatus

__all__ = [
    "AgreementKind",
    "Answer",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Campaign",
    "CampaignStatus",
    "CommitteeAssignment",
    "DataVersion",
    "Employer",
    "EmploymentRecord",
    "EmploymentStatus",
    "Graduate",
    "IndicatorComputation",
    "IndicatorRecord",
    "IndicatorSettings",
    "Institution",
    "Instrument",
    "InstrumentKind",
    "InstrumentVersion",
    "Internship",
    "Invitation",
    "PartnershipAgreement",
    "Programme",
    "ProgrammeLevel",
    "Response",
    "ResponseStatus",
    "Role",
    "User",
    "campaign_programmes",
    "institution_employers",
]
