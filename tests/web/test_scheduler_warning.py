"""The 定时任务 page warns when no scheduler process has reported in the last two minutes,
and a run queued then says it waits for one."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import utcnow
from tests.helpers import bearer, csrf_token, sign_in
from web.services.jobs import record_heartbeat


def test_the_jobs_page_warns_until_a_scheduler_reports_in(client: FlaskClient, db: Session) -> None:
    sign_in(client, "admin")
    page = client.get("/jobs").text
    assert 'data-testid="no-scheduler"' in page and "make run" in page

    queued = client.post(
        "/jobs/stale_needs/run", data={"csrf_token": csrf_token(client, "/jobs")},
        follow_redirects=True,
    )  # fmt: skip
    assert "启动调度进程后才会执行" in queued.text

    record_heartbeat(db, "host:123", utcnow() - dt.timedelta(minutes=3))  # long ago
    assert 'data-testid="no-scheduler"' in client.get("/jobs").text
    record_heartbeat(db, "host:123", utcnow())
    page = client.get("/jobs").text
    assert 'data-testid="no-scheduler"' not in page and "调度进程最近报到" in page


def test_the_jobs_api_says_when_the_scheduler_last_reported(
    client: FlaskClient, db: Session
) -> None:
    headers = bearer(client, "admin")
    assert client.get("/api/v1/jobs", headers=headers).json["scheduler_seen_at"] is None
    record_heartbeat(db, "host:123", utcnow())
    assert client.get("/api/v1/jobs", headers=headers).json["scheduler_seen_at"] is not None
