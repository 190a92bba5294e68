"""``make run``'s launcher (``python -m jobs.launch``) starts the web server and the scheduler
together: a run queued from the jobs page is done within a minute, the scheduler reports in
for the jobs page, and one Ctrl-C stops both processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from models import JobRun, SchedulerLease, migrate, utcnow
from models.enums import JobRunStatus
from models.session import create_engine
from tests.helpers import TEST_DATA_KEY, TEST_SECRET_KEY
from web.services.jobs import HEARTBEAT

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  # nosec B310
            return bool(response.status == 200)
    except OSError:
        return False


def wait_for(check: Callable[[], bool], seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}\n{log.read_text(errors='replace')[-3000:]}")


def test_make_runs_launcher_serves_and_runs_a_queued_job_and_ctrl_c_stops_both(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'launch.db'}"
    migrate.upgrade(url)
    engine = create_engine(url)
    port = free_port()
    env = {
        **os.environ, "DATABASE_URL": url, "SECRET_KEY": TEST_SECRET_KEY,
        "DATA_KEY": TEST_DATA_KEY, "CISHAN_INSTANCE_PATH": str(tmp_path),
    }  # fmt: skip
    log = tmp_path / "launch.log"
    launcher = subprocess.Popen(  # noqa: S603  # nosec B603
        [sys.executable, "-m", "jobs.launch", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/login"), 60, "the web server", log)
        now = utcnow()
        with engine.begin() as conn:
            run_id = conn.execute(
                sa.insert(JobRun).returning(JobRun.id),
                {"job_name": "stale_needs", "scheduled_at": now, "started_at": now,
                 "trigger": "manual", "status": JobRunStatus.QUEUED.value},
            ).scalar_one()  # fmt: skip

        def status() -> str:
            with engine.connect() as conn:
                return str(conn.scalar(sa.select(JobRun.status).where(JobRun.id == run_id)))

        wait_for(lambda: status() == JobRunStatus.SUCCEEDED, 60, "the queued run", log)
        with engine.connect() as conn:
            reported = conn.scalar(
                sa.select(SchedulerLease.expires_at).where(SchedulerLease.name == HEARTBEAT)
            )
        assert reported is not None and reported > utcnow()

        # Ctrl-C reaches the whole foreground group: both processes stop, and the launcher.
        os.killpg(launcher.pid, signal.SIGINT)
        launcher.wait(30)
        assert not answers(f"http://127.0.0.1:{port}/login")
        with engine.connect() as conn:  # the scheduler withdrew its report on the way out
            left = conn.scalar(
                sa.select(SchedulerLease.name).where(SchedulerLease.name == HEARTBEAT)
            )
        assert left is None
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait(10)
        engine.dispose()
