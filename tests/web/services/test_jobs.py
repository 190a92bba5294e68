"""The jobs as the service shows them: runs queued by hand, the list of runs, the overview."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import AuditLog, JobRun, utcnow
from models.enums import JobRunStatus
from tests.helpers import get_user
from web.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from web.services.jobs import JOBS, job_overview, last_runs, list_runs, queue_run

NEW_YEAR = dt.datetime(2027, 1, 1, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def finished_run(db: Session, name: str, at: dt.datetime) -> JobRun:
    run = JobRun(job_name=name, scheduled_at=at, started_at=at, finished_at=at,
                 status=JobRunStatus.SUCCEEDED, trigger="schedule")  # fmt: skip
    db.add(run)
    db.flush()
    return run


def test_only_an_administrator_queues_a_run_and_only_of_a_job_that_exists(db: Session) -> None:
    with pytest.raises(Forbidden):
        queue_run(db, get_user(db, "ca_conghua"), "stale_needs")
    with pytest.raises(NotFound):
        queue_run(db, get_user(db, "admin"), "nope")
    assert db.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0


def test_a_queued_run_waits_for_the_scheduler_and_is_on_the_audit_log(db: Session) -> None:
    admin = get_user(db, "admin")
    run = queue_run(db, admin, "overdue_referrals")
    assert run.status == JobRunStatus.QUEUED and run.trigger == "manual"
    assert run.requested_by_id == admin.id
    audit = db.scalar(sa.select(AuditLog).where(AuditLog.action == "job.queue"))
    assert audit is not None and audit.actor_id == admin.id
    assert audit.detail == {"job": "overdue_referrals", "options": None}
    with pytest.raises(Conflict, match="已在等待执行"):
        queue_run(db, admin, "overdue_referrals")


def test_a_refresh_for_a_half_year_claims_that_half_years_own_slot_once(db: Session) -> None:
    admin = get_user(db, "admin")
    run = queue_run(db, admin, "ledger_refresh", {"period": "2027H1"})
    assert run.scheduled_at == NEW_YEAR and run.options == {"period": "2027H1"}
    run.status = JobRunStatus.SUCCEEDED
    db.flush()
    with pytest.raises(Conflict, match="该期次的台账更新已经运行过"):
        queue_run(db, admin, "ledger_refresh", {"period": "2027H1"})


@pytest.mark.parametrize(
    ("name", "period"),
    [("stale_needs", "2027H1"), ("ledger_refresh", "2027"), ("ledger_refresh", "1999H2")],
)
def test_a_period_is_refused_unless_it_is_a_half_year_for_the_ledger_refresh(
    db: Session, name: str, period: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        queue_run(db, get_user(db, "admin"), name, {"period": period})
    assert list(refused.value.fields) == ["period"]


def test_a_run_no_scheduler_took_within_the_hour_is_given_up_for_a_new_one(db: Session) -> None:
    admin = get_user(db, "admin")
    stuck = queue_run(db, admin, "stale_needs")
    stuck.started_at = utcnow() - dt.timedelta(minutes=61)
    db.flush()
    again = queue_run(db, admin, "stale_needs")
    db.refresh(stuck)
    assert stuck.status == JobRunStatus.FAILED and "一小时内没有调度进程执行" in stuck.error
    assert again.status == JobRunStatus.QUEUED


def test_civil_affairs_staff_see_the_runs_newest_first_and_station_staff_none(
    db: Session,
) -> None:
    older = finished_run(db, "stale_needs", NEW_YEAR - dt.timedelta(days=1))
    newer = finished_run(db, "expire_projects", NEW_YEAR)
    office = get_user(db, "ca_conghua")
    assert list_runs(db, office) == [newer, older]
    assert list_runs(db, office, job_name="stale_needs") == [older]
    assert list_runs(db, office, limit=1) == [newer]
    assert list_runs(db, get_user(db, "station_a")) == []


def test_the_overview_shows_each_jobs_last_run_and_next_slot(db: Session) -> None:
    first = finished_run(db, "ledger_refresh", NEW_YEAR - dt.timedelta(days=184))
    latest = finished_run(db, "ledger_refresh", NEW_YEAR)
    assert last_runs(db) == {"ledger_refresh": latest}
    overview = job_overview(db, get_user(db, "ca_conghua"), {})
    jobs = {job["name"]: job for job in overview["jobs"]}
    assert list(jobs) == list(JOBS)
    assert jobs["ledger_refresh"]["last_run"] == latest and jobs["stale_needs"]["last_run"] is None
    assert overview["runs"] == [latest, first]
    every_minute = {"stale_needs": {"minute": "*"}}
    soon = job_overview(db, get_user(db, "admin"), every_minute)["jobs"]
    assert next(j for j in soon if j["name"] == "stale_needs")["next_at"] - utcnow() <= (
        dt.timedelta(minutes=1)
    )
    with pytest.raises(Forbidden):
        job_overview(db, get_user(db, "station_a"), {})
