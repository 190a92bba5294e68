"""The scheduled jobs: what each does and when, in code (never pickled into a job store).

Times are Asia/Shanghai (``models.clock``). A job function takes a :class:`JobContext` and
returns its counts; it must be idempotent, because a slot may be caught up after an outage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session

from models.clock import TZ, local_date


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
        return local_date(self.slot)


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
