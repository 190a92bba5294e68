"""SQLAlchemy models of the service. Imports nothing from web/, jobs/ or matcher/."""

from .allocation import AllocationPlan, AllocationPlanLine
from .attachments import Attachment
from .audit import AuditLog
from .base import Base, utcnow
from .followups import FollowUp
from .households import GovAid, Household, Member, Need, NeedEvent, Station
from .jobs import JobRun, ModelVersion, SchedulerLease
from .ledgers import LedgerEdition, LedgerEntry
from .monitoring import MonitoringBatch, MonitoringRecord, MonitoringWarning, WarningRuleSetting
from .pairings import Pairing, PairingAlert
from .projects import Organization, Project, ProjectArea
from .referrals import BackReferral, Notification, Referral, ReferralEvent, ServiceEpisode
from .regions import CountySetting, Region
from .stats import StatsSnapshot
from .users import ApiToken, LoginThrottle, User

__all__ = [
    "AllocationPlan",
    "AllocationPlanLine",
    "ApiToken",
    "Attachment",
    "CountySetting",
    "FollowUp",
    "LoginThrottle",
    "AuditLog",
    "BackReferral",
    "Base",
    "GovAid",
    "Household",
    "JobRun",
    "LedgerEdition",
    "LedgerEntry",
    "Member",
    "ModelVersion",
    "MonitoringBatch",
    "MonitoringRecord",
    "MonitoringWarning",
    "Notification",
    "Need",
    "NeedEvent",
    "Organization",
    "Pairing",
    "PairingAlert",
    "Project",
    "ProjectArea",
    "Referral",
    "ReferralEvent",
    "Region",
    "SchedulerLease",
    "ServiceEpisode",
    "Station",
    "StatsSnapshot",
    "User",
    "WarningRuleSetting",
    "utcnow",
]
