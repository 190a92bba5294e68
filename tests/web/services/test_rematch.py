"""Re-matching every waiting need after the ledgers change: the stations whose needs gained a
suitable project are told once each, see those needs on their worklist, and the mark goes
when they open the matches."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from jobs.runs import run_queued, run_slot
from jobs.tasks import JobContext, ledger_refresh
from models import Household, JobRun, Need, Notification, Project, Region, Station
from models.enums import (
    AWAITING_NEED_STATES,
    Domain,
    HouseholdStatus,
    JobRunStatus,
    ProjectStatus,
    RegionLevel,
)
from tests.helpers import bearer, get_user, sign_in
from web.services.errors import Forbidden
from web.services.ledgers import build_edition
from web.services.matching import clear_cache
from web.services.needs import worklist
from web.services.projects import ProjectInput, register_project
from web.services.rematch import rematch_open_needs

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
PROVINCE, CONGHUA, RUYUAN = "440000000000", "440117000000", "440232000000"
WENQUAN, BIBEI = "440117103000", "440232113000"  # 温泉镇 (station_a), 必背镇 (station_c)
DEPARTMENTS = (PROVINCE, "440100000000", CONGHUA, "440200000000", RUYUAN)


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    clear_cache()


@pytest.fixture
def clocked(app: Flask) -> Flask:
    app.config["CLOCK"] = lambda: NOW
    return app


def publish_all(db: Session, now: dt.datetime = NOW, period: str = "2026H2") -> None:
    admin = get_user(db, "admin")
    for region in DEPARTMENTS:
        build_edition(db, admin, region, period, now)


def province_project(
    db: Session, name: str, area: list[str], *, starts_on: dt.date = dt.date(2026, 7, 1),
    domains: list[str] | None = None, **rules: object,
) -> Project:  # fmt: skip
    """A verified project of the provincial 慈善总会, not yet in any edition (helping in
    every domain unless ``domains`` says which)."""
    project = register_project(
        db, get_user(db, "charity_a"),
        ProjectInput(
            name=name, description="为困难家庭提供生活物资和上门探访。",
            domains=domains or Domain.codes(),
            service_area=area, quota=50, starts_on=starts_on, ends_on=dt.date(2027, 6, 30),
            **rules,  # type: ignore[arg-type]
        ),
    )  # fmt: skip
    project.status = ProjectStatus.VERIFIED
    project.verified_at = project.confirmed_at = NOW
    db.flush()
    return project


def empty_township(db: Session) -> str:
    """A township of 从化区 where no household of the demo lives."""
    lived = {code[:9] for code in db.scalars(sa.select(Household.region_code))}
    code = db.scalar(
        sa.select(Region.code)
        .where(
            Region.level == RegionLevel.TOWNSHIP,
            Region.code.between("440117000000", "440117999999"),
            sa.func.substr(Region.code, 1, 9).notin_(lived),
        )
        .order_by(Region.code)
        .limit(1)
    )
    assert code is not None
    return code


def waiting_needs(db: Session, station_username: str) -> set[int]:
    station_id = get_user(db, station_username).station_id
    return set(
        db.scalars(
            sa.select(Need.id)
            .join(Household)
            .where(
                Household.station_id == station_id,
                Household.status == HouseholdStatus.ACTIVE,
                Need.status.in_(AWAITING_NEED_STATES),
            )
        )
    )


def rematch_notes(db: Session) -> dict[str, int]:
    """How many re-match notifications each user holds, by username."""
    db.expire_all()
    rows = db.execute(
        sa.select(Notification.user_id, sa.func.count())
        .where(Notification.kind == "rematch")
        .group_by(Notification.user_id)
    ).all()
    from models import User

    names = dict(db.execute(sa.select(User.id, User.username)).all())
    return {names[user_id]: count for user_id, count in rows}


def test_a_project_is_news_only_to_the_needs_of_its_domain(db: Session, clocked: Flask) -> None:
    publish_all(db)
    rematch_open_needs(db, None, today=TODAY, now=NOW)
    grant = province_project(db, "温泉镇助学金", [WENQUAN], domains=["education"])
    publish_all(db)
    result = rematch_open_needs(db, None, today=TODAY, now=NOW)

    waiting = [db.get(Need, i) for i in waiting_needs(db, "station_a")]
    gained = {n.id for n in waiting if n is not None and n.gained_project_ids == [grant.id]}
    schooling = {n.id for n in waiting if n is not None and n.domain == Domain.EDUCATION}
    assert schooling and gained == schooling
    assert result.gained_needs == len(schooling) < len(waiting)


def test_a_published_edition_tells_exactly_the_stations_whose_needs_gained(
    db: Session, clocked: Flask, client: FlaskClient
) -> None:
    publish_all(db)
    baseline = rematch_open_needs(db, None, today=TODAY, now=NOW)
    assert baseline.needs > 0 and baseline.baseline == baseline.needs
    assert baseline.gained_needs == 0 and rematch_notes(db) == {}

    # New in the provincial ledger: one project for 温泉镇 and 必背镇, one for nobody.
    suited = province_project(db, "温暖过冬物资包", [WENQUAN, BIBEI])
    nobody = province_project(db, "空置乡镇探访", [empty_township(db)])
    db.commit()
    response = client.post(
        "/api/v1/ledgers", headers=bearer(client, "ca_province"),
        json={"region_code": PROVINCE, "period": "2026H2"},
    )  # fmt: skip
    assert response.status_code == 201, response.get_json()

    assert rematch_notes(db) == {"station_a": 1, "station_c": 1}
    note = db.scalar(sa.select(Notification).where(Notification.kind == "rematch").limit(1))
    assert note is not None and note.link == "/worklist?gained=1" and "新的合适项目" in note.message
    gained_a = waiting_needs(db, "station_a")
    assert gained_a
    for need_id in gained_a | waiting_needs(db, "station_c"):
        need = db.get(Need, need_id)
        assert need is not None and need.gained_project_ids == [suited.id]
        assert nobody.id not in (need.suitable_project_ids or [])
    for need_id in waiting_needs(db, "station_b") | waiting_needs(db, "station_d"):
        need = db.get(Need, need_id)
        assert need is not None and need.gained_at is None and need.gained_project_ids == []

    # The worklist's filter shows exactly the needs that gained, each marked.
    station_a = get_user(db, "station_a")
    listed = worklist(db, station_a, None, TODAY, only_gained=True)
    assert {i.need.id for i in listed.items} == gained_a and listed.gained == len(gained_a)
    sign_in(client, "station_a")
    page = client.get("/worklist?gained=1").get_data(as_text=True)
    assert page.count('data-testid="gained"') == len(gained_a)
    assert "有新的合适项目" in page
    headers = bearer(client, "station_a")
    api = client.get("/api/v1/needs?gained=true", headers=headers).get_json()
    assert {n["id"] for n in api} == gained_a
    assert all(n["gained_project_ids"] == [suited.id] for n in api)

    # Opening one need's matches: that need is no longer marked, the others still are.
    opened = min(gained_a)
    assert client.get(f"/api/v1/needs/{opened}/matches", headers=headers).status_code == 200
    left = {n["id"] for n in client.get("/api/v1/needs?gained=true", headers=headers).get_json()}
    assert left == gained_a - {opened}
    page = client.get("/worklist?gained=1").get_data(as_text=True)
    assert page.count('data-testid="gained"') == len(gained_a) - 1
    # The page clears it too.
    other = max(left) if left else None
    if other is not None:
        assert client.get(f"/needs/{other}/matches").status_code == 200
        db.expire_all()
        still = db.get(Need, other)
        assert still is not None and still.gained_at is None

    # Nothing new since: a second re-match tells nobody.
    before = rematch_notes(db)
    again = rematch_open_needs(db, None, today=TODAY, now=NOW + dt.timedelta(hours=1))
    assert again.gained_needs == 0 and again.stations_notified == 0
    assert rematch_notes(db) == before


def test_the_county_office_sees_the_mark_without_clearing_it(
    db: Session, clocked: Flask, client: FlaskClient
) -> None:
    publish_all(db)
    rematch_open_needs(db, None, today=TODAY, now=NOW)
    province_project(db, "温暖过冬物资包", [WENQUAN])
    publish_all(db)
    result = rematch_open_needs(db, None, today=TODAY, now=NOW)
    assert result.stations_notified == 1 and result.by_station
    db.commit()
    need_id = min(waiting_needs(db, "station_a"))
    headers = bearer(client, "ca_conghua")
    assert client.get(f"/api/v1/needs/{need_id}/matches", headers=headers).status_code == 200
    db.expire_all()
    need = db.get(Need, need_id)
    assert need is not None and need.gained_at is not None


def test_a_civil_affairs_office_rematches_only_its_own_region(db: Session) -> None:
    publish_all(db)
    office = get_user(db, "ca_conghua")
    result = rematch_open_needs(db, office, today=TODAY, now=NOW)
    conghua = waiting_needs(db, "station_a") | waiting_needs(db, "station_b")
    assert result.region_code == CONGHUA and result.needs == len(conghua)
    rematched = set(db.scalars(sa.select(Need.id).where(Need.rematched_at.is_not(None))))
    assert rematched == conghua
    with pytest.raises(Forbidden):
        rematch_open_needs(db, office, region_code=RUYUAN, today=TODAY, now=NOW)
    with pytest.raises(Forbidden):
        rematch_open_needs(db, get_user(db, "station_a"), today=TODAY, now=NOW)
    # Within its region, a township alone.
    township = rematch_open_needs(db, office, region_code=WENQUAN, today=TODAY, now=NOW)
    assert township.needs == len(waiting_needs(db, "station_a"))


def test_flask_match_all_prints_and_does_the_same(db: Session, app: Flask) -> None:
    publish_all(db)
    db.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["match", "--all", "--region", CONGHUA, "--json"])
    assert first.exit_code == 0, first.output
    figures = json.loads(first.stdout)
    conghua = waiting_needs(db, "station_a") | waiting_needs(db, "station_b")
    assert figures["needs"] == len(conghua) and figures["baseline"] == len(conghua)
    assert figures["gained_needs"] == 0

    province_project(db, "温暖过冬物资包", [WENQUAN, BIBEI])
    publish_all(db, NOW)  # the service alone: the command does the re-match
    db.commit()
    second = runner.invoke(args=["match", "--all", "--region", CONGHUA])
    assert second.exit_code == 0, second.output
    assert f"有新的合适项目的需求 {len(waiting_needs(db, 'station_a'))} 项" in second.output
    assert "已通知 1 个服务站" in second.output
    # Only 从化 was asked for: 必背镇 (乳源) is told nothing yet.
    assert rematch_notes(db) == {"station_a": 1}
    # One need still works as before.
    one = runner.invoke(args=["match", str(min(conghua))])
    assert one.exit_code == 0 and "候选" in one.output
    bad = runner.invoke(args=["match", "--all", "--region", "449999999999"])
    assert bad.exit_code != 0


def new_year_project(db: Session) -> dt.datetime:
    """The 2026H2 ledgers published and re-matched, and a project for 温泉镇 starting on 1
    January not yet in any edition; returns a December day to build the next half-year on."""
    publish_all(db)
    rematch_open_needs(db, None, today=TODAY, now=NOW)
    province_project(db, "新年慰问包", [WENQUAN], starts_on=dt.date(2027, 1, 1))
    return dt.datetime(2026, 12, 20, 10, 0, tzinfo=SHANGHAI)


def test_an_edition_taking_effect_at_midnight_is_rematched_by_the_daily_job(
    db: Session, session_factory: sa.orm.sessionmaker[Session]
) -> None:
    december = new_year_project(db)
    publish_all(db, december, "2027H1")  # built ahead: waits for 1 January
    db.commit()
    assert rematch_open_needs(db, None, now=december).gained_needs == 0
    db.commit()
    slot = dt.datetime(2027, 1, 1, 3, 10, tzinfo=SHANGHAI)
    run = run_slot(session_factory, "rematch", slot, trigger="schedule")
    assert run is not None and run.error is None
    assert run.counts is not None and run.counts["gained_needs"] == len(
        waiting_needs(db, "station_a")
    )
    assert run.counts["stations_notified"] == 1
    assert rematch_notes(db) == {"station_a": 1}


def test_a_refresh_in_effect_at_once_queues_the_rematch_as_its_own_run(
    db: Session, session_factory: sa.orm.sessionmaker[Session]
) -> None:
    december = new_year_project(db)
    # Run ahead of its half-year, the refresh queues nothing: the daily re-match takes it up.
    with db.begin_nested() as ahead:
        early = ledger_refresh(JobContext(db=db, slot=december, now=december, options={
            "period": "2027H1"}))  # fmt: skip
        assert early["published"] > 0 and early["rematch_queued"] is False
        ahead.rollback()
    # On its first night it publishes, and the re-match waits for the scheduler's next poll.
    slot = dt.datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI)
    counts = ledger_refresh(JobContext(db=db, slot=slot, now=slot))
    db.commit()
    assert counts["published"] > 0 and counts["rematch_queued"] is True
    assert rematch_notes(db) == {}
    (queued,) = db.scalars(sa.select(JobRun).where(JobRun.job_name == "rematch")).all()
    assert (queued.status, queued.trigger) == (JobRunStatus.QUEUED, "after_refresh")

    (run,) = run_queued(session_factory)
    assert run.status == JobRunStatus.SUCCEEDED and run.counts is not None
    assert run.counts["gained_needs"] == len(waiting_needs(db, "station_a"))
    assert rematch_notes(db) == {"station_a": 1}
    assert run_queued(session_factory) == []


def test_a_rematch_waiting_from_before_the_refresh_is_moved_to_its_night(
    db: Session, session_factory: sa.orm.sessionmaker[Session]
) -> None:
    new_year_project(db)
    # Asked for by hand on 31 December, and not yet taken up when the refresh runs.
    eve = dt.datetime(2026, 12, 31, 23, 0, tzinfo=SHANGHAI)
    db.add(JobRun(job_name="rematch", scheduled_at=eve, started_at=eve, trigger="manual",
                  status=JobRunStatus.QUEUED))  # fmt: skip
    db.flush()
    slot = dt.datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI)
    assert ledger_refresh(JobContext(db=db, slot=slot, now=slot))["rematch_queued"] is True
    db.commit()
    (run,) = run_queued(session_factory)
    # Matched against the ledgers of 1 January, not of 31 December: the new project counts.
    assert run.trigger == "after_refresh" and run.counts is not None
    assert run.counts["gained_needs"] == len(waiting_needs(db, "station_a")) > 0


def test_the_office_rematches_its_region_from_the_ledgers_page(
    db: Session, clocked: Flask, client: FlaskClient
) -> None:
    publish_all(db)
    db.commit()
    sign_in(client, "ca_conghua")
    page = client.get("/ledgers").get_data(as_text=True)
    assert 'data-testid="rematch-form"' in page and "data-confirm" in page
    from tests.helpers import csrf_token

    response = client.post(
        "/ledgers/rematch", data={"csrf_token": csrf_token(client, "/ledgers")},
        follow_redirects=True,
    )  # fmt: skip
    assert "已重新匹配待办需求" in response.get_data(as_text=True)
    db.expire_all()
    conghua = waiting_needs(db, "station_a") | waiting_needs(db, "station_b")
    rematched = set(db.scalars(sa.select(Need.id).where(Need.rematched_at.is_not(None))))
    assert rematched == conghua
    assert db.scalar(sa.select(Station.id).limit(1)) is not None


def test_a_province_wide_rematch_keeps_a_few_places_and_makes_each_once(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each place holds arrays the length of the index: one kept for every village of the
    # province (26,842) ran a 100,000-project re-match out of memory. Needs come village by
    # village, so each place is made once and only the last few are kept.
    import weakref

    from matcher.rules import Place
    from web.services import rematch

    alive: weakref.WeakSet[Place] = weakref.WeakSet()
    made: list[str] = []

    class CountedPlace(Place):
        def __init__(self, *args: object) -> None:
            super().__init__(*args)  # type: ignore[arg-type]
            alive.add(self)
            made.append(self.region_code)
            most[0] = max(most[0], len(alive))

    most = [0]
    monkeypatch.setattr(rematch, "Place", CountedPlace)
    monkeypatch.setattr(rematch, "PLACES_KEPT", 2, raising=False)
    publish_all(db)
    result = rematch_open_needs(db, None, today=TODAY, now=NOW)
    villages = set(
        db.scalars(
            sa.select(Household.region_code)
            .join(Need, Need.household_id == Household.id)
            .where(Household.status == HouseholdStatus.ACTIVE,
                   Need.status.in_(AWAITING_NEED_STATES))
        )
    )  # fmt: skip
    assert result.needs > len(villages) > 3
    assert sorted(made) == sorted(villages)  # each village's place made once
    assert most[0] <= 3  # the two kept and the one being made


def test_a_rematch_that_finds_nothing_new_stamps_it_and_leaves_each_need_unchanged(
    db: Session, clocked: Flask
) -> None:
    publish_all(db)
    db.flush()
    before = dict(db.execute(sa.select(Need.id, Need.updated_at)).all())
    first = rematch_open_needs(db, None, today=TODAY, now=NOW)
    db.expire_all()
    written = db.execute(sa.select(Need.id, Need.updated_at).where(Need.rematched_at == NOW)).all()
    assert first.baseline == len(written) > 0  # each need's suitable projects written ...
    assert all(updated == before[need_id] for need_id, updated in written)  # ... not an edit
    later = NOW + dt.timedelta(days=1)

    again = rematch_open_needs(db, None, today=TODAY, now=later)

    assert again.needs and again.gained_needs == 0
    db.expire_all()
    rows = db.execute(sa.select(Need.id, Need.updated_at).where(Need.rematched_at == later)).all()
    assert len(rows) == again.needs
    # The need's last change (the worklist shows and sorts by it) stays what it was.
    assert all(updated == before[need_id] for need_id, updated in rows)
