"""The scheduled jobs as people see them: which jobs there are and when they run, a run
queued by hand, and the runs so far.

The list of jobs lives here, not in ``jobs/``, because the jobs page, the API and this
service need the names, labels and schedules, and services never import ``jobs``; the
scheduler and the runner (``jobs/``) read it from here and pair each name with its task
(``jobs.tasks.TASKS``). Times are Asia/Shanghai (``models.clock``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import JobRun, SchedulerLease, User, utcnow
from models.clock import TZ, next_slot, period_slot
from models.enums import JobRunStatus, Role
from models.session import add_unless_taken

from .audit import write_audit
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .ledgers import check_period
from .rematch import AFTER_REFRESH
from .scoping import require_role, scoped

#: A queued run no scheduler has picked up in this long is given up.
QUEUE_TIMEOUT = dt.timedelta(hours=1)
#: A scheduler process reports in far more often than this (every few seconds); with no
#: report for this long, the jobs page warns that nothing will run.
HEARTBEAT_FRESH = dt.timedelta(minutes=2)
#: The heartbeat's row among the scheduler leases: its ``expires_at`` is when the latest
#: report goes stale (reported at + ``HEARTBEAT_FRESH``), its holder the process that sent it.
HEARTBEAT = "heartbeat"


@dataclass(frozen=True)
class Job:
    name: str
    label: str
    schedule: str  # in words, for people
    cron: dict[str, str]  # APScheduler CronTrigger fields

    def trigger(self, overrides: dict[str, dict[str, str]] | None = None) -> CronTrigger:
        """The job's cron trigger; ``overrides`` (``JOB_SCHEDULES``) replace its fields."""
        fields = (overrides or {}).get(self.name) or self.cron
        return CronTrigger(timezone=TZ, **fields)


#: Every scheduled job, in the order the jobs page lists them.
JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "ledger_refresh",
            "半年度台账更新",
            "每年 1 月 1 日、7 月 1 日 00:30",
            {"month": "1,7", "day": "1", "hour": "0", "minute": "30"},
        ),
        Job("expire_projects", "项目到期处理", "每天 01:00", {"hour": "1", "minute": "0"}),
        Job("stale_needs", "久未对接需求提醒", "每天 07:00", {"hour": "7", "minute": "0"}),
        Job("overdue_referrals", "转介逾期处理", "每天 07:30", {"hour": "7", "minute": "30"}),
        Job(
            "retrain_matcher",
            "匹配模型重新训练",
            "每周一 02:00",
            {"day_of_week": "mon", "hour": "2", "minute": "0"},
        ),
        Job("monitoring_rules", "监测预警规则运行", "每天 02:30", {"hour": "2", "minute": "30"}),
        Job("rematch", "待办需求重新匹配", "每天 03:10", {"hour": "3", "minute": "10"}),
        Job("archive_cases", "结案归档", "每天 04:00", {"hour": "4", "minute": "0"}),
    )  # fmt: skip
}

#: How a run came about, in words (``JobRun.trigger``).
TRIGGER_LABELS = {
    "schedule": "按计划",
    "catch_up": "补跑",
    "manual": "手动",
    AFTER_REFRESH: "台账更新后",
}

#: What a run's counts count, in words (the jobs page shows the counts, never their keys).
COUNT_LABELS = {
    "period": "期次",
    "departments": "部门",
    "published": "已发布",
    "skipped": "未变动",
    "projects": "项目",
    "notified": "已通知",
    "expired": "已到期",
    "flagged": "已提醒",
    "needs": "需求",
    "stations": "服务站",
    "outcomes": "转介结果",
    "model": "模型",
    "message": "说明",
    "raised": "新增预警",
    "escalated": "逾期上报",
    "baseline": "首次记录",
    "gained_needs": "有新合适项目的需求",
    "gained_projects": "新出现的合适项目",
    "stations_notified": "已通知服务站",
    "seconds": "用时（秒）",
    "rematched": "重新匹配需求",
    "rematch_queued": "待办需求重新匹配已排队",
    "follow_ups_overdue": "回访逾期提醒",
    "missed_visits": "结对探访不足提醒",
    "archived": "已归档转介",
    "needs_archived": "已归档需求",
}


def record_heartbeat(db: Session, holder: str, now: dt.datetime) -> None:
    """A scheduler process (leader or standby) reports that it is running; commits."""
    values = {"holder": holder, "expires_at": now + HEARTBEAT_FRESH}
    updated = db.execute(
        sa.update(SchedulerLease).where(SchedulerLease.name == HEARTBEAT).values(**values)
    ).rowcount  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
    if not updated:
        db.add(SchedulerLease(name=HEARTBEAT, **values))
    try:
        db.commit()
    except IntegrityError:
        db.rollback()  # another process reported at the same moment: its report stands


def clear_heartbeat(db: Session, holder: str) -> None:
    """A scheduler process that stops withdraws its report (if it was the latest); commits."""
    db.execute(
        sa.delete(SchedulerLease).where(
            SchedulerLease.name == HEARTBEAT, SchedulerLease.holder == holder
        )
    )
    db.commit()


def scheduler_reported_at(db: Session, now: dt.datetime) -> dt.datetime | None:
    """When a scheduler process last reported in, if within ``HEARTBEAT_FRESH`` of ``now``."""
    expires_at = db.scalar(
        sa.select(SchedulerLease.expires_at).where(SchedulerLease.name == HEARTBEAT)
    )
    if expires_at is None or expires_at <= now:
        return None
    return expires_at - HEARTBEAT_FRESH


def get_job(name: str) -> Job:
    """:raise NotFound: no job of that name."""
    try:
        return JOBS[name]
    except KeyError:
        raise NotFound(f"没有名为 {name} 的任务。") from None


def queue_run(db: Session, actor: User, name: str, options: dict[str, Any] | None = None) -> JobRun:
    """Ask the scheduler process to run a job now (administrators only). A ledger refresh
    for a given half-year is queued for that half-year's slot, so it is the same claim as the
    scheduler's own run of it. A request no scheduler picked up within ``QUEUE_TIMEOUT`` is
    marked failed first, so it does not block this one.

    :raise Forbidden: not an administrator.
    :raise NotFound: no such job.
    :raise ValidationFailed: a period for another job than the ledger refresh, or not a
        half-year.
    :raise Conflict: the job is already waiting, or that half-year's refresh has run.
    """
    if actor.role != Role.ADMIN:
        raise Forbidden("只有系统管理员可以手动运行任务。")
    job = get_job(name)
    period = (options or {}).get("period")
    now = utcnow()
    if period and name != "ledger_refresh":
        raise ValidationFailed(fields={"period": ["只有半年度台账更新可以指定期次。"]})
    if period:
        check_period(period)
    slot = period_slot(job.trigger(), period) if period else now
    db.execute(
        sa.update(JobRun)
        .where(
            JobRun.job_name == name,
            JobRun.status == JobRunStatus.QUEUED,
            JobRun.started_at < now - QUEUE_TIMEOUT,
        )  # fmt: skip
        .values(status=JobRunStatus.FAILED, finished_at=now, error="一小时内没有调度进程执行。")
        .execution_options(synchronize_session=False)
    )
    run = JobRun(
        job_name=name, scheduled_at=slot, started_at=now, trigger="manual",
        status=JobRunStatus.QUEUED, requested_by_id=actor.id, options=options or None,
    )  # fmt: skip
    if not add_unless_taken(db, run):
        raise Conflict(
            "该任务已在等待执行，或该期次的台账更新已经运行过。"
            if period else "该任务已在等待执行。"
        )  # fmt: skip
    write_audit(db, actor, "job.queue", run, detail={"job": name, "options": options})
    return run


def list_runs(
    db: Session, actor: User, *, job_name: str | None = None, limit: int = 50
) -> list[JobRun]:
    """The latest runs the actor may see (civil-affairs staff and administrators), newest
    first."""
    stmt = scoped(sa.select(JobRun), actor)
    if job_name:
        stmt = stmt.where(JobRun.job_name == job_name)
    return list(db.scalars(stmt.order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)))


def last_runs(db: Session) -> dict[str, JobRun]:
    """The latest run of each job (for the scheduler's command line and the overview)."""
    latest = (
        sa.select(JobRun.job_name, sa.func.max(JobRun.id).label("id"))
        .group_by(JobRun.job_name)
        .subquery()
    )
    runs = db.scalars(sa.select(JobRun).join(latest, latest.c.id == JobRun.id))
    return {run.job_name: run for run in runs}


def job_overview(
    db: Session,
    actor: User,
    overrides: dict[str, dict[str, str]],
    *,
    job_name: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Each job with its schedule, next slot (under ``overrides``) and last run, the recent
    runs, and when a scheduler process last reported in (None: none in the last two minutes,
    so neither scheduled nor queued runs will happen).

    :raise Forbidden: not civil-affairs staff or an administrator.
    """
    require_role(actor, Role.CIVIL_AFFAIRS)
    now = utcnow()
    last = last_runs(db)
    jobs = [
        {"name": job.name, "label": job.label, "schedule": job.schedule,
         "next_at": next_slot(job.trigger(overrides), now), "last_run": last.get(job.name)}
        for job in JOBS.values()
    ]  # fmt: skip
    return {
        "jobs": jobs,
        "runs": list_runs(db, actor, job_name=job_name, limit=limit),
        "scheduler_seen_at": scheduler_reported_at(db, now),
    }
