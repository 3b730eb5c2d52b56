"""Every model, imported in one place so that Alembic and ``create_all`` see them all."""

from surveys.admin.models import CommitteeAssignment
from surveys.api.models import ApiToken
from surveys.audit.models import AuditEvent
from surveys.auth.models import Role, User
from surveys.campaigns.models import (
    Campaign,
    CampaignStatus,
    DeliveryAttempt,
    DeliveryState,
    Invitation,
    campaign_programmes,
)
from surveys.datachanges import DataVersion
from surveys.indicators.models import IndicatorComputation, IndicatorRecord, IndicatorSettings
from surveys.instruments.models import Instrument, InstrumentKind, InstrumentVersion
from surveys.jobs.models import FilePurpose, Job, JobFile, JobState
from surveys.orm import Base
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
    "DeliveryAttempt",
    "DeliveryState",
    "Employer",
    "EmployerLink",
    "EmploymentRecord",
    "EmploymentStatus",
    "FilePurpose",
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
    "Job",
    "JobFile",
    "JobState",
    "PartnershipAgreement",
    "Programme",
    "ProgrammeLevel",
    "Response",
    "ResponseStatus",
    "Role",
    "User",
    "campaign_programmes",
]
