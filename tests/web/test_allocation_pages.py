"""联合分配 pages: an office makes a plan from the form and sees it beside first come first
served in words, changes, removes and adds lines, and approves it (ticked) into referrals;
other roles and other counties are refused."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import AllocationPlan, AllocationPlanLine, AuditLog, Referral, User
from models.enums import AllocationLineStatus, AllocationPlanStatus, ReferralStatus
from tests.helpers import csrf_token, get_user, need_of, project_named, sign_in
from tests.web.test_english import chinese_labels
from tests.web.test_words_for_people import problems_in, read_words
from web.services.allocation import create_plan
from web.services.ledgers import build_edition
from web.services.matching import clear_cache

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
CONGHUA, WENQUAN, LUTIAN = "440117000000", "440117103000", "440117107000"
REHAB = "荔乡康复·困难残疾人康复训练资助"
WEIGHTS = {"urgent": "1", "priority_group": "0.5", "waiting": "0.5", "gap_share": "0.5",
           "township_floor": "y"}  # fmt: skip


@pytest.fixture
def office(app: Flask, db: Session) -> FlaskClient:
    """ca_conghua signed in, the ledgers of 从化 (and above) published, the clock fixed."""
    clear_cache()
    admin = get_user(db, "admin")
    for region in ("440000000000", "440100000000", CONGHUA, WENQUAN, LUTIAN):
        build_edition(db, admin, region, "2026H2", NOW)
    db.commit()
    app.config["CLOCK"] = lambda: NOW
    client = app.test_client()
    sign_in(client, "ca_conghua")
    return client


def make_plan(client: FlaskClient, **typed: str) -> tuple[int, str]:
    """The plan the form makes (with ``typed`` over the defaults) and its page."""
    token = csrf_token(client, "/allocation-plans/new")
    data = {"csrf_token": token, "region_code": CONGHUA, **WEIGHTS, **typed}
    made = client.post("/allocation-plans/new", data=data)
    assert made.status_code == 302, made.text
    plan_id = int(made.headers["Location"].rsplit("/", 1)[1])
    return plan_id, client.get(f"/allocation-plans/{plan_id}").text


def line_of(
    db: Session, plan_id: int, head_name: str, domain: str = "disability"
) -> AllocationPlanLine:
    need = need_of(db, head_name, domain)
    db.expire_all()
    line = db.scalar(
        sa.select(AllocationPlanLine).where(
            AllocationPlanLine.plan_id == plan_id, AllocationPlanLine.need_id == need.id
        )
    )
    assert line is not None, head_name
    return line


def post(client: FlaskClient, plan_id: int, path: str, **data: object) -> str:
    token = csrf_token(client, f"/allocation-plans/{plan_id}")
    response = client.post(f"/allocation-plans/{plan_id}{path}",
                           data={"csrf_token": token, **data}, follow_redirects=True)  # fmt: skip
    assert response.status_code == 200, response.text
    return response.text


def test_the_office_makes_a_plan_and_reads_it_beside_first_come_first_served(
    office: FlaskClient, db: Session
) -> None:
    form = office.get("/allocation-plans/new").text
    for label in ("急难加权", "重点群体加权", "等待天数加权", "缺口覆盖加权", "乡镇保底"):
        assert label in form
    assert "data-region-picker" in form and 'data-deepest="township"' in form

    plan_id, page = make_plan(office)
    words = read_words(page)
    for text in ("与先到先得对比", "加权总效益", "满足需求数", "急难需求满足数", "重点群体满足数",
                 "温泉镇", "吕田镇", "龙桥村委会", "陈建新", "助残", REHAB, "荔乡慈善会",
                 "6,000.00", "拟分配", "未分配的需求", "邱桂芳"):  # fmt: skip
        assert text in words, text
    assert 'id="township-chart"' in page and "vendor/chartjs/chart.umd.min.js" in page
    usernames = frozenset(db.scalars(sa.select(User.username)))
    assert problems_in(words, "plan", usernames) == []
    assert not re.search(r"\b4401171\d{5}\b", words), "a region code is shown"
    assert "600000" not in words  # fen

    # The plan gives the last places to the urgent need of a disabled child that first come
    # first served, going by who asked first, leaves out.
    urgent = re.search(r'data-testid="urgent-served">(\d+)<', page)
    urgent_fcfs = re.search(r'data-testid="urgent-fcfs">(\d+)<', page)
    assert urgent and urgent_fcfs and int(urgent[1]) > int(urgent_fcfs[1])
    assert line_of(db, plan_id, "陈建新").project.name == REHAB

    listed = office.get("/allocation-plans").text
    assert f"/allocation-plans/{plan_id}" in listed and "从化区" in listed and "待审批" in listed

    read = db.scalar(sa.select(AuditLog).where(AuditLog.action == "allocation_plan.read"))
    assert read is not None and read.object_id == str(plan_id)
    assert len(read.detail["households"]) >= 3


def test_a_weight_out_of_range_keeps_what_was_typed_and_says_why(office: FlaskClient) -> None:
    token = csrf_token(office, "/allocation-plans/new")
    response = office.post(
        "/allocation-plans/new",
        data={"csrf_token": token, "region_code": CONGHUA, **WEIGHTS, "urgent": "11",
              "waiting": "2.5"},
    )  # fmt: skip
    assert response.status_code == 422
    assert 'value="11"' in response.text and 'value="2.5"' in response.text
    assert "须为 0 至 10 之间的数" in response.text
    urgent_field = response.text.split('name="urgent"', 1)[1].split("</div>", 1)[0]
    assert "field-error" in urgent_field  # the error is beside 急难加权

    plan_id, _page = make_plan(office)
    again = office.post(
        f"/allocation-plans/{plan_id}/weights",
        data={"csrf_token": csrf_token(office, f"/allocation-plans/{plan_id}"), **WEIGHTS,
              "gap_share": "很多"},
    )  # fmt: skip
    assert again.status_code == 422
    assert 'value="很多"' in again.text and "须为 0 至 10 之间的数" in again.text


@pytest.mark.parametrize("username", ["station_a", "charity_f"])
def test_stations_and_charities_are_refused(client: FlaskClient, username: str) -> None:
    sign_in(client, username)
    for path in ("/allocation-plans", "/allocation-plans/new"):
        refused = client.get(path)
        assert refused.status_code == 403
        assert "您无权执行此操作" in refused.text or "只有民政部门工作人员" in refused.text


def test_another_countys_office_cannot_open_the_plan(
    office: FlaskClient, app: Flask, db: Session
) -> None:
    plan_id, _page = make_plan(office)
    ruyuan = app.test_client()
    sign_in(ruyuan, "ca_ruyuan")
    assert ruyuan.get(f"/allocation-plans/{plan_id}").status_code == 404
    assert f"/allocation-plans/{plan_id}" not in ruyuan.get("/allocation-plans").text
    token = csrf_token(ruyuan, "/allocation-plans")
    gone = ruyuan.post(f"/allocation-plans/{plan_id}/approve",
                       data={"csrf_token": token, "checked": "y"})  # fmt: skip
    assert gone.status_code == 404
    refusal = db.scalar(sa.select(AuditLog).where(AuditLog.action == "access.refused"))
    assert refusal is not None and refusal.detail["path"] == f"/allocation-plans/{plan_id}"


def test_lines_are_changed_removed_and_added(office: FlaskClient, db: Session) -> None:
    plan_id, _page = make_plan(office)
    tan = line_of(db, plan_id, "谭国平")
    assert tan.project.name == REHAB and tan.status == AllocationLineStatus.PROPOSED

    # The places are all given: 邱桂芳 cannot be added until a line lets one go.
    qiu = need_of(db, "邱桂芳", "disability")
    rehab = project_named(db, REHAB)
    full = post(office, plan_id, "/lines", need_id=qiu.id, project_id=rehab.id)
    assert "已全部分配" in full
    removed = post(office, plan_id, f"/lines/{tan.id}/remove")
    assert "已从方案中移除" in removed
    assert line_of(db, plan_id, "谭国平").status == AllocationLineStatus.REMOVED
    added = post(office, plan_id, "/lines", need_id=qiu.id, project_id=rehab.id)
    assert "已加入方案" in added
    assert line_of(db, plan_id, "邱桂芳").status == AllocationLineStatus.PROPOSED
    assert "已手工调整" in added

    # A project the hard rules did not allow the need is refused, and nothing changes.
    other = project_named(db, "从化区急难救助“一事一议”")
    line = line_of(db, plan_id, "陈建新")
    wrong = post(office, plan_id, f"/lines/{line.id}", project_id=other.id)
    assert "不符合这项需求的硬性条件" in wrong
    assert line_of(db, plan_id, "陈建新").project_id == rehab.id

    # 冯建华's urgent need goes to the province's emergency fund instead of the county's.
    line = line_of(db, plan_id, "冯建华", "emergency")
    province = project_named(db, "粤善急难·临时困难援助金")
    page = office.get(f"/allocation-plans/{plan_id}").text
    select = page.split(f'id="project-{line.id}"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{province.id}">' in select and "方案中剩余" in select
    assert "已改派" in post(office, plan_id, f"/lines/{line.id}", project_id=province.id)
    db.expire_all()
    assert db.get(AllocationPlanLine, line.id).project_id == province.id


def test_approving_needs_the_tick_and_another_officer(
    office: FlaskClient, app: Flask, db: Session
) -> None:
    plan_id, page = make_plan(office)
    assert "须由本部门其他工作人员核对批准" in page  # its maker may not approve it
    second = app.test_client()
    sign_in(second, "ca_conghua2")
    page = second.get(f"/allocation-plans/{plan_id}").text
    assert 'name="checked"' in page and "required" in page.split('name="checked"')[1][:80]
    assert "data-confirm" in page.split('data-testid="approve-plan"')[1][:40]

    unticked = post(second, plan_id, "/approve")
    assert "请先核对方案中的每一行" in unticked
    db.expire_all()
    assert db.get(AllocationPlan, plan_id).status == AllocationPlanStatus.DRAFT

    lines = [x.id for x in db.get(AllocationPlan, plan_id).lines]
    done = post(second, plan_id, "/approve", checked="y")
    assert "方案已批准" in done and "已批准" in done
    db.expire_all()
    plan = db.get(AllocationPlan, plan_id)
    assert plan.status == AllocationPlanStatus.APPROVED
    approved = [x for x in plan.lines if x.status == AllocationLineStatus.APPROVED]
    assert len(approved) == len(lines)
    referrals = db.scalars(sa.select(Referral).where(Referral.allocation_plan_id == plan_id)).all()
    assert len(referrals) == len(lines)
    assert {r.status for r in referrals} == {ReferralStatus.APPROVED}
    for line in approved:
        assert f'href="/referrals/{line.referral_id}"' in done
    assert re.search(r"已批准：\d+ 行已转为转介，0 行冲突未批准", read_words(done))
    assert 'data-testid="approve-form"' not in done and "改派" not in read_words(done)

    # The charity finds the plan's referral in its inbox.
    charity = app.test_client()
    sign_in(charity, "charity_f")
    chen = next(r for r in referrals if r.need.household.head_name == "陈建新")
    assert f"/referrals/{chen.id}" in charity.get("/referrals").text


def test_a_line_whose_place_went_meanwhile_is_a_conflict(
    office: FlaskClient, app: Flask, db: Session
) -> None:
    plan = create_plan(db, get_user(db, "ca_conghua"), CONGHUA, {}, now=NOW)
    rehab = project_named(db, REHAB)
    rehab.quota_used = rehab.quota  # the last places went elsewhere after the plan was made
    db.commit()
    second = app.test_client()
    sign_in(second, "ca_conghua2")
    done = post(second, plan.id, "/approve", checked="y")
    assert re.search(r"已批准：\d+ 行已转为转介，2 行冲突未批准", read_words(done))
    assert done.count('data-testid="conflict-reason"') == 2


def test_the_pages_name_things_in_english_when_english_is_chosen(office: FlaskClient) -> None:
    plan_id, _page = make_plan(office)
    token = csrf_token(office, "/home")
    office.post("/language", data={"csrf_token": token, "lang": "en", "next": "/home"})
    for path in ("/allocation-plans", "/allocation-plans/new", f"/allocation-plans/{plan_id}"):
        page = office.get(path)
        assert page.status_code == 200 and 'lang="en"' in page.text
        assert chinese_labels(page.text) == [], path
    assert "Compared with first come, first served" in page.text
