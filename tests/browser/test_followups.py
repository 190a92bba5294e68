"""In a real browser, the station follows up a completed referral (回访): a missing answer
keeps what was typed; saying nothing arrived flags it to the district office, which records
its check after confirming."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Browser, expect

from tests.browser.helpers import confirm, new_page, sign_in
from tests.helpers import get_user, need_of, project_named
from web.services.referrals import workflow

PROJECT = "安居工程·困难老人住房修缮与适老化改造"


def completed_referral(live_app: Flask) -> int:
    """陈建新's disability need, referred to charity_f's housing project and completed."""
    with live_app.extensions["sessionmaker"]() as db:
        station, office, charity = (
            get_user(db, name) for name in ("station_a", "ca_conghua", "charity_f")
        )
        need = need_of(db, "陈建新", "disability")
        referral = workflow.start_referral(db, station, need.id, project_named(db, PROJECT).id)
        workflow.submit_referral(db, station, referral.id)
        workflow.approve_referral(db, office, referral.id)
        workflow.accept_referral(db, charity, referral.id)
        workflow.start_service(db, charity, referral.id)
        workflow.complete_referral(db, charity, referral.id, delivered_amount_fen=300_000)
        db.commit()
        return referral.id


def test_a_follow_up_saying_nothing_arrived_reaches_the_office_which_records_its_check(
    browser: Browser, live_server: str, live_app: Flask
) -> None:
    rid = completed_referral(live_app)

    station = new_page(browser, live_server)
    sign_in(station, "station_a")
    station.goto("/referrals")
    station.get_by_test_id("follow-ups-due").get_by_role("link", name=f"转介 {rid}").click()
    form = station.get_by_test_id("follow-up-form")
    received = form.get_by_role("group", name="家庭是否收到帮扶")
    received.get_by_label("否").check()
    form.get_by_role("group", name="家庭满意度").get_by_label("2 不满意").check()
    form.get_by_label("回访说明（选填）").fill("户主说没有收到修缮款")
    form.get_by_role("button", name="登记回访").click()
    expect(station.get_by_text("请选择需求是否已满足。")).to_be_visible()
    form = station.get_by_test_id("follow-up-form")
    expect(form.get_by_role("group", name="家庭是否收到帮扶").get_by_label("否")).to_be_checked()
    expect(form.get_by_label("回访说明（选填）")).to_have_value("户主说没有收到修缮款")
    form.get_by_role("group", name="金额或服务是否与完成时记录的一致").get_by_label("否").check()
    form.get_by_role("group", name="需求是否已满足").get_by_label("否").check()
    form.get_by_role("button", name="登记回访").click()
    expect(station.get_by_text("回访与完成记录不符，已提请民政部门核实。")).to_be_visible()
    expect(station.get_by_test_id("follow-up-flagged")).to_be_visible()

    office = new_page(browser, live_server)
    sign_in(office, "ca_conghua")
    office.goto(f"/referrals/{rid}")
    expect(office.get_by_test_id("follow-up-flagged")).to_be_visible()
    resolve = office.get_by_test_id("follow-up-resolve-form")
    resolve.get_by_label("核实处理情况").fill("已联系慈善会，修缮款本周补发到户")
    resolve.get_by_role("button", name="记录核实处理情况").click()
    confirm(office, "核实处理情况将记入转介的办理经过")
    expect(office.get_by_test_id("follow-up-resolved")).to_contain_text("修缮款本周补发到户")
    expect(office.get_by_test_id("timeline")).to_contain_text("回访核实")

    # The station's only error is the refused follow-up with an answer missing (answered 422).
    assert [e for e in station.console_errors if "422" not in e] == []  # type: ignore[attr-defined]
    assert office.console_errors == []  # type: ignore[attr-defined]
    for page in (station, office):
        page.context.close()
