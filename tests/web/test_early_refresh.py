"""An early refresh waits for its half-year: the 2027H1 ledger published in December 2026 is
下期台账 until 1 January 2027, 00:00 in Guangdong, and current from then on, for matching and
on every page, without another job run."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from jobs.tasks import TASKS, JobContext
from models import JobRun, LedgerEdition, Need, Notification, Project
from models.clock import local_date, period_slot
from models.enums import ProjectStatus
from tests.helpers import bearer, get_user, sign_in
from web.services.jobs import JOBS
from web.services.ledgers import build_edition, current_editions, upcoming_editions
from web.services.matching import clear_cache, match_need
from web.services.projects import ProjectInput, register_project

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: The departments whose ledgers cover 温泉镇 (station_a): province, 广州, 从化.
COVERING = ("440000000000", "440100000000", "440117000000")
PUBLISHED_2026H2 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
REFRESHED = dt.datetime(2026, 12, 20, 10, 0, tzinfo=SHANGHAI)
LAST_SECOND = dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=SHANGHAI)
#: Midnight in Guangdong, 16:00 UTC on the 31st: the UTC date must not decide.
NEW_YEAR = dt.datetime(2027, 1, 1, 0, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
WAITING = "下期台账（2027年上半年，1月1日生效）"


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    clear_cache()


def dialysis_need(db: Session) -> Need:
    need = db.scalar(sa.select(Need).where(Need.text.contains("透析")).order_by(Need.id))
    assert need is not None
    return need


def new_dialysis_fund(db: Session) -> Project:
    """A 从化 fund verified on 10 December: too late for the 2026H2 ledger, running already."""
    project = register_project(
        db, get_user(db, "charity_f"),
        ProjectInput(
            name="荔乡肾友透析补助", description="为尿毒症透析患者补助自付的透析费用。",
            domains=["medical"], target_groups=["serious_illness"], service_area=["440117000000"],
            quota=30, starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2027, 6, 30),
            amount_per_beneficiary_fen=3_000_000,
        ),
    )  # fmt: skip
    project.status = ProjectStatus.VERIFIED
    project.verified_at = project.confirmed_at = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
    db.flush()
    return project


def refresh_2027h1_on(db: Session, moment: dt.datetime) -> dict[str, Any]:
    """The ledger_refresh job's task for 2027H1, run by hand at ``moment``."""
    slot = period_slot(JOBS["ledger_refresh"].trigger(), "2027H1")
    context = JobContext(db=db, slot=slot, now=moment.astimezone(dt.UTC),
                         options={"period": "2027H1"})  # fmt: skip
    return TASKS["ledger_refresh"](context)


def offered(db: Session, need: Need, day: dt.date) -> set[int | str]:
    """Every project the matcher considered for the need on ``day``, offered or excluded."""
    ranking = match_need(db, get_user(db, "station_a"), need.id, today=day, explain=True,
                         limit=50).ranking  # fmt: skip
    return {m.project.id for m in ranking.items} | {e.project.id for e in ranking.excluded}


def at(app: Flask, moment: dt.datetime) -> None:
    app.config["CLOCK"] = lambda: moment


def sections(page: str, testid: str) -> list[str]:
    return re.findall(rf'<section data-testid="{testid}">(.*?)</section>', page, re.S)


def test_a_2027h1_refresh_on_20_december_waits_for_new_years_midnight(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    admin = get_user(db, "admin")
    for code in COVERING:
        build_edition(db, admin, code, "2026H2", PUBLISHED_2026H2)
    fund = new_dialysis_fund(db)
    need = dialysis_need(db)
    region = get_user(db, "station_a").region_code
    assert fund.id not in offered(db, need, local_date(REFRESHED))

    counts = refresh_2027h1_on(db, REFRESHED)
    assert counts["period"] == "2027H1" and counts["published"] > 0
    db.commit()
    written = db.execute(
        sa.select(LedgerEdition.id, LedgerEdition.superseded_on).order_by(LedgerEdition.id)
    ).all()
    runs = db.scalar(sa.select(sa.func.count(JobRun.id)))
    sign_in(client, "station_a")
    token = bearer(client, "station_a")

    for moment in (REFRESHED, LAST_SECOND):
        day = local_date(moment)
        # The service: 2026H2 is current, 2027H1 waits.
        assert {e.period for e in current_editions(db, region, day)} == {"2026H2"}
        assert {e.period for e in upcoming_editions(db, region, day)} == {"2027H1"}
        # Matching: the fund is only in the waiting ledger, so it is not a candidate.
        assert fund.id not in offered(db, need, day)
        at(app, moment)
        api = client.get(f"/api/v1/needs/{need.id}/matches?limit=50", headers=token).json
        assert fund.id not in [item["project_id"] for item in api["items"]]
        # The page: 当前台账 2026年下半年, and the 2027H1 ledger as 下期台账 with its changes.
        page = client.get("/ledgers/current").text
        current = sections(page, "current-edition")
        assert current and all("当前台账 2026年下半年" in s for s in current)
        assert not any("荔乡肾友透析补助" in s for s in current)
        waiting = sections(page, "upcoming-edition")
        assert waiting and all(WAITING in s for s in waiting)
        # The county's (温泉镇's own edition of local resources waits below it).
        (county,) = [s for s in waiting if "从化区" in s and "温泉镇" not in s]
        assert re.search(r"新增 1：<span[^>]*>荔乡肾友透析补助</span>", county)

    # 00:00 on 1 January in Guangdong: nothing runs, the rows stay as they were ...
    day = local_date(NEW_YEAR)
    assert day == dt.date(2027, 1, 1) and NEW_YEAR.date() == dt.date(2026, 12, 31)
    # ... and 2027H1 is current everywhere.
    assert {e.period for e in current_editions(db, region, day)} == {"2027H1"}
    assert upcoming_editions(db, region, day) == []
    assert fund.id in offered(db, need, day)
    at(app, NEW_YEAR)
    api = client.get(f"/api/v1/needs/{need.id}/matches?limit=50", headers=token).json
    assert fund.id in [item["project_id"] for item in api["items"]]
    page = client.get("/ledgers/current").text
    current = sections(page, "current-edition")
    assert current and all("当前台账 2027年上半年" in s for s in current)
    assert any("荔乡肾友透析补助" in s for s in current)
    assert sections(page, "upcoming-edition") == [] and WAITING not in page
    db.expire_all()
    assert (
        db.execute(
            sa.select(LedgerEdition.id, LedgerEdition.superseded_on).order_by(LedgerEdition.id)
        ).all()
        == written
    )
    assert db.scalar(sa.select(sa.func.count(JobRun.id))) == runs


def test_stations_are_told_when_an_early_ledger_takes_effect(db: Session) -> None:
    admin = get_user(db, "admin")
    for code in COVERING:
        build_edition(db, admin, code, "2026H2", PUBLISHED_2026H2)
    refresh_2027h1_on(db, REFRESHED)
    (told,) = db.scalars(
        sa.select(Notification.message).where(
            Notification.user_id == get_user(db, "station_a").id, Notification.kind == "ledger"
        )
    ).all()
    announced = f"2027年上半年 慈善帮扶资源台账已发布，为{WAITING}，此前仍使用当前台账："
    assert told.startswith(announced)
    assert "从化区" in told


def test_an_early_edition_rebuilt_before_its_half_year_replaces_the_first_one(
    db: Session,
) -> None:
    office = get_user(db, "ca_conghua")
    county = "440117000000"
    current = build_edition(db, office, county, "2026H2", PUBLISHED_2026H2).edition
    first = build_edition(db, office, county, "2027H1", REFRESHED).edition
    fund = new_dialysis_fund(db)
    second = build_edition(db, office, county, "2027H1", REFRESHED + dt.timedelta(days=3))
    second_edition = second.edition
    december, new_year = local_date(LAST_SECOND), local_date(NEW_YEAR)
    assert [e.id for e in current_editions(db, county, december)] == [current.id]
    assert [e.id for e in upcoming_editions(db, county, december)] == [second_edition.id]
    assert [e.id for e in current_editions(db, county, new_year)] == [second_edition.id]
    # The first 2027H1 edition never takes effect, and the second is compared with what
    # stations use until then.
    assert first.state_on(december).value == first.state_on(new_year).value == "superseded"
    assert first.status.value == "superseded" and current.status.value == "published"
    assert current.state_on(december).value == "current"
    assert current.state_on(new_year).value == "superseded"
    assert second_edition.previous_id == current.id
    assert [e.project_id for e in second_edition.entries if e.change == "added"] == [fund.id]


def test_an_edition_for_the_half_year_under_way_takes_effect_at_once(db: Session) -> None:
    office = get_user(db, "ca_conghua")
    county = "440117000000"
    first = build_edition(db, office, county, "2026H2", PUBLISHED_2026H2).edition
    rebuilt = build_edition(db, office, county, "2026H2", REFRESHED).edition
    assert rebuilt.effective_from == dt.date(2026, 7, 1)
    assert first.superseded_on == local_date(REFRESHED)
    assert [e.id for e in current_editions(db, county, local_date(REFRESHED))] == [rebuilt.id]
    # The day before, the first one was still the one in use.
    earlier = local_date(REFRESHED) - dt.timedelta(days=1)
    assert first.state_on(earlier).value == "current"


def test_the_ledger_pages_name_each_edition_for_the_day(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    office = get_user(db, "ca_conghua")
    county = "440117000000"
    current = build_edition(db, office, county, "2026H2", PUBLISHED_2026H2).edition
    new_dialysis_fund(db)
    waiting = build_edition(db, office, county, "2027H1", REFRESHED).edition
    db.commit()
    sign_in(client, "ca_conghua")
    at(app, REFRESHED)
    page = client.get(f"/ledgers/{waiting.id}").text
    assert WAITING in page and "2027-01-01 起生效" in page and "与当前台账相比" in page
    assert re.search(r"新增 1：<span[^>]*>荔乡肾友透析补助</span>", page)
    rows = re.findall(r"<tr><td><a.*?</tr>", client.get("/ledgers").text, re.S)
    (early,) = [row for row in rows if "<td>2027年上半年</td>" in row]
    (in_use,) = [row for row in rows if "<td>2026年下半年</td>" in row]
    assert "待生效（2027-01-01 起）" in early and "当前" in in_use
    at(app, NEW_YEAR)
    assert "当前" in client.get(f"/ledgers/{waiting.id}").text
    assert "已被新版本替代" in client.get(f"/ledgers/{current.id}").text


def test_of_two_waiting_editions_the_next_to_take_effect_is_shown_first(db: Session) -> None:
    office = get_user(db, "ca_conghua")
    county = "440117000000"
    build_edition(db, office, county, "2026H2", PUBLISHED_2026H2)
    spring = build_edition(db, office, county, "2027H1", REFRESHED).edition
    autumn = build_edition(db, office, county, "2027H2", REFRESHED).edition
    assert [e.id for e in upcoming_editions(db, county, local_date(REFRESHED))] == [spring.id]
    new_year = local_date(NEW_YEAR)
    assert [e.id for e in current_editions(db, county, new_year)] == [spring.id]
    assert [e.id for e in upcoming_editions(db, county, new_year)] == [autumn.id]
    assert spring.superseded_on == dt.date(2027, 7, 1)
    assert [e.id for e in current_editions(db, county, dt.date(2027, 7, 1))] == [autumn.id]
