"""Who hears of each referral step: the household's station, the office covering it (and
the approver), the charity owning the project (for a local resource, the station answerable
for it). Messages name the referral, never the
household.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import Referral
from models.enums import Urgency

from ..notifications import notify, office_users, organization_users, station_users


def _link(referral: Referral) -> str:
    return f"/referrals/{referral.id}"


def _describe(referral: Referral) -> str:
    need = referral.need
    urgent = "【急难】" if need.urgency == Urgency.URGENT else ""
    simplified = "【简化程序】" if referral.is_simplified else ""
    project = referral.project
    return f"{urgent}{simplified}转介 {referral.id}（{need.domain.label}·{project.name}）"


def tell(db: Session, referral: Referral, who: list[int], kind: str, text: str) -> None:
    """Put ``text``, after a line naming the referral, in the inbox of each of ``who``."""
    notify(db, who, kind, f"{_describe(referral)}{text}", referral_id=referral.id,
           link=_link(referral))  # fmt: skip


def to_station(db: Session, referral: Referral) -> list[int]:
    """The staff of the household's station."""
    return station_users(db, referral.need.household.station_id)


def to_office(db: Session, referral: Referral) -> list[int]:
    """The civil-affairs staff covering the household, and whoever approved the referral."""
    people = office_users(db, referral.need.household.region_code)
    if referral.approved_by_id is not None:
        people.append(referral.approved_by_id)
    return people


def to_charity(db: Session, referral: Referral) -> list[int]:
    """The staff of the charity owning the project; for a local resource (本地资源), the
    staff of the station answerable for it."""
    organization = referral.project.organization
    if organization.is_local and organization.responsible_station_id is not None:
        return station_users(db, organization.responsible_station_id)
    return organization_users(db, organization.id)
