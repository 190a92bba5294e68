"""In a real browser, three people walk one referral from a station's need to completion:
the station proposes and submits, the district office approves, the charity accepts, logs
its visits and completes; the need ends partly met, the rest of its gap still open."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.browser.helpers import confirm, go_to, new_page, sign_in
from tests.browser.test_matching import publish_ledgers

PROJECT = "从化区急难救助“一事一议”"


def open_referral_from_list(page: Page, nav: str, text: str) -> None:
    go_to(page, nav)
    row = page.get_by_test_id("referral-row").filter(has_text=text).first
    row.get_by_role("link").first.click()


def test_one_referral_from_a_need_through_approval_to_completion(
    browser: Browser, live_server: str, live_app: Flask
) -> None:
    publish_ledgers(live_app)

    # The station: find a match for 冯建华's urgent need and refer it.
    station = new_page(browser, live_server)
    sign_in(station, "station_a")
    station.get_by_role("link", name="困难家庭", exact=True).click()
    station.get_by_role("link", name="冯建华").click()
    row = station.get_by_test_id("need-table").locator("tr", has_text="急难")
    row.get_by_role("link", name="查找匹配项目").click()
    match = station.get_by_test_id("match").filter(has_text=PROJECT)
    expect(match.get_by_test_id("reasons")).not_to_be_empty()
    match.get_by_role("button", name="发起转介").click()
    station.get_by_test_id("open-referral").click()
    expect(station.get_by_test_id("referral-status")).to_have_text("草稿")
    station.get_by_test_id("step-submit").click()
    expect(station.get_by_text("已提交民政部门审批。")).to_be_visible()
    expect(station.get_by_test_id("referral-status")).to_have_text("待审批")
    referral_url = station.url

    # The district office: the referral waits in its queue; a return needs a reason.
    office = new_page(browser, live_server)
    sign_in(office, "ca_conghua")
    expect(office.get_by_test_id("unread-count")).to_be_visible()
    open_referral_from_list(office, "转介审批", PROJECT)
    office.get_by_test_id("step-return").click()
    confirm(office, "退回后转介回到服务站")
    expect(office.get_by_text("请填写退回原因。")).to_be_visible()
    expect(office.get_by_label("退回原因")).to_be_focused()  # the error is where the cursor is
    office.get_by_test_id("step-approve").click()
    confirm(office, "批准后将占用该项目 1 个名额并通知慈善组织")
    expect(office.get_by_test_id("referral-status")).to_have_text("已批准")

    # The charity: before accepting it sees no name; after, the contact.
    charity = new_page(browser, live_server)
    sign_in(charity, "charity_f")
    open_referral_from_list(charity, "转介收件箱", PROJECT)
    expect(charity.locator("main")).not_to_contain_text("冯建华")
    expect(charity.locator("main")).to_contain_text("简化程序")
    charity.get_by_test_id("step-accept").click()
    expect(charity.get_by_test_id("contact")).to_contain_text("冯建华")
    charity.get_by_test_id("step-start").click()
    expect(charity.get_by_test_id("referral-status")).to_have_text("服务中")
    charity.get_by_text("登记一次服务").click()
    form = charity.get_by_test_id("episode-form")
    form.get_by_label("服务类型").select_option(label="应急救助")
    form.get_by_label("折合金额（元）").fill("6000")
    form.get_by_label("备注").fill("送医垫付及慰问")
    form.get_by_role("button", name="登记").click()
    expect(charity.get_by_test_id("episodes")).to_contain_text("送医垫付及慰问")
    charity.get_by_test_id("step-complete").click()
    confirm(charity, "完成帮扶后本次转介结束")
    expect(charity.get_by_test_id("referral-status")).to_have_text("已完成")
    expect(charity.get_by_test_id("delivered")).to_contain_text("6,000.00")

    # Back at the station: told by the bell; ¥6,000 of a ¥30,000 gap leaves the need partly
    # met, with the rest open for another referral.
    station.goto(referral_url)
    expect(station.get_by_test_id("need-status")).to_have_text("部分满足")
    expect(station.get_by_test_id("remaining-gap")).to_contain_text("24,000.00")
    expect(station.get_by_test_id("timeline")).to_contain_text("已完成")
    station.get_by_test_id("bell").click()
    expect(station.get_by_test_id("notifications")).to_contain_text("帮扶已完成")
    station.get_by_role("link", name="困难家庭", exact=True).click()
    station.get_by_role("link", name="冯建华").click()
    expect(station.get_by_test_id("chain")).to_contain_text(PROJECT)

    # ``console_errors`` is set by new_page, unknown to Playwright's Page (the ignores below).
    assert station.console_errors == charity.console_errors == []  # type: ignore[attr-defined]
    # The office's only error is the refused return without a reason (answered 422).
    assert [e for e in office.console_errors if "422" not in e] == []  # type: ignore[attr-defined]
    for page in (station, office, charity):
        page.context.close()
