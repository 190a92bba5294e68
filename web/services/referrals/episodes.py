"""Service episodes: the visits, sessions, classes and payments a charity logs while a
referral is in service, and what they add up to on completion.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from models import ServiceEpisode, User, clock
from models.enums import ReferralStatus, ServiceType

from ..audit import write_audit
from ..errors import Conflict, ValidationFailed
from .guards import referral_for_provider

S = ReferralStatus


@dataclass(frozen=True)
class EpisodeInput:
    on: dt.date
    kind: ServiceType
    quantity: int = 1
    unit: str = "次"
    value_fen: int = 0
    note: str | None = None


def add_episode(
    db: Session, actor: User, referral_id: int, data: EpisodeInput, *, today: dt.date
) -> ServiceEpisode:
    """Log one visit, session or class delivered while the referral is in service."""
    referral = referral_for_provider(db, actor, referral_id, None)
    if referral.status != S.IN_SERVICE:
        raise Conflict(f"该转介当前为“{referral.status.label}”，只有服务中的转介可以登记服务记录。")
    errors: dict[str, list[str]] = {}
    if data.on > today:
        errors["on"] = ["服务日期不能晚于今天。"]
    started_on = clock.local_date(referral.started_at) if referral.started_at else None
    if started_on is not None and data.on < started_on - dt.timedelta(days=1):
        errors["on"] = ["服务日期不能早于开始服务的日期。"]
    if data.quantity < 1:
        errors["quantity"] = ["数量至少为 1。"]
    if data.value_fen < 0:
        errors["value_fen"] = ["金额不能为负数。"]
    if errors:
        raise ValidationFailed(fields=errors)
    episode = ServiceEpisode(
        referral_id=referral.id, on=data.on, kind=data.kind, quantity=data.quantity,
        unit=(data.unit or "次").strip()[:16] or "次", value_fen=data.value_fen,
        note=(data.note or "").strip() or None, created_by_id=actor.id,
    )  # fmt: skip
    db.add(episode)
    db.flush()
    write_audit(
        db, actor, "referral.episode", referral,
        region_code=referral.need.household.region_code,
        detail={"kind": data.kind.value, "quantity": data.quantity, "value_fen": data.value_fen},
    )  # fmt: skip
    return episode


def episode_summary(episodes: list[ServiceEpisode]) -> str:
    """``探访关爱 4 次；心理慰藉 2 次``: what the episodes add up to."""
    totals: Counter[tuple[str, str]] = Counter()
    for e in episodes:
        totals[(e.kind.label, e.unit)] += e.quantity
    return "；".join(f"{kind} {n} {unit}" for (kind, unit), n in totals.items())


def episode_view(e: ServiceEpisode) -> dict[str, Any]:
    """One episode as the pages and the API show it."""
    return {
        "id": e.id, "on": e.on, "kind": e.kind.value, "kind_label": e.kind.label,
        "quantity": e.quantity, "unit": e.unit, "value_fen": e.value_fen, "note": e.note,
    }  # fmt: skip
