"""Running a job for a slot exactly once, with a record of the run.

A run is claimed by inserting its (job, scheduled time) row, committed before any work: the
unique constraint lets exactly one process win, and a manual run of the same slot or a second
scheduler sees the claim and does nothing. The work and the run's "succeeded" mark commit
together, so a run killed half-way leaves nothing behind but a run row still "running", which
:func:`mark_abandoned` turns into a failure that may be retried.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import traceback
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from models import JobRun, User, utcnow
from models.enums import JobRunStatus, Role
from web.services.audit import write_audit
from web.services.errors import Conflict, Forbidden, NotFound
from web.services.scoping import scoped

from .registry import JOBS, JobContext

log = logging.getLogger(__name__)

HOST = socket.gethostname()[:128]
#: A run "running" this long on another host is taken for dead.
ABANDONED_AFTER = dt.timedelta(hours=12)

Progress = Callable[[int, int], None]


def _job(name: str) -> Any:
    try:
        return JOBS[name]
    except KeyError:
        raise NotFound(f"没有名为 {name} 的任务。") from None


def claim(
    factory: sessionmaker[Session],
    name: str,
    slot: dt.datetime,
    *,
    trigger: str = "schedule",
    options: dict[str, Any] | None = None,
    retry: bool = False,
) -> int | None:
    """Claim the slot (or, with ``retry``, take over its failed run); the run's id, or None
    when another process has it."""
    _job(name)
    with factory() as db:
        try:
            run = JobRun(
                job_name=name, scheduled_at=slot, started_at=utcnow(), trigger=trigger,
                host=HOST, pid=os.getpid(), options=options or None,
                status=JobRunStatus.RUNNING,
            )  # fmt: skip
            db.add(run)
            db.commit()
            return run.id
        except IntegrityError:
            db.rollback()
        if not retry:
            return None
        taken = db.execute(
            sa.update(JobRun)
            .where(
                JobRun.job_name == name,
                JobRun.scheduled_at == slot,
                JobRun.status == JobRunStatus.FAILED,
            )
            .values(
                status=JobRunStatus.RUNNING,
                started_at=utcnow(),
                finished_at=None,
                host=HOST,
                pid=os.getpid(),
                error=None,
                trigger=trigger,
            )  # fmt: skip
            .returning(JobRun.id)
        ).scalar()
        db.commit()
        return taken


def execute(
    factory: sessionmaker[Session],
    run_id: int,
    *,
    config: dict[str, Any] | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> JobRun:
    """Do a claimed run's work; mark it succeeded with its counts in the same transaction,
    or failed with the error (the work rolled back)."""
    with factory() as db:
        run = db.get(JobRun, run_id)
        assert run is not None and run.status == JobRunStatus.RUNNING
        job = _job(run.job_name)
        ctx = JobContext(
            db=db, slot=run.scheduled_at, now=now or utcnow(), options=dict(run.options or {}),
            config=dict(config or {}), progress=progress or (lambda done, total: None),
        )  # fmt: skip
        log.info("任务 %s（%s）开始", job.name, run.scheduled_at.isoformat())
        try:
            counts = job.func(ctx)
            run.status = JobRunStatus.SUCCEEDED
            run.counts = counts
            run.finished_at = utcnow()
            db.commit()
            log.info("任务 %s 完成：%s", job.name, counts)
            return run
        except Exception as error:  # noqa: BLE001 - any failure is recorded, then re-raised no more
            db.rollback()
            log.exception("任务 %s 失败", job.name)
            message = "".join(traceback.format_exception_only(type(error), error)).strip()
    with factory() as db:
        run = db.get(JobRun, run_id)
        assert run is not None
        run.status = JobRunStatus.FAILED
        run.error = message[:4000]
        run.finished_at = utcnow()
        db.commit()
        return run


def run_slot(
    factory: sessionmaker[Session],
    name: str,
    slot: dt.datetime,
    *,
    trigger: str = "schedule",
    options: dict[str, Any] | None = None,
    retry: bool = False,
    config: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> JobRun | None:
    """Claim and run one slot; None when it was already claimed."""
    run_id = claim(factory, name, slot, trigger=trigger, options=options, retry=retry)
    if run_id is None:
        log.info("任务 %s（%s）已由其他进程认领，跳过", name, slot.isoformat())
        return None
    return execute(factory, run_id, config=config, progress=progress)


def mark_abandoned(factory: sessionmaker[Session], now: dt.datetime | None = None) -> int:
    """Runs left "running" by a process that is gone become failed (and may be retried):
    on this host, when their process no longer exists; elsewhere, after ``ABANDONED_AFTER``."""
    now = now or utcnow()
    with factory() as db:
        running = db.scalars(sa.select(JobRun).where(JobRun.status == JobRunStatus.RUNNING)).all()
        gone = [
            run for run in running
            if (run.host == HOST and run.pid is not None and not _alive(run.pid))
            or now - run.started_at > ABANDONED_AFTER
        ]  # fmt: skip
        for run in gone:
            run.status = JobRunStatus.FAILED
            run.finished_at = now
            run.error = "进程中断，任务未正常结束（可重试）。"
        db.commit()
        return len(gone)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- manual runs from the jobs page -----------------------------------------------------


def queue_run(db: Session, actor: User, name: str, options: dict[str, Any] | None = None) -> JobRun:
    """Ask the scheduler process to run a job now (administrators only)."""
    if actor.role != Role.ADMIN:
        raise Forbidden("只有系统管理员可以手动运行任务。")
    _job(name)
    waiting = db.scalar(
        sa.select(JobRun.id).where(JobRun.job_name == name, JobRun.status == JobRunStatus.QUEUED)
    )
    if waiting is not None:
        raise Conflict("该任务已在等待执行。")
    now = utcnow()
    run = JobRun(
        job_name=name, scheduled_at=now, started_at=now, trigger="manual",
        status=JobRunStatus.QUEUED, requested_by_id=actor.id, options=options or None,
    )  # fmt: skip
    db.add(run)
    db.flush()
    write_audit(db, actor, "job.queue", run, detail={"job": name, "options": options})
    return run


def run_queued(
    factory: sessionmaker[Session], *, config: dict[str, Any] | None = None
) -> list[JobRun]:
    """Run the queued manual runs (the scheduler's leader calls this as it polls)."""
    done = []
    with factory() as db:
        queued = list(
            db.scalars(
                sa.select(JobRun.id).where(JobRun.status == JobRunStatus.QUEUED).order_by(JobRun.id)
            )
        )
    for run_id in queued:
        with factory() as db:
            taken = db.execute(
                sa.update(JobRun)
                .where(JobRun.id == run_id, JobRun.status == JobRunStatus.QUEUED)
                .values(
                    status=JobRunStatus.RUNNING, started_at=utcnow(), host=HOST, pid=os.getpid()
                )  # fmt: skip
            ).rowcount  # type: ignore[attr-defined]
            db.commit()
        if taken:
            done.append(execute(factory, run_id, config=config))
    return done


def list_runs(
    db: Session, actor: User, *, job_name: str | None = None, limit: int = 50
) -> list[JobRun]:
    stmt = scoped(sa.select(JobRun), actor)
    if job_name:
        stmt = stmt.where(JobRun.job_name == job_name)
    return list(db.scalars(stmt.order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)))


def last_runs(db: Session) -> dict[str, JobRun]:
    """The latest run of each job."""
    latest = (
        sa.select(JobRun.job_name, sa.func.max(JobRun.id).label("id"))
        .group_by(JobRun.job_name)
        .subquery()
    )
    runs = db.scalars(sa.select(JobRun).join(latest, latest.c.id == JobRun.id))
    return {run.job_name: run for run in runs}
