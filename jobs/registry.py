"""The scheduled jobs: what each does and when, in code (never pickled into a job store).

Times are Asia/Shanghai. A job function takes a :class:`JobContext` and returns its counts;
it must be idempotent, because a slot may be caught up after an outage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session

TZ = ZoneInfo("Asia/Shanghai")


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
        return self.slot.astimezone(TZ).date()


JobFunction = Callable[[JobContext], dict[str, Any]]


@dataclass(frozen=True)
class Job:
    name: str
    label: str
    schedule: str  # in words, for people
    cron: dict[str, str]  # APScheduler CronTrigger fields
    func: JobFunction

    def trigger(self, overrides: dict[str, dict[str, str]] | None = None) -> CronTrigger:
        """The job's cron trigger; ``overrides`` (``JOB_SCHEDULES``) replace its fields."""
        fields = (overrides or {}).get(self.name) or self.cron
        return CronTrigger(timezone=TZ, **fields)


def latest_slot(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The last time ``trigger`` fired at or before ``now`` (None if not within a year).

    APScheduler only looks forward, so this walks forward from ever earlier starting points.
    """
    for back in (dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1),
                 dt.timedelta(days=32), dt.timedelta(days=367)):  # fmt: skip
        found = None
        at = trigger.get_next_fire_time(None, now - back)
        while at is not None and at <= now:
            found = at
            at = trigger.get_next_fire_time(at, at + dt.timedelta(microseconds=1))
        if found is not None:
            return found
    return None


def first_slot_on(trigger: CronTrigger, day: dt.date) -> dt.datetime:
    """The first time ``trigger`` fires on or after the start of ``day`` (local time)."""
    at = trigger.get_next_fire_time(None, dt.datetime.combine(day, dt.time(0), TZ))
    assert at is not None
    return at


def period_slot(trigger: CronTrigger, period: str) -> dt.datetime:
    """A half-year's own slot (``2027H1`` → its first firing, 00:30 on 1 January): a run for
    that half-year by hand is the same claim as the scheduler's run of it.

    :raise ValidationFailed: not a half-year.
    """
    from web.services.ledgers import period_bounds

    return first_slot_on(trigger, period_bounds(period)[0])


def next_slot(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The first time ``trigger`` fires after ``now``."""
    return trigger.get_next_fire_time(None, now + dt.timedelta(microseconds=1))


def _jobs() -> dict[str, Job]:
    from . import tasks

    jobs = [
        Job("ledger_refresh", "半年度台账更新", "每年 1 月 1 日、7 月 1 日 00:30",
            {"month": "1,7", "day": "1", "hour": "0", "minute": "30"}, tasks.ledger_refresh),
        Job("expire_projects", "项目到期处理", "每天 01:00",
            {"hour": "1", "minute": "0"}, tasks.expire_projects),
        Job("stale_needs", "久未对接需求提醒", "每天 07:00",
            {"hour": "7", "minute": "0"}, tasks.stale_needs),
        Job("overdue_referrals", "转介逾期处理", "每天 07:30",
            {"hour": "7", "minute": "30"}, tasks.overdue_referrals),
        Job("retrain_matcher", "匹配模型重新训练", "每周一 02:00",
            {"day_of_week": "mon", "hour": "2", "minute": "0"}, tasks.retrain_matcher),
    ]  # fmt: skip
    return {job.name: job for job in jobs}


JOBS: dict[str, Job] = _jobs()
