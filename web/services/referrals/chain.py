"""One household, one chain (一户一条救助链): a household's government aid and charity
referrals in one list, for the station and the office.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import GovAid, Household, Need, Project, Referral, User, clock
from models.enums import Domain

from ..scoping import require_role
from .guards import STATION_SIDE


@dataclass(frozen=True)
class ChainEntry:
    on: dt.date
    kind: str  # "gov_aid" | "referral"
    title: str
    detail: str
    status: str | None = None
    referral_id: int | None = None


def household_chain(db: Session, actor: User, household: Household) -> list[ChainEntry]:
    """Every government aid record and every referral of a household, newest first
    (一户一条救助链). The caller has already read the household within scope."""
    require_role(actor, *STATION_SIDE)
    entries = [
        ChainEntry(
            on=aid.period_start_on,
            kind="gov_aid",
            title=aid.aid_type.label,
            detail=f"{aid.amount_fen / 100:,.2f} 元" + (f" · {aid.note}" if aid.note else ""),
        )  # fmt: skip
        for aid in db.scalars(sa.select(GovAid).where(GovAid.household_id == household.id))
    ]
    rows = db.execute(
        sa.select(Referral, Project.name, Need.domain)
        .join(Project, Project.id == Referral.project_id)
        .join(Need, Need.id == Referral.need_id)
        .where(Need.household_id == household.id)
    ).all()
    for referral, project_name, domain in rows:
        delivered = (
            f" · 已帮扶 {referral.delivered_amount_fen / 100:,.2f} 元"
            if referral.delivered_amount_fen else ""
        )  # fmt: skip
        entries.append(
            ChainEntry(
                on=clock.local_date(referral.submitted_at or referral.created_at),
                kind="referral",
                title=f"转介：{project_name}",
                detail=f"{Domain(domain).label}{delivered}",
                status=referral.status.label,
                referral_id=referral.id,
            )  # fmt: skip
        )
    return sorted(entries, key=lambda e: e.on, reverse=True)
