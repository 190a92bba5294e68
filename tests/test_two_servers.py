"""A province deployment in miniature: two app servers (gunicorn, as deployed) and two
schedulers on one database. A project approved and published through one server is matched
through the other at once, with no restart and no wait, although the other had its project
index built and cached before; and with both schedulers running, each job slot runs once.

Each server and scheduler is a process of its own, so nothing is shared but the database.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models import JobRun, Project, clock
from models.enums import JobRunStatus
from tests.conftest import copy_demo, side_database_url
from tests.helpers import DEMO_PASSWORD, TEST_DATA_KEY, TEST_SECRET_KEY, get_user, need_of
from tests.jobs.test_scheduler_processes import ROOT, wait_for
from tests.web.services.referrals.steps import SURGERY
from web.services.projects import input_of, register_project, submit_project

#: The 从化区 department's ledger, where 荔乡慈善会 (charity_f) is registered.
CONGHUA = "440117000000"
NEW_PROJECT = "荔乡慈善会·透析患者交通补助"
#: The daily upkeep job, rescheduled to every two seconds so slots come round in the test.
EVERY_TWO_SECONDS = {"overdue_referrals": {"second": "*/2"}}


@pytest.fixture(scope="module")
def shared_database(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, engine: Engine
) -> Iterator[tuple[str, Engine]]:
    url = side_database_url(database_url, tmp_path_factory.mktemp("servers"), "servers")
    copy = copy_demo(engine, url)
    yield url, copy
    copy.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(url: str, instance: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATA_KEY": TEST_DATA_KEY,
        "CISHAN_INSTANCE_PATH": str(instance),
        "JOB_SCHEDULES": json.dumps(EVERY_TWO_SECONDS),
    }


def app_server(url: str, instance: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "2",
               "--bind", f"127.0.0.1:{port}", "web:create_app()"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=environment(url, instance),
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)  # fmt: skip


def scheduler(url: str, instance: Path, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "flask", "--app", "web", "jobs", "scheduler", "--poll", "0.5",
               "--lease", "3"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=environment(url, instance),
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)  # fmt: skip


def call(
    base: str, path: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """GET ``path`` of the server at ``base``, or POST ``body`` as JSON: the status and the
    answer (JSON, or the text of an error page)."""
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=60)
    try:
        connection.request(
            "GET" if body is None else "POST", path,
            body=None if body is None else json.dumps(body),
            headers={"Content-Type": "application/json", **(headers or {})},
        )  # fmt: skip
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data.decode(errors="replace")


def answering(base: str) -> bool:
    try:
        return call(base, "/login")[0] == 200
    except OSError:
        return False


def token(base: str, username: str) -> dict[str, str]:
    status, answer = call(base, "/api/v1/auth/token",
                          {"username": username, "password": DEMO_PASSWORD})  # fmt: skip
    assert status == 201, answer
    return {"Authorization": f"Bearer {answer['token']}"}


def matched(base: str, headers: dict[str, str], need_id: int) -> dict[int, Any]:
    status, answer = call(base, f"/api/v1/needs/{need_id}/matches?limit=50", headers=headers)
    assert status == 200, answer
    return {item["project_id"]: item for item in answer["items"]}


def submitted_project(engine: Engine) -> tuple[int, int]:
    """A copy of 从化区慈善医疗救助 under a new name, submitted for review by charity_f; and
    the medical need of 钟伟明 (station_a) it suits."""
    with Session(engine) as db:
        charity = get_user(db, "charity_f")
        model = db.scalar(sa.select(Project).where(Project.name == SURGERY))
        data = input_of(model)
        data.name = NEW_PROJECT
        project = register_project(db, charity, data)
        submit_project(db, charity, project.id)
        need = need_of(db, "钟伟明", "medical")
        db.commit()
        return project.id, need.id


def overdue_runs(engine: Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(JobRun.scheduled_at, JobRun.status, JobRun.pid).where(
                    JobRun.job_name == "overdue_referrals"
                )
            ).all()
        )


def test_two_servers_and_two_schedulers_share_one_database(
    shared_database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = shared_database
    project_id, need_id = submitted_project(engine)
    ports = free_port(), free_port()
    a, b = (f"http://127.0.0.1:{port}" for port in ports)
    logs = [tmp_path / name for name in ("a.log", "b.log", "s1.log", "s2.log")]
    processes = [
        app_server(url, tmp_path / "a", ports[0], logs[0]),
        app_server(url, tmp_path / "b", ports[1], logs[1]),
        scheduler(url, tmp_path / "s1", logs[2]),
        scheduler(url, tmp_path / "s2", logs[3]),
    ]
    try:
        wait_for(lambda: answering(a) and answering(b), 60, "both app servers", logs)
        station = token(a, "station_a")  # issued by A, good on B
        before = matched(b, station, need_id)  # server B builds and caches its index
        assert project_id not in before

        # Through server A the 从化区 office approves the project and publishes the ledger.
        office_a = token(a, "ca_conghua")
        status, answer = call(a, f"/api/v1/projects/{project_id}/review", {"approve": True},
                              office_a)  # fmt: skip
        assert status == 200, answer
        period = clock.period_of(clock.today())
        status, answer = call(a, "/api/v1/ledgers", {"region_code": CONGHUA, "period": period},
                              office_a)  # fmt: skip
        assert status == 201, answer

        # Server B matches it at once.
        after = matched(b, station, need_id)
        assert project_id in after and after[project_id]["name"] == NEW_PROJECT

        # Meanwhile the two schedulers ran each slot of the upkeep job once, by one leader.
        succeeded = lambda: [r for r in overdue_runs(engine) if r.status == JobRunStatus.SUCCEEDED]  # noqa: E731
        wait_for(lambda: len(succeeded()) >= 3, 60, "three upkeep slots", logs)
        runs = overdue_runs(engine)
        assert Counter(r.scheduled_at for r in runs).most_common(1)[0][1] == 1
        assert len({r.pid for r in succeeded()}) == 1
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
