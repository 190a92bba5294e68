"""Two real ``flask jobs scheduler`` processes on one database: one leads and runs each slot
once, the other waits; kill the leader and the standby takes over. And a ``flask jobs run``
killed with SIGKILL in the middle of its run: nothing half-published, the run marked failed,
a retry that publishes each edition once.

The ledger refresh is rescheduled to every three seconds (``JOB_SCHEDULES``) so slots come
round during the test; everything else is as deployed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from jobs.runs import mark_abandoned
from models import JobRun, LedgerEdition, Organization, Region, StatsSnapshot, utcnow
from models.enums import LEDGER_LEVELS, JobRunStatus, OrganizationKind, RegionLevel
from models.session import make_session_factory
from tests.conftest import copy_demo, side_database_url
from tests.helpers import TEST_DATA_KEY, TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
EVERY_THREE_SECONDS = {"ledger_refresh": {"second": "*/3"}}


@pytest.fixture(scope="module")
def jobs_engine(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, engine: Engine
) -> Iterator[tuple[str, Engine]]:
    url = side_database_url(database_url, tmp_path_factory.mktemp("jobs"), "jobs")
    copy = copy_demo(engine, url)
    yield url, copy
    copy.dispose()


def scheduler(url: str, instance: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATA_KEY": TEST_DATA_KEY,
        "CISHAN_INSTANCE_PATH": str(instance),
        "JOB_SCHEDULES": json.dumps(EVERY_THREE_SECONDS),
    }
    command = [sys.executable, "-m", "flask", "--app", "web", "jobs", "scheduler", "--poll", "0.5",
               "--lease", "3"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)  # fmt: skip


def wait_for(check: Callable[[], bool], seconds: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    output = "\n".join(p.read_text(errors="replace")[-3000:] for p in logs)
    pytest.fail(f"timed out waiting for {what}\n{output}")


def departments(engine: Engine) -> int:
    """How many civil-affairs departments keep a ledger (each gets one edition a half-year),
    and townships with local resources (本地资源), which keep one too."""
    with engine.connect() as conn:
        offices = conn.scalar(
            sa.select(sa.func.count()).select_from(Region).where(Region.level.in_(LEDGER_LEVELS))
        )
        townships = conn.scalar(
            sa.select(sa.func.count(sa.distinct(Organization.registered_region_code))).where(
                Organization.kind == OrganizationKind.LOCAL
            )
        )
        return offices + townships


def refresh_runs(engine: Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(JobRun.scheduled_at, JobRun.status, JobRun.pid)
                .where(JobRun.job_name == "ledger_refresh")
                .order_by(JobRun.scheduled_at)
            ).all()
        )


def count(engine: Engine, query: sa.Select) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def test_two_schedulers_run_each_slot_once_and_the_standby_takes_over(
    jobs_engine: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = jobs_engine
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    first = scheduler(url, tmp_path, logs[0])
    second = scheduler(url, tmp_path, logs[1])
    processes = {first.pid: first, second.pid: second}
    try:
        succeeded = lambda: [r for r in refresh_runs(engine) if r.status == JobRunStatus.SUCCEEDED]  # noqa: E731
        wait_for(lambda: len(succeeded()) >= 3, 60, "three ledger refresh slots", logs)

        runs = refresh_runs(engine)
        assert Counter(r.scheduled_at for r in runs).most_common(1)[0][1] == 1  # one row a slot
        leaders = {r.pid for r in runs if r.status == JobRunStatus.SUCCEEDED}
        assert len(leaders) == 1 and leaders <= set(processes)  # only the leader ran them
        (leader_pid,) = leaders
        with engine.connect() as conn:
            per_department = Counter(
                conn.execute(sa.select(LedgerEdition.region_code, LedgerEdition.period)).all()
            )
        assert len(per_department) == departments(engine) and set(per_department.values()) == {1}
        # The leader also counts the province's and each city's dashboard overview ahead.
        big = (RegionLevel.PROVINCE, RegionLevel.CITY)
        regions = count(engine, sa.select(Region.code).where(Region.level.in_(big)))
        kept = sa.select(StatsSnapshot.region_code)
        wait_for(lambda: count(engine, kept) == regions, 60, "the dashboard snapshots", logs)

        leader = processes.pop(leader_pid)
        leader.send_signal(signal.SIGKILL)
        leader.wait(10)
        killed_at = utcnow()
        (standby,) = processes.values()
        wait_for(
            lambda: any(
                r.pid == standby.pid and r.status == JobRunStatus.SUCCEEDED
                and r.scheduled_at > killed_at
                for r in refresh_runs(engine)
            ),
            60, "the standby to run a slot after the leader died", logs,
        )  # fmt: skip
        runs = refresh_runs(engine)
        assert Counter(r.scheduled_at for r in runs).most_common(1)[0][1] == 1
        with engine.connect() as conn:
            again = Counter(
                conn.execute(sa.select(LedgerEdition.region_code, LedgerEdition.period)).all()
            )
        assert again == per_department  # later slots of the same half-year publish nothing new

        standby.send_signal(signal.SIGTERM)
        assert standby.wait(30) == 0  # a clean shutdown on SIGTERM
        assert "调度进程已停止" in logs[[first, second].index(standby)].read_text()
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
                process.wait(10)


def test_a_job_killed_mid_run_is_marked_failed_and_a_rerun_publishes_each_edition_once(
    jobs_engine: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = jobs_engine
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": TEST_SECRET_KEY,
           "DATA_KEY": TEST_DATA_KEY, "CISHAN_INSTANCE_PATH": str(tmp_path)}  # fmt: skip
    # Watched without this project's SQLite setting of taking the write lock on every begin,
    # which would wait for the run's transaction to end.
    watcher = sa.create_engine(url)
    running = None
    # The run takes a fraction of a second; should one finish before it is seen running, the
    # next half-year is tried.
    for period in ("2028H1", "2028H2", "2029H1"):
        command = [sys.executable, "-m", "flask", "--app", "web", "jobs", "run",
                   "ledger_refresh", "--period", period]  # fmt: skip
        killed = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 60
        while running is None and time.monotonic() < deadline and killed.poll() is None:
            running = next(
                (r for r in refresh_runs(watcher) if r.status == JobRunStatus.RUNNING), None
            )
            time.sleep(0.01)
        if running is not None:
            killed.send_signal(signal.SIGKILL)  # no handler, no clean-up: a power cut, OOM
            killed.wait(10)
            break
        killed.wait(60)
    watcher.dispose()
    assert running is not None, "no run was ever seen running"

    def editions() -> Counter[str]:
        with engine.connect() as conn:
            return Counter(conn.scalars(
                sa.select(LedgerEdition.region_code).where(LedgerEdition.period == period)
            ))  # fmt: skip

    def the_run() -> sa.Row:
        with engine.connect() as conn:
            (run,) = conn.execute(
                sa.select(JobRun.status, JobRun.error, JobRun.pid).where(
                    JobRun.job_name == "ledger_refresh", JobRun.scheduled_at == running.scheduled_at
                )
            ).all()
        return run

    assert sum(editions().values()) == 0  # nothing half-published: one transaction or nothing
    assert mark_abandoned(make_session_factory(engine)) == 1
    failed = the_run()
    assert failed.status == JobRunStatus.FAILED and "进程中断" in failed.error

    rerun = subprocess.run(command + ["--retry"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    retried = the_run()
    assert retried.status == JobRunStatus.SUCCEEDED and retried.pid != killed.pid
    published = editions()
    assert len(published) == departments(engine) and set(published.values()) == {1}
