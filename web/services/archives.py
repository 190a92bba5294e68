"""归档: closed cases kept for the retention period, then archived, read-only, never deleted.

A referral is archived once it is closed (``CLOSED_REFERRAL_STATES``: completed, declined,
cancelled, expired), its follow-up (回访), if it has one, is recorded and any doubt it raised
resolved, and nothing has happened to it for ``CASE_RETENTION_DAYS``: its last timeline
step, the follow-up's record and the resolution all lie further back than that. A need is
archived with its referrals: once it is settled (fulfilled or closed; 部分满足 still waits for
help and is not), every referral it had is archived, and its own last change lies further
back too. A need closed without any referral is archived the same way.

Archiving sets ``archived_at``, nothing else: rows, timelines, episodes, follow-ups and
attachments stay where they are, every read works as before, and every change is refused
(:class:`~.errors.Archived`, HTTP 409; see ``referrals.guards.require_live`` and
``needs.require_live_need``). A household's dossier lists archived cases like any other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import FollowUp, Need, NeedEvent, Referral, ReferralEvent
from models.enums import CLOSED_REFERRAL_STATES, SETTLED_NEED_STATES

from .audit import write_audit

#: Three years (1,095 days). Archiving freezes a case; it deletes nothing and hides nothing,
#: so the period is how long a closed case may still need a correction: a late follow-up
#: doubt, a complaint, the half-year reports and the annual checks of the years after it
#: closed, a charity's own audit. Three years outlasts all of these with room to spare while
#: keeping the live tables small. Deployments whose records rules say otherwise set
#: ``CASE_RETENTION_DAYS``.
CASE_RETENTION_DAYS = 1095


@dataclass(frozen=True)
class Archiving:
    """What one run archived: referrals and needs, by count."""

    archived: int
    needs_archived: int


def _before(
    column: sa.orm.InstrumentedAttribute[dt.datetime | None] | sa.ColumnElement[dt.datetime],
    cutoff: dt.datetime,
) -> sa.ColumnElement[bool]:
    return sa.and_(column.is_not(None), column < cutoff)


def archive_closed_cases(
    db: Session, now: dt.datetime, retention_days: int = CASE_RETENTION_DAYS
) -> Archiving:
    """Archive the referrals, then the needs, closed longer than ``retention_days`` before
    ``now`` (see the module's docstring); a second run finds nothing new. Each archived
    referral's version moves on, so a form read before it is refused as stale. One audit
    record names what was archived. Flushes; never commits.

    :raise ValueError: a negative retention period.
    """
    if retention_days < 0:
        raise ValueError("CASE_RETENTION_DAYS must not be negative")
    cutoff = now - dt.timedelta(days=retention_days)
    last_step = (
        sa.select(sa.func.max(ReferralEvent.at))
        .where(ReferralEvent.referral_id == Referral.id)
        .scalar_subquery()
    )
    follow_up = sa.select(FollowUp).where(FollowUp.referral_id == Referral.id)
    unsettled_follow_up = follow_up.where(
        sa.or_(
            sa.not_(_before(FollowUp.done_at, cutoff)),
            sa.and_(FollowUp.flagged_at.is_not(None),
                    sa.not_(_before(FollowUp.resolved_at, cutoff))),
        )
    )  # fmt: skip
    referral_ids = list(
        db.scalars(
            sa.select(Referral.id)
            .where(
                Referral.archived_at.is_(None),
                Referral.status.in_(CLOSED_REFERRAL_STATES),
                sa.func.coalesce(last_step, Referral.updated_at) < cutoff,
                ~unsettled_follow_up.exists(),
            )
            .order_by(Referral.id)
        )
    )
    if referral_ids:
        db.execute(
            sa.update(Referral)
            .where(Referral.id.in_(referral_ids), Referral.archived_at.is_(None))
            .values(archived_at=now, version=Referral.version + 1)
            .execution_options(synchronize_session=False)
        )

    last_change = (
        sa.select(sa.func.max(NeedEvent.at)).where(NeedEvent.need_id == Need.id).scalar_subquery()
    )
    live_referral = sa.select(Referral.id).where(
        Referral.need_id == Need.id, Referral.archived_at.is_(None)
    )
    need_ids = list(
        db.scalars(
            sa.select(Need.id)
            .where(
                Need.archived_at.is_(None),
                Need.status.in_(SETTLED_NEED_STATES),
                sa.func.coalesce(last_change, Need.updated_at) < cutoff,
                ~live_referral.exists(),
            )
            .order_by(Need.id)
        )
    )
    if need_ids:
        db.execute(
            sa.update(Need)
            .where(Need.id.in_(need_ids), Need.archived_at.is_(None))
            .values(archived_at=now)
            .execution_options(synchronize_session=False)
        )
    if referral_ids or need_ids:
        # Rows already loaded in this session read the new marks, not the old ones.
        db.expire_all()
        write_audit(
            db, None, "case.archive", actor_name="system",
            detail={"retention_days": retention_days, "referrals": referral_ids,
                    "needs": need_ids},
        )  # fmt: skip
    db.flush()
    return Archiving(archived=len(referral_ids), needs_archived=len(need_ids))
