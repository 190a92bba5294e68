"""What each scheduled job does: plain functions calling the services, returning counts.

A task takes a :class:`JobContext` and returns its counts (kept on the run). Each is
idempotent: run twice for one slot, the second run finds nothing left to do, because a slot
may be caught up after an outage. When each job runs is in ``web.services.jobs.JOBS``;
``TASKS`` pairs each of those names with its function here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from matcher.training import TrainingResult
from models.clock import local_date, period_of
from web.services.archives import CASE_RETENTION_DAYS, archive_closed_cases
from web.services.ledgers import refresh_ledgers
from web.services.matching import train_matcher, training_figures
from web.services.needs import STALE_NEED_DAYS, alert_stale_needs
from web.services.projects import expire_projects as expire_project_rows
from web.services.referrals.followups import raise_overdue_follow_ups
from web.services.referrals.pairings import raise_missed_visits
from web.services.referrals.workflow import expire_unanswered, flag_overdue
from web.services.rematch import rematch_open_needs
from web.services.warnings import escalate_overdue, raise_warnings


@dataclass
class JobContext:
    db: Session
    #: The scheduled time this run is for (aware); a manual run's is when it was asked for.
    slot: dt.datetime
    now: dt.datetime
    options: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    #: ``progress(done, total)``; the command line draws a bar with it.
    progress: Callable[[int, int], None] = lambda done, total: None

    @property
    def local_day(self) -> dt.date:
        """The slot's day in Guangdong."""
        return local_date(self.slot)


JobFunction = Callable[[JobContext], dict[str, Any]]


def ledger_refresh(ctx: JobContext) -> dict[str, Any]:
    """Every department's edition for the half-year (the ``period`` option, else the slot's),
    and the stations told (``web.services.ledgers.refresh_ledgers``)."""
    period = ctx.options.get("period") or period_of(ctx.local_day)
    return asdict(refresh_ledgers(ctx.db, period, ctx.now, ctx.progress))


def expire_projects(ctx: JobContext) -> dict[str, Any]:
    """Projects past their end date, or with every place taken, leave the offer."""
    expired = expire_project_rows(ctx.db, ctx.local_day)
    ctx.progress(1, 1)
    return {"expired": len(expired)}


def stale_needs(ctx: JobContext) -> dict[str, Any]:
    """Needs open longer than ``STALE_NEED_DAYS`` with no referral under way, raised with
    their stations and offices (``web.services.stale_needs``)."""
    days = int(ctx.config.get("STALE_NEED_DAYS", STALE_NEED_DAYS))
    found = alert_stale_needs(ctx.db, ctx.now, days)
    ctx.progress(1, 1)
    return asdict(found)


def overdue_referrals(ctx: JobContext) -> dict[str, Any]:
    """Referrals past the charity's answer deadline expire (the place goes back, the need to
    the station); offices hear of those silent longer than ``REFERRAL_OVERDUE_DAYS``;
    stations hear of follow-ups (回访) past their day, once each; charities and stations hear
    of each month a pairing (结对帮扶) saw fewer visits than planned, once each."""
    days = int(ctx.config.get("REFERRAL_OVERDUE_DAYS", 3))
    expired = expire_unanswered(ctx.db, ctx.now)
    flagged = flag_overdue(ctx.db, ctx.now, days)
    follow_ups = raise_overdue_follow_ups(ctx.db, ctx.local_day, ctx.now)
    missed = raise_missed_visits(ctx.db, ctx.local_day, ctx.now)
    ctx.progress(1, 1)
    return {
        "expired": expired,
        "flagged": flagged,
        "follow_ups_overdue": follow_ups,
        "missed_visits": missed,
    }


def retrain_matcher(ctx: JobContext) -> dict[str, Any]:
    """Fit a model on the referral outcomes so far; promoted only if it predicts acceptance
    better than the active one and ranks no case file worse (``train_matcher``). The run keeps
    both measures, candidate against active, and the reasons for a refusal."""
    result = train_matcher(ctx.db, None, ctx.local_day)
    ctx.progress(1, 1)
    return training_run_counts(result)


def training_run_counts(result: TrainingResult) -> dict[str, Any]:
    """What a training run records (the 定时任务 page shows it)."""
    return {
        "outcomes": result.outcomes,
        "model": result.model.name if result.model else None,
        "message": result.message,
        **training_figures(result),
    }


def monitoring_rules(ctx: JobContext) -> dict[str, Any]:
    """监测预警规则运行: the warning rules over every monitoring record (a county's settings
    for its records), new warnings to their stations, then open warnings past their day raised
    to the county office (``web.services.warnings``). Evidence already behind a warning
    raises nothing again, so a second run of a slot changes nothing."""
    raised = raise_warnings(ctx.db, ctx.local_day, ctx.now, hashes=None)
    ctx.progress(1, 2)
    escalated = escalate_overdue(ctx.db, ctx.local_day, ctx.now)
    ctx.progress(2, 2)
    return {"raised": raised, "escalated": escalated}


def rematch(ctx: JobContext) -> dict[str, Any]:
    """Every waiting need matched again against the ledgers in effect on the slot's day, the
    stations whose needs gained suitable projects told (``web.services.rematch``). Daily, as
    an edition built ahead takes effect at midnight with nothing written; a second run finds
    nothing new and tells no one."""
    result = rematch_open_needs(
        ctx.db, None, today=ctx.local_day, now=ctx.now, progress=ctx.progress
    )
    return result.counts()


def archive_cases(ctx: JobContext) -> dict[str, Any]:
    """Closed cases kept longer than ``CASE_RETENTION_DAYS`` archived, read-only, never
    deleted (``web.services.archives``); a second run finds nothing new."""
    days = int(ctx.config.get("CASE_RETENTION_DAYS", CASE_RETENTION_DAYS))
    result = archive_closed_cases(ctx.db, ctx.now, days)
    ctx.progress(1, 1)
    return asdict(result)


#: The function of each job in ``web.services.jobs.JOBS``.
TASKS: dict[str, JobFunction] = {
    "ledger_refresh": ledger_refresh,
    "expire_projects": expire_projects,
    "stale_needs": stale_needs,
    "overdue_referrals": overdue_referrals,
    "retrain_matcher": retrain_matcher,
    "monitoring_rules": monitoring_rules,
    "rematch": rematch,
    "archive_cases": archive_cases,
}
