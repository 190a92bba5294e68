"""Scheduled jobs in one process: slots in Asia/Shanghai time, catch-up after an outage,
exactly one run per slot, failures recorded and retried, queued manual runs."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from jobs.runs import HOST, mark_abandoned, run_queued, run_slot
from jobs.scheduler import catch_up
from jobs.tasks import TASKS
from models import (
    FollowUp,
    Household,
    LedgerEdition,
    Need,
    Notification,
    Project,
    Referral,
    Region,
    utcnow,
)
from models.clock import latest_slot, next_slot, start_of, today
from models.enums import (
    LEDGER_LEVELS,
    CompanionRole,
    JobRunStatus,
    NeedStatus,
    ProjectStatus,
    ReferralStatus,
    ServiceType,
)
from models.jobs import JobRun
from tests.helpers import bearer, csrf_token, get_user, sign_in
from web.services.errors import ValidationFailed
from web.services.jobs import JOBS, record_heartbeat
from web.services.ledgers import build_edition, township_departments
from web.services.referrals import episodes, pairings, workflow

TZ = ZoneInfo("Asia/Shanghai")
NEW_YEAR = dt.datetime(2027, 1, 1, 0, 30, tzinfo=TZ)
BACK_FROM_HOLIDAY = dt.datetime(2027, 1, 3, 9, 0, tzinfo=TZ)


def runs_of(db: Session, name: str) -> list[JobRun]:
    db.expire_all()
    return list(db.scalars(sa.select(JobRun).where(JobRun.job_name == name).order_by(JobRun.id)))


def editions_per_department(db: Session, period: str) -> dict[str, int]:
    return dict(
        db.execute(
            sa.select(LedgerEdition.region_code, sa.func.count())
            .where(LedgerEdition.period == period)
            .group_by(LedgerEdition.region_code)
        ).all()
    )


def test_after_the_july_refresh_the_next_is_on_new_years_day() -> None:
    trigger = JOBS["ledger_refresh"].trigger()
    july = dt.datetime(2026, 7, 1, 0, 30, tzinfo=TZ)
    assert next_slot(trigger, july) == NEW_YEAR
    assert next_slot(trigger, july - dt.timedelta(minutes=1)) == july
    assert next_slot(trigger, NEW_YEAR) == dt.datetime(2027, 7, 1, 0, 30, tzinfo=TZ)
    assert latest_slot(trigger, BACK_FROM_HOLIDAY) == NEW_YEAR
    # 00:30 in Guangdong is 16:30 UTC the day before.
    assert NEW_YEAR.astimezone(dt.UTC) == dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)


def test_every_scheduled_job_has_a_task_and_every_task_a_schedule() -> None:
    assert list(TASKS) == list(JOBS)


def ran_before(db: Session, at: dt.datetime) -> None:
    """Each job ran its slots up to ``at``: the scheduler has been in service before."""
    for job in JOBS.values():
        slot = latest_slot(job.trigger(), at)
        db.add(JobRun(job_name=job.name, scheduled_at=slot, started_at=slot, finished_at=slot,
                      status=JobRunStatus.SUCCEEDED, trigger="schedule"))  # fmt: skip
    db.commit()


def test_a_scheduler_back_after_the_missed_new_year_slot_runs_it_once(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    ran_before(db, dt.datetime(2026, 12, 20, tzinfo=TZ))  # then the holiday outage
    ran = catch_up(session_factory, BACK_FROM_HOLIDAY)
    assert "ledger_refresh" in ran
    assert "ledger_refresh" not in catch_up(session_factory, BACK_FROM_HOLIDAY)
    july, run = runs_of(db, "ledger_refresh")
    assert july.scheduled_at < NEW_YEAR
    assert run.scheduled_at == NEW_YEAR and run.trigger == "catch_up"
    assert run.status == JobRunStatus.SUCCEEDED and run.counts["period"] == "2027H1"
    departments = db.scalar(
        sa.select(sa.func.count()).select_from(Region).where(Region.level.in_(LEDGER_LEVELS))
    ) + len(township_departments(db))  # and the townships with local resources
    per_department = editions_per_department(db, "2027H1")
    assert len(per_department) == departments and set(per_department.values()) == {1}
    told = db.scalars(
        sa.select(Notification.message).where(
            Notification.user_id == get_user(db, "station_a").id, Notification.kind == "ledger"
        )
    ).all()
    assert len(told) == 1 and "2027年上半年" in told[0] and "从化区" in told[0]


def test_a_first_start_skips_the_slots_before_it_instead_of_running_them(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    assert catch_up(session_factory, BACK_FROM_HOLIDAY) == []
    (skipped,) = runs_of(db, "ledger_refresh")
    assert skipped.status == JobRunStatus.SKIPPED and skipped.scheduled_at == NEW_YEAR
    assert editions_per_department(db, "2027H1") == {}
    # The half-year can still be published by hand, and the next slot runs as usual.
    assert run_slot(session_factory, "ledger_refresh", NEW_YEAR, retry=True) is None
    later = dt.datetime(2027, 7, 2, tzinfo=TZ)
    assert catch_up(session_factory, later)[0] == "ledger_refresh"


def test_a_past_half_year_never_replaces_a_later_ledger(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    run_slot(session_factory, "ledger_refresh", NEW_YEAR)
    earlier = run_slot(session_factory, "ledger_refresh", dt.datetime(2026, 7, 1, 0, 30, tzinfo=TZ))
    assert earlier is not None and earlier.status == JobRunStatus.SUCCEEDED
    assert earlier.counts["published"] == 0  # every department already has 2027H1
    with pytest.raises(ValidationFailed):
        build_edition(db, None, "440117000000", "2026H2", utcnow())


def test_a_second_claim_of_a_slot_does_nothing(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    first = run_slot(session_factory, "ledger_refresh", NEW_YEAR, trigger="manual")
    assert first is not None and first.status == JobRunStatus.SUCCEEDED
    assert run_slot(session_factory, "ledger_refresh", NEW_YEAR) is None
    assert run_slot(session_factory, "ledger_refresh", NEW_YEAR, retry=True) is None
    assert len(runs_of(db, "ledger_refresh")) == 1
    assert set(editions_per_department(db, "2027H1").values()) == {1}


def test_a_job_that_raises_is_recorded_failed_and_the_next_job_still_runs(
    session_factory: sessionmaker[Session], db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_ctx: object) -> dict[str, int]:
        raise RuntimeError("项目表暂时无法访问")

    real = TASKS["expire_projects"]
    monkeypatch.setitem(TASKS, "expire_projects", broken)
    ran_before(db, dt.datetime(2026, 12, 20, tzinfo=TZ))
    catch_up(session_factory, BACK_FROM_HOLIDAY)
    _before, failed = runs_of(db, "expire_projects")
    assert failed.status == JobRunStatus.FAILED and "项目表暂时无法访问" in failed.error
    assert failed.finished_at is not None
    for later in ("stale_needs", "overdue_referrals", "retrain_matcher"):
        assert [r.status for r in runs_of(db, later)] == [JobRunStatus.SUCCEEDED] * 2

    monkeypatch.setitem(TASKS, "expire_projects", real)
    assert run_slot(session_factory, "expire_projects", failed.scheduled_at) is None
    retried = run_slot(session_factory, "expire_projects", failed.scheduled_at, retry=True)
    assert retried is not None and retried.status == JobRunStatus.SUCCEEDED
    assert retried.id == failed.id and retried.error is None


def test_a_run_killed_half_way_is_marked_failed_and_a_retry_leaves_no_duplicates(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    gone = subprocess.Popen(["true"])  # a process id that no longer exists once it has exited
    gone.wait()
    db.add(
        JobRun(
            job_name="ledger_refresh",
            scheduled_at=NEW_YEAR,
            started_at=utcnow(),
            host=HOST,
            pid=gone.pid,
            status=JobRunStatus.RUNNING,
            trigger="schedule",
        )  # fmt: skip
    )
    db.commit()
    assert run_slot(session_factory, "ledger_refresh", NEW_YEAR) is None  # still claimed
    assert mark_abandoned(session_factory) == 1
    (run,) = runs_of(db, "ledger_refresh")
    assert run.status == JobRunStatus.FAILED and "进程中断" in run.error
    retried = run_slot(session_factory, "ledger_refresh", NEW_YEAR, retry=True)
    assert retried is not None and retried.status == JobRunStatus.SUCCEEDED
    assert set(editions_per_department(db, "2027H1").values()) == {1}
    assert mark_abandoned(session_factory) == 0


def test_stale_needs_are_raised_with_their_station_and_office(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    station = get_user(db, "station_a")
    needs = db.scalars(
        sa.select(Need).join(Need.household).where(Need.status == NeedStatus.OPEN)
    ).all()
    old = [n for n in needs if n.household.station_id == station.station_id][:2]
    for need in old:
        need.created_at = utcnow() - dt.timedelta(days=45)
    db.commit()
    run = run_slot(session_factory, "stale_needs", utcnow().replace(microsecond=0))
    assert run is not None and run.counts == {"needs": 2, "stations": 1}
    for username in ("station_a", "ca_conghua"):
        messages = db.scalars(
            sa.select(Notification.message).where(
                Notification.user_id == get_user(db, username).id,
                Notification.kind == "stale_needs",
            )
        ).all()
        assert len(messages) == 1 and "2 项需求" in messages[0]


def test_the_stale_need_reminder_waits_as_many_days_as_the_setting_says(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    station = get_user(db, "station_a")
    need = db.scalar(
        sa.select(Need)
        .join(Need.household)
        .where(Need.status == NeedStatus.OPEN, Need.household.has(station_id=station.station_id))
        .order_by(Need.id)
    )
    need.created_at = utcnow() - dt.timedelta(days=10)
    db.commit()
    slot = utcnow().replace(microsecond=0)
    run = run_slot(session_factory, "stale_needs", slot, config={"STALE_NEED_DAYS": 7})
    assert run is not None and run.counts == {"needs": 1, "stations": 1}
    later = run_slot(session_factory, "stale_needs", slot + dt.timedelta(seconds=1))
    assert later is not None and later.counts == {"needs": 0, "stations": 0}  # 30 by default


def test_projects_with_every_place_taken_expire_unless_a_place_may_come_back(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    full, waiting = db.scalars(
        sa.select(Project).where(Project.status == ProjectStatus.VERIFIED).order_by(Project.id)
    ).all()[:2]
    for project in (full, waiting):
        project.quota_used = project.quota
    need = db.scalar(sa.select(Need).order_by(Need.id))
    db.add(Referral(need_id=need.id, project_id=waiting.id, status=ReferralStatus.APPROVED,
                    approved_at=utcnow()))  # fmt: skip
    db.commit()
    run = run_slot(session_factory, "expire_projects", utcnow().replace(microsecond=0))
    assert run is not None and run.counts == {"expired": 1}
    db.expire_all()
    assert full.status == ProjectStatus.EXPIRED and waiting.status == ProjectStatus.VERIFIED


def test_an_administrator_queues_a_run_and_the_scheduler_picks_it_up(
    client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    admin = bearer(client, "admin")
    queued = client.post("/api/v1/jobs/overdue_referrals/runs", json={}, headers=admin)
    assert queued.status_code == 202 and queued.json["status"] == "queued"
    again = client.post("/api/v1/jobs/overdue_referrals/runs", json={}, headers=admin)
    assert again.status_code == 409
    assert client.post("/api/v1/jobs/nope/runs", json={}, headers=admin).status_code == 404
    office = bearer(client, "ca_conghua")
    refused = client.post("/api/v1/jobs/overdue_referrals/runs", json={}, headers=office)
    assert refused.status_code == 403
    assert client.get("/api/v1/jobs", headers=bearer(client, "station_a")).status_code == 403
    for period in ("2027", "0000H1"):
        bad = client.post("/api/v1/jobs/ledger_refresh/runs", json={"period": period},
                          headers=admin)  # fmt: skip
        assert bad.status_code == 422 and "period" in bad.json["error"]["fields"]

    (done,) = run_queued(session_factory)
    assert done.status == JobRunStatus.SUCCEEDED
    listing = client.get("/api/v1/jobs", headers=office).json
    assert [j["name"] for j in listing["jobs"]] == list(JOBS)
    latest = listing["runs"][0]
    assert latest["job_name"] == "overdue_referrals" and latest["status"] == "succeeded"
    assert latest["trigger"] == "manual" and latest["duration_seconds"] is not None
    assert latest["counts"] == {
        "expired": 0,
        "flagged": 0,
        "follow_ups_overdue": 0,
        "missed_visits": 0,
    }
    other = client.post("/api/v1/jobs/stale_needs/runs", json={"period": "2027H1"}, headers=admin)
    assert other.status_code == 422 and "period" in other.json["error"]["fields"]
    refresh = client.post("/api/v1/jobs/ledger_refresh/runs", json={"period": "2027H1"},
                          headers=admin)  # fmt: skip
    assert refresh.status_code == 202
    assert dt.datetime.fromisoformat(refresh.json["scheduled_at"]) == NEW_YEAR  # its own slot


def test_the_jobs_page_lists_runs_and_lets_administrators_queue_one(
    app: Flask, client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    run_slot(session_factory, "overdue_referrals", utcnow().replace(microsecond=0))
    office = app.test_client()
    sign_in(office, "ca_conghua")
    page = office.get("/jobs")
    assert page.status_code == 200 and "半年度台账更新" in page.text
    # The run is named as its job is, never by the job's code.
    assert "<td>转介逾期处理</td>" in page.text and "立即运行" not in page.text
    assert "overdue_referrals" not in page.text.split('data-testid="job-runs"', 1)[1]
    assert re.search(r'href="/jobs"\s+aria-current="page">定时任务</a>', page.text)  # menu
    admin = app.test_client()
    sign_in(admin, "admin")
    page = admin.get("/jobs")
    assert 'data-testid="run-ledger_refresh"' in page.text
    with session_factory() as db:  # a scheduler process is running
        record_heartbeat(db, "scheduler-host:1", utcnow())
    queued = admin.post(
        "/jobs/ledger_refresh/run",
        data={"csrf_token": csrf_token(admin, "/jobs"), "period": "2027H1"},
        follow_redirects=True,
    )
    assert "调度进程将在几秒内执行" in queued.text and "等待执行" in queued.text
    (done,) = run_queued(session_factory)
    assert done.status == JobRunStatus.SUCCEEDED and done.counts["period"] == "2027H1"
    station = app.test_client()
    sign_in(station, "station_a")
    assert station.get("/jobs").status_code == 403


def test_a_run_error_shows_its_kind_not_the_sql_or_data() -> None:
    from sqlalchemy.exc import IntegrityError

    from jobs.runs import _summary

    error = IntegrityError("INSERT INTO households (head_name) VALUES (%s)", ("钟伟明",),
                           Exception("duplicate key value violates unique constraint"))  # fmt: skip
    shown = _summary(error)
    assert "duplicate key" in shown and "钟伟明" not in shown and "INSERT" not in shown


def test_a_mistyped_job_schedule_stops_the_start() -> None:
    from web.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="JOB_SCHEDULES"):
        load_config({"JOB_SCHEDULES": '{"ledger_refresh": {"minute": "61"}}',
                     "SECRET_KEY": "x", "DATA_KEY": "y"})  # fmt: skip


def test_the_daily_job_raises_an_overdue_follow_up_with_its_station_once(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    station, office, charity = (get_user(db, u) for u in ("station_a", "ca_conghua", "charity_f"))
    need = db.scalar(
        sa.select(Need)
        .join(Need.household)
        .where(Need.household.has(head_name="钟伟明"), Need.domain == "medical")
    )
    project = db.scalar(sa.select(Project).where(Project.name == "从化区慈善医疗救助"))
    assert need is not None and project is not None
    referral = workflow.start_referral(db, station, need.id, project.id)
    for step, who in (("submit_referral", station), ("approve_referral", office),
                      ("accept_referral", charity), ("start_service", charity)):  # fmt: skip
        getattr(workflow, step)(db, who, referral.id)
    workflow.complete_referral(db, charity, referral.id, delivered_amount_fen=800_000)
    follow_up = db.scalar(sa.select(FollowUp).where(FollowUp.referral_id == referral.id))
    assert follow_up is not None
    follow_up.due_on = today() - dt.timedelta(days=3)
    db.commit()
    slot = utcnow().replace(microsecond=0)

    first = run_slot(session_factory, "overdue_referrals", slot)
    second = run_slot(session_factory, "overdue_referrals", slot + dt.timedelta(seconds=1))

    assert first is not None and first.counts["follow_ups_overdue"] >= 1
    assert second is not None and second.counts["follow_ups_overdue"] == 0
    told = db.scalars(
        sa.select(Notification).where(
            Notification.referral_id == referral.id, Notification.kind == "follow_up_overdue"
        )
    ).all()
    assert {n.user_id for n in told} == {station.id} and len(told) == 1


def test_the_daily_job_raises_a_month_short_of_its_pairings_visits_once(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    station, office, charity = (get_user(db, u) for u in ("station_a", "ca_conghua", "charity_f"))
    need = db.scalar(
        sa.select(Need)
        .join(Household)
        .where(Household.head_name == "钟伟明", Need.domain == "medical")
    )
    project = db.scalar(sa.select(Project).where(Project.name == "从化区慈善医疗救助"))
    assert need is not None and project is not None
    referral = workflow.start_referral(db, station, need.id, project.id)
    for step, who in (("submit_referral", station), ("approve_referral", office),
                      ("accept_referral", charity), ("start_service", charity)):  # fmt: skip
        getattr(workflow, step)(db, who, referral.id)
    child = next(m for m in need.household.members if m.name == "钟浩然")
    starts = today()
    pairings.set_up_pairing(db, charity, referral.id, pairings.PairingInput(
        "陈淑芬", CompanionRole.CARING_MOTHER, child.id, starts,
        starts + dt.timedelta(days=365), 2,
    ), today=starts)  # fmt: skip
    whole = pairings.next_month(starts)
    judged_on = pairings.month_end(whole) + dt.timedelta(days=pairings.GRACE_DAYS + 1)
    # The first, partial month gets the visits it expects; the next whole month none.
    for _ in range(pairings.planned_visits(2, starts, pairings.month_end(starts))):
        episodes.add_episode(db, charity, referral.id, episodes.EpisodeInput(
            on=starts, kind=ServiceType.VISITING_CARE), today=judged_on)  # fmt: skip
    db.commit()
    slot = start_of(judged_on).replace(hour=7, minute=30).astimezone(dt.UTC)

    first = run_slot(session_factory, "overdue_referrals", slot)
    second = run_slot(session_factory, "overdue_referrals", slot + dt.timedelta(days=1))

    assert first is not None and first.counts["missed_visits"] == 1
    assert second is not None and second.counts["missed_visits"] == 0
    told = db.scalars(
        sa.select(Notification).where(
            Notification.referral_id == referral.id, Notification.kind == "pairing_missed_visit"
        )
    ).all()
    assert {n.user_id for n in told} >= {station.id, charity.id} and office.id not in {
        n.user_id for n in told
    }


def test_the_refresh_command_says_its_rematch_waits_for_a_scheduler(app: Flask) -> None:
    """Run by hand with no scheduler running, the refresh's re-match would wait unseen."""
    result = app.test_cli_runner().invoke(args=["jobs", "run", "ledger_refresh", "--now"])
    assert result.exit_code == 0, result.output
    assert "'rematch_queued': True" in result.output
    assert "调度进程未在运行" in result.output and "flask jobs scheduler" in result.output
