"""The scheduler process (``flask jobs scheduler``): one leader schedules, the others wait.

Several processes may run for availability. Only the holder of the leader lock schedules:
a PostgreSQL advisory lock held on its own connection (released by the server when the
process dies), or on SQLite a lease row the leader renews. APScheduler 3 runs in the leader
with an in-memory job store (job definitions stay in code; what ran is in ``job_runs``),
coalescing, one instance per job, and an hour's grace for a late firing. On becoming leader
it first catches up: each job's latest slot that has no run yet is run once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from models import JobRun, SchedulerLease, utcnow
from models.clock import TZ, latest_slot
from models.enums import JobRunStatus
from web.services.jobs import JOBS, clear_heartbeat, record_heartbeat
from web.services.stats_snapshots import SNAPSHOT_EVERY, count_snapshots

from .runs import HOST, OWNER, mark_abandoned, run_queued, run_slot

log = logging.getLogger(__name__)

#: The advisory lock key: "cishan" in ASCII, so other applications' keys do not collide.
ADVISORY_KEY = 0x636973686E
LEASE = "scheduler"
#: A slot is caught up by the leader's poll only once APScheduler has had this long to fire it.
CATCH_UP_GRACE = dt.timedelta(minutes=1)
#: Seconds between a process's heartbeats at most (the jobs page warns after two minutes).
HEARTBEAT_EVERY = 30.0

Clock = Callable[[], dt.datetime]


class AdvisoryLeadership:
    """Leadership as a PostgreSQL session-level advisory lock on a connection of its own."""

    def __init__(self, engine: Engine) -> None:
        # A connection of its own, never pooled, that gives up on a dead server in seconds.
        self.engine = sa.create_engine(
            engine.url, poolclass=NullPool,
            connect_args={"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 10,
                          "keepalives_interval": 5, "keepalives_count": 3},
        )  # fmt: skip
        self.conn: Any = None

    def try_acquire(self) -> bool:
        try:
            if self.conn is None:
                self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = self.conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY})
        except sa.exc.DBAPIError:
            self._drop()
            return False
        return bool(got)

    def still_held(self) -> bool:
        """The lock lives as long as its connection: check the connection is still up."""
        try:
            self.conn.scalar(sa.text("SELECT 1"))
            return True
        except (sa.exc.DBAPIError, AttributeError):
            self._drop()
            return False

    def release(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self.conn.scalar(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
        self._drop()

    def _drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.invalidate()
                self.conn.close()
            except Exception:  # noqa: BLE001, S110  # nosec B110
                # The connection is already gone; nothing is left to release.
                pass
        self.conn = None


class LeaseLeadership:
    """Leadership as a lease row (SQLite): held while renewed, free once it has lapsed."""

    def __init__(self, factory: sessionmaker[Session], ttl: dt.timedelta, clock: Clock) -> None:
        self.factory = factory
        self.ttl = ttl
        self.clock = clock
        self.me = OWNER

    def try_acquire(self) -> bool:
        try:
            with self.factory() as db:
                db.execute(sa.select(1))  # takes SQLite's write lock first, so ``now`` is fresh
                now = self.clock()
                taken = db.execute(
                    sa.update(SchedulerLease)
                    .where(
                        SchedulerLease.name == LEASE,
                        sa.or_(SchedulerLease.holder == self.me, SchedulerLease.expires_at < now),
                    )
                    .values(holder=self.me, expires_at=now + self.ttl)
                ).rowcount  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
                if not taken:
                    if db.get(SchedulerLease, LEASE) is not None:
                        db.rollback()
                        return False
                    db.add(SchedulerLease(name=LEASE, holder=self.me, expires_at=now + self.ttl))
                db.commit()
        except (IntegrityError, DBAPIError):
            return False
        return True

    def still_held(self) -> bool:
        return self.try_acquire()

    def release(self) -> None:
        try:
            with self.factory() as db:
                db.execute(
                    sa.delete(SchedulerLease).where(
                        SchedulerLease.name == LEASE, SchedulerLease.holder == self.me
                    )
                )
                db.commit()
        except DBAPIError:
            pass  # it lapses on its own


def leadership_for(
    engine: Engine, factory: sessionmaker[Session], lease: float, clock: Clock
) -> AdvisoryLeadership | LeaseLeadership:
    if engine.dialect.name == "postgresql":
        return AdvisoryLeadership(engine)
    return LeaseLeadership(factory, dt.timedelta(seconds=lease), clock)


def catch_up(
    factory: sessionmaker[Session],
    now: dt.datetime,
    *,
    overrides: dict[str, dict[str, str]] | None = None,
    config: dict[str, Any] | None = None,
    stop: threading.Event | None = None,
    grace: dt.timedelta = dt.timedelta(0),
) -> list[str]:
    """Run, once, each job's latest slot (at least ``grace`` old) that has no run yet:
    missed while no scheduler ran, or while a firing failed. Older missed slots are
    coalesced into that one. A job that has never run (a new installation) does not catch
    up: its latest slot is recorded as skipped, and it starts with the next one."""
    ran = []
    for job in JOBS.values():
        if stop is not None and stop.is_set():
            break
        slot = latest_slot(job.trigger(overrides), now - grace)
        if slot is None:
            continue
        with factory() as db:
            seen = db.scalar(
                sa.select(JobRun.id).where(JobRun.job_name == job.name, JobRun.scheduled_at == slot)
            )
            if seen is not None:
                continue
            if db.scalar(sa.select(JobRun.id).where(JobRun.job_name == job.name).limit(1)) is None:
                _skip(db, job.name, slot)
                continue
        if run_slot(factory, job.name, slot, trigger="catch_up", config=config):
            ran.append(job.name)
    return ran


def _skip(db: Session, name: str, slot: dt.datetime) -> None:
    now = utcnow()
    try:
        db.add(JobRun(job_name=name, scheduled_at=slot, started_at=now, finished_at=now,
                      status=JobRunStatus.SKIPPED, trigger="catch_up", host=HOST,
                      error="调度进程首次启动：此前的计划时刻不补跑。"))  # fmt: skip
        db.commit()
        log.info("任务 %s 首次调度，%s 这一时刻不补跑", name, slot.isoformat())
    except IntegrityError:
        db.rollback()


class Scheduler:
    """One scheduler process: waits to lead, then schedules until stopped or deposed."""

    def __init__(
        self,
        engine: Engine,
        factory: sessionmaker[Session],
        *,
        poll: float = 5.0,
        lease: float = 60.0,
        overrides: dict[str, dict[str, str]] | None = None,
        config: dict[str, Any] | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.factory = factory
        self.poll = poll
        self.overrides = overrides or {}
        self.config = config or {}
        self.clock = clock
        self.leadership = leadership_for(engine, factory, lease, clock)
        self.stop = threading.Event()
        self.lost = threading.Event()

    def fire(self, name: str) -> None:
        """APScheduler's callback: run the slot that has just come due."""
        slot = latest_slot(JOBS[name].trigger(self.overrides), self.clock())
        if slot is not None:
            run_slot(self.factory, name, slot, config=self.config)

    def count_figures(self) -> None:
        """APScheduler's callback: count the province's and each city's dashboard overview
        ahead of visits (``web.services.stats_snapshots``). A cache the dashboard dates, not a
        job run: nothing to catch up, and a failed count leaves visits to count for themselves."""
        try:
            with self.factory() as db:
                count_snapshots(db, side_by_side=self.factory)
        except DBAPIError:
            log.exception("统计快照未能更新，稍后重试")

    def report(self) -> None:
        """Tell the jobs page this process is running, every poll (at most every
        ``HEARTBEAT_EVERY`` seconds) until stopped, leader or standby; withdraw it on stop."""
        every = min(self.poll, HEARTBEAT_EVERY)
        while True:
            try:
                with self.factory() as db:
                    record_heartbeat(db, OWNER, self.clock())
            except DBAPIError:
                log.warning("无法记录调度进程心跳，稍后重试")
            if self.stop.wait(every):
                break
        with contextlib.suppress(DBAPIError), self.factory() as db:
            clear_heartbeat(db, OWNER)

    def serve(self) -> None:
        log.info("调度进程 %s 启动，等待成为主调度进程", OWNER)
        reporter = threading.Thread(target=self.report, name="heartbeat", daemon=True)
        reporter.start()
        try:
            self._serve()
        finally:
            self.stop.set()
            reporter.join(10)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                if self.leadership.try_acquire():
                    try:
                        self._lead()
                    finally:
                        self.leadership.release()
                        self.lost.clear()
                else:
                    self.stop.wait(self.poll)
            except DBAPIError:
                log.exception("数据库暂不可用，%s 秒后重试", self.poll)
                self.stop.wait(self.poll)
        log.info("调度进程已停止")

    def _keep(self) -> None:
        """Renew the leadership every poll, from its own thread, however long a job runs."""
        while not self.stop.wait(self.poll) and not self.lost.is_set():
            if not self.leadership.still_held():
                log.warning("失去主调度地位，停止调度")
                self.lost.set()

    def _lead(self) -> None:
        log.info("成为主调度进程")
        keeper = threading.Thread(target=self._keep, name="leadership", daemon=True)
        keeper.start()
        mark_abandoned(self.factory, self.clock())
        caught = catch_up(self.factory, self.clock(), overrides=self.overrides,
                          config=self.config, stop=self.stop)  # fmt: skip
        if caught:
            log.info("补跑错过的任务：%s", "、".join(caught))
        scheduler = BackgroundScheduler(
            timezone=TZ,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        for job in JOBS.values():
            scheduler.add_job(self.fire, job.trigger(self.overrides), args=[job.name],
                              id=job.name, name=job.label)  # fmt: skip
        if self.config.get("STATS_SNAPSHOTS", True):
            scheduler.add_job(self.count_figures, IntervalTrigger(seconds=SNAPSHOT_EVERY.seconds),
                              id="stats_snapshots", name="统计快照",
                              next_run_time=dt.datetime.now(TZ))  # fmt: skip
        scheduler.start()
        try:
            while not self.stop.wait(self.poll) and not self.lost.is_set():
                try:
                    # Slots whose firing was missed (a failed claim, a slot that fell during
                    # the catch-up above) are run here, once they are a minute old.
                    mark_abandoned(self.factory, self.clock())
                    catch_up(self.factory, self.clock(), overrides=self.overrides,
                             config=self.config, stop=self.stop, grace=CATCH_UP_GRACE)  # fmt: skip
                    run_queued(self.factory, config=self.config, stop=self.stop)
                except DBAPIError:
                    log.exception("数据库暂不可用，稍后重试")
        finally:
            scheduler.shutdown(wait=True)
            self.lost.set()
            keeper.join(self.poll * 2)
