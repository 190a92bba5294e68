"""Running a job for a slot exactly once, with a record of the run.

A run is claimed by inserting its (job, scheduled time) row, committed before any work: the
unique constraint lets exactly one process win, and a manual run of the same slot or a second
scheduler sees the claim and does nothing. The work and the run's "succeeded" mark commit
together (and only while the run is still this process's), so a run killed half-way leaves
nothing behind but a run row still "running", which :func:`mark_abandoned` turns into a
failure that may be retried.

Whether the process running a run is alive: on PostgreSQL it holds an advisory lock keyed by
the run's (job, slot) for as long as it works, which the server releases when the process or
its connection dies; elsewhere (SQLite, one machine) by its pid and a per-process token.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from models import JobRun, utcnow
from models.enums import JobRunStatus
from web.services.jobs import JOBS, get_job

from .tasks import TASKS, JobContext

log = logging.getLogger(__name__)

HOST = socket.gethostname()[:64]
#: This process: a restarted process may get the same pid (PID 1 in a container), not this.
OWNER = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
#: A run "running" this long on another host (SQLite) is taken for dead.
ABANDONED_AFTER = dt.timedelta(hours=12)
#: Runs of one job never overlap within a process (a queued and a scheduled run, say).
_JOB_LOCKS = {name: threading.Lock() for name in JOBS}
_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

Progress = Callable[[int, int], None]


def _postgres(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def _lock_key(name: str, slot: dt.datetime) -> tuple[int, int]:
    """The advisory-lock key of a (job, slot): two 31-bit numbers."""
    seconds = int((slot - _EPOCH).total_seconds())
    return zlib.crc32(name.encode()) & 0x7FFFFFFF, seconds & 0x7FFFFFFF


def _try_lock(db: Session, name: str, slot: dt.datetime) -> bool:
    if not _postgres(db):
        return True
    a, b = _lock_key(name, slot)
    return bool(db.scalar(sa.select(sa.func.pg_try_advisory_lock(a, b))))


def _unlock(db: Session, name: str, slot: dt.datetime) -> None:
    if _postgres(db):
        a, b = _lock_key(name, slot)
        try:
            db.scalar(sa.select(sa.func.pg_advisory_unlock(a, b)))
            db.commit()
        except DBAPIError:
            db.rollback()  # the connection is gone, and the lock with it


def _summary(error: BaseException) -> str:
    """What the jobs page shows of an error: its kind and first line, never SQL or data
    (the whole traceback is in the scheduler's log)."""
    cause = getattr(error, "orig", None) or error
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first}"[:500]


def _claim(
    db: Session, name: str, slot: dt.datetime, trigger: str, options: dict[str, Any] | None,
    retry: bool,
) -> int | None:  # fmt: skip
    """Insert the slot's run row (or take over its failed run); committed."""
    values = {"started_at": utcnow(), "host": HOST, "pid": os.getpid(), "owner": OWNER,
              "trigger": trigger, "status": JobRunStatus.RUNNING}  # fmt: skip
    try:
        run = JobRun(job_name=name, scheduled_at=slot, options=options or None, **values)
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
        .values(finished_at=None, error=None, **values)
        .returning(JobRun.id)
    ).scalar()
    db.commit()
    return taken


def _work(
    db: Session, run_id: int, config: dict[str, Any] | None, progress: Progress | None
) -> JobRun:
    """Do a claimed run's work; mark it succeeded in the same transaction, or failed."""
    run = db.get(JobRun, run_id)
    assert run is not None
    name = run.job_name
    ctx = JobContext(
        db=db, slot=run.scheduled_at, now=utcnow(), options=dict(run.options or {}),
        config=dict(config or {}), progress=progress or (lambda done, total: None),
    )  # fmt: skip
    log.info("任务 %s（%s）开始", name, run.scheduled_at.isoformat())
    try:
        counts = TASKS[name](ctx)
        finished = db.execute(
            sa.update(JobRun)
            .where(
                JobRun.id == run_id, JobRun.status == JobRunStatus.RUNNING, JobRun.owner == OWNER
            )  # fmt: skip
            .values(status=JobRunStatus.SUCCEEDED, counts=counts, finished_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
        if finished != 1:
            raise RuntimeError("运行记录已被其他进程接管，本次结果作废")
        db.commit()
        log.info("任务 %s 完成：%s", name, counts)
    except Exception as error:  # noqa: BLE001 - every failure is recorded on the run
        db.rollback()
        log.exception("任务 %s 失败", name)
        _mark_failed(db, run_id, _summary(error))
    db.expire_all()
    refreshed = db.get(JobRun, run_id)
    assert refreshed is not None
    return refreshed


def _mark_failed(db: Session, run_id: int, message: str, attempts: int = 5) -> None:
    """Record the failure; the database may itself be what failed, so try a few times."""
    for attempt in range(attempts):
        try:
            db.execute(
                sa.update(JobRun)
                .where(
                    JobRun.id == run_id,
                    JobRun.status == JobRunStatus.RUNNING,
                    JobRun.owner == OWNER,
                )  # fmt: skip
                .values(status=JobRunStatus.FAILED, error=message, finished_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            db.commit()
            return
        except DBAPIError:
            db.rollback()
            time.sleep(min(2**attempt, 10))
    log.error("无法记录任务运行 %s 的失败；它将在下次检查时被判为中断", run_id)


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
    """Claim and run one slot; None when another process has it (or had it).

    :raise NotFound: no job of that name.
    """
    get_job(name)
    with _JOB_LOCKS[name], factory() as db:
        if not _try_lock(db, name, slot):
            log.info("任务 %s（%s）正由其他进程运行，跳过", name, slot.isoformat())
            return None
        try:
            run_id = _claim(db, name, slot, trigger, options, retry)
            if run_id is None:
                log.info("任务 %s（%s）已有运行记录，跳过", name, slot.isoformat())
                return None
            return _work(db, run_id, config, progress)
        finally:
            _unlock(db, name, slot)


def mark_abandoned(factory: sessionmaker[Session], now: dt.datetime | None = None) -> int:
    """Runs left "running" by a process that is gone become failed (and may be retried)."""
    now = now or utcnow()
    marked = 0
    with factory() as db:
        running = db.execute(
            sa.select(JobRun.id, JobRun.job_name, JobRun.scheduled_at, JobRun.started_at,
                      JobRun.host, JobRun.pid, JobRun.owner)
            .where(JobRun.status == JobRunStatus.RUNNING)
        ).all()  # fmt: skip
        for run_id, name, slot, started_at, host, pid, owner in running:
            if _postgres(db):
                if not _try_lock(db, name, slot):
                    continue  # its process holds the lock: alive
                dead = True
            else:
                dead = (host == HOST and pid is not None and not _alive(pid, owner)) or (
                    now - started_at > ABANDONED_AFTER
                )
            if dead:
                # Only the run as read: a retry that took it over meanwhile is left alone.
                marked += db.execute(
                    sa.update(JobRun)
                    .where(
                        JobRun.id == run_id,
                        JobRun.status == JobRunStatus.RUNNING,
                        JobRun.started_at == started_at,
                    )  # fmt: skip
                    .values(
                        status=JobRunStatus.FAILED,
                        finished_at=now,
                        error="进程中断，任务未正常结束（可重试）。",
                    )  # fmt: skip
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
                db.commit()
            if _postgres(db):
                _unlock(db, name, slot)
    return marked


def _alive(pid: int, owner: str | None) -> bool:
    if pid == os.getpid():
        return owner == OWNER  # the same pid in a restarted process is another process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_queued(
    factory: sessionmaker[Session],
    *,
    config: dict[str, Any] | None = None,
    stop: threading.Event | None = None,
) -> list[JobRun]:
    """Run the queued manual runs (the scheduler's leader calls this as it polls)."""
    done = []
    with factory() as db:
        queued = db.execute(
            sa.select(JobRun.id, JobRun.job_name, JobRun.scheduled_at)
            .where(JobRun.status == JobRunStatus.QUEUED)
            .order_by(JobRun.id)
        ).all()
    for run_id, name, slot in queued:
        if stop is not None and stop.is_set():
            break
        with _JOB_LOCKS[name], factory() as db:
            if not _try_lock(db, name, slot):
                continue
            try:
                taken = db.execute(
                    sa.update(JobRun)
                    .where(JobRun.id == run_id, JobRun.status == JobRunStatus.QUEUED)
                    .values(
                        status=JobRunStatus.RUNNING,
                        started_at=utcnow(),
                        host=HOST,
                        pid=os.getpid(),
                        owner=OWNER,
                    )  # fmt: skip
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
                db.commit()
                if taken:
                    done.append(_work(db, run_id, config, None))
            finally:
                _unlock(db, name, slot)
    return done
