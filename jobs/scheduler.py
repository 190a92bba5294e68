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
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from models import JobRun, SchedulerLease, utcnow

from .registry import JOBS, TZ, latest_slot
from .runs import HOST, mark_abandoned, run_queued, run_slot

log = logging.getLogger(__name__)

#: The advisory lock key: "cishan" in ASCII, so other applications' keys do not collide.
ADVISORY_KEY = 0x636973686E
LEASE = "scheduler"

Clock = Callable[[], dt.datetime]


class AdvisoryLeadership:
    """Leadership as a PostgreSQL session-level advisory lock on a connection of its own."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
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
            except Exception:  # noqa: BLE001, S110 - the connection is already gone
                pass
        self.conn = None


class LeaseLeadership:
    """Leadership as a lease row (SQLite): held while renewed, free once it has lapsed."""

    def __init__(self, factory: sessionmaker[Session], ttl: dt.timedelta, clock: Clock) -> None:
        self.factory = factory
        self.ttl = ttl
        self.clock = clock
        self.me = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def try_acquire(self) -> bool:
        now = self.clock()
        with self.factory() as db:
            taken = db.execute(
                sa.update(SchedulerLease)
                .where(
                    SchedulerLease.name == LEASE,
                    sa.or_(SchedulerLease.holder == self.me, SchedulerLease.expires_at < now),
                )
                .values(holder=self.me, expires_at=now + self.ttl)
            ).rowcount  # type: ignore[attr-defined]
            if not taken:
                exists = db.get(SchedulerLease, LEASE) is not None
                if exists:
                    db.rollback()
                    return False
                db.add(SchedulerLease(name=LEASE, holder=self.me, expires_at=now + self.ttl))
            try:
                db.commit()
            except IntegrityError:
                db.rollback()
                return False
        return True

    def still_held(self) -> bool:
        return self.try_acquire()

    def release(self) -> None:
        with self.factory() as db:
            db.execute(sa.delete(SchedulerLease).where(SchedulerLease.holder == self.me))
            db.commit()


def leadership_for(
    engine: Engine, factory: sessionmaker[Session], poll: float, clock: Clock
) -> AdvisoryLeadership | LeaseLeadership:
    if engine.dialect.name == "postgresql":
        return AdvisoryLeadership(engine)
    return LeaseLeadership(factory, dt.timedelta(seconds=max(poll * 4, 2)), clock)


def catch_up(
    factory: sessionmaker[Session],
    now: dt.datetime,
    *,
    overrides: dict[str, dict[str, str]] | None = None,
    config: dict[str, Any] | None = None,
) -> list[str]:
    """Run, once, each job's latest slot that has no run yet (missed while no scheduler ran).
    Older missed slots are coalesced into that one; returns the jobs run."""
    ran = []
    for job in JOBS.values():
        slot = latest_slot(job.trigger(overrides), now)
        if slot is None:
            continue
        with factory() as db:
            seen = db.scalar(
                sa.select(JobRun.id).where(JobRun.job_name == job.name, JobRun.scheduled_at == slot)
            )
        if seen is None and run_slot(factory, job.name, slot, trigger="catch_up", config=config):
            ran.append(job.name)
    return ran


class Scheduler:
    """One scheduler process: waits to lead, then schedules until stopped or deposed."""

    def __init__(
        self,
        engine: Engine,
        factory: sessionmaker[Session],
        *,
        poll: float = 5.0,
        overrides: dict[str, dict[str, str]] | None = None,
        config: dict[str, Any] | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.factory = factory
        self.poll = poll
        self.overrides = overrides or {}
        self.config = config or {}
        self.clock = clock
        self.leadership = leadership_for(engine, factory, poll, clock)
        self.stop = threading.Event()

    def fire(self, name: str) -> None:
        """APScheduler's callback: run the slot that has just come due."""
        slot = latest_slot(JOBS[name].trigger(self.overrides), self.clock())
        if slot is not None:
            run_slot(self.factory, name, slot, config=self.config)

    def serve(self) -> None:
        log.info("调度进程 %s:%s 启动，等待成为主调度进程", HOST, os.getpid())
        while not self.stop.is_set():
            if self.leadership.try_acquire():
                try:
                    self._lead()
                finally:
                    self.leadership.release()
            else:
                self.stop.wait(self.poll)
        log.info("调度进程已停止")

    def _lead(self) -> None:
        log.info("成为主调度进程")
        mark_abandoned(self.factory, self.clock())
        caught = catch_up(self.factory, self.clock(), overrides=self.overrides, config=self.config)
        if caught:
            log.info("补跑错过的任务：%s", "、".join(caught))
        scheduler = BackgroundScheduler(
            timezone=TZ,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        for job in JOBS.values():
            scheduler.add_job(self.fire, job.trigger(self.overrides), args=[job.name],
                              id=job.name, name=job.label)  # fmt: skip
        scheduler.start()
        try:
            while not self.stop.wait(self.poll):
                if not self.leadership.still_held():
                    log.warning("失去主调度地位，停止调度")
                    break
                run_queued(self.factory, config=self.config)
        finally:
            scheduler.shutdown(wait=True)
