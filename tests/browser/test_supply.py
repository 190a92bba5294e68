"""In a real browser: a charity registers a project, the county verifies it and publishes the
ledger, and a station of that county finds the project in its ledger page."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.browser.helpers import confirm, go_to, new_page, sign_in

PROJECT_NAME = "荔乡助老·独居老人冬季探访"


def test_project_from_registration_to_the_station_ledger(
    browser: Browser, live_server: str
) -> None:
    charity = new_page(browser, live_server)
    sign_in(charity, "charity_f")
    # 我的项目 is a menu of the bar (with 导入项目): open it, then the page.
    charity.locator("nav summary", has_text="我的项目").click()
    charity.get_by_role("link", name="我的项目").click()
    charity.get_by_role("link", name="登记新项目").click()
    form = charity.get_by_test_id("project-form")
    form.get_by_label("项目名称").fill(PROJECT_NAME)
    form.get_by_label("项目简介").fill("冬季为独居、失能老人上门探访，送去棉被和取暖用品。")
    form.get_by_label("养老/失能照护").check()
    form.get_by_label("失能老人").check()
    form.get_by_label("访视照料").check()
    form.get_by_label("名额", exact=True).fill("")
    form.get_by_role("button", name="保存").click()
    # What was typed stays; the missing quota is named.
    expect(charity.get_by_text("请填写名额。")).to_be_visible()
    expect(form.get_by_label("项目名称")).to_have_value(PROJECT_NAME)
    charity.console_errors.clear()  # type: ignore[attr-defined]  # the 422 just asserted
    form.get_by_label("名额", exact=True).fill("60")
    form.get_by_label("开始日期").fill("2026-11-01")
    form.get_by_label("结束日期").fill("2027-03-31")
    form.get_by_role("button", name="保存").click()
    row = charity.locator("tr", has_text=PROJECT_NAME)
    expect(row).to_contain_text("草稿")
    row.get_by_role("button", name="提交审核").click()
    expect(charity.locator("tr", has_text=PROJECT_NAME)).to_contain_text("待审核")

    county = new_page(browser, live_server)
    sign_in(county, "ca_conghua")
    go_to(county, "审核")
    queued = county.get_by_test_id("project-queue").locator("tr", has_text=PROJECT_NAME)
    queued.get_by_role("button", name="通过").click()
    confirm(county, "通过后项目按所示内容生效")
    expect(county.get_by_text("已审核通过。")).to_be_visible()
    go_to(county, "资源台账")
    # Publishing cannot be undone: it asks first, and 取消 (or Escape) publishes nothing.
    county.get_by_role("button", name="发布台账").click()
    dialog = county.get_by_role("dialog")
    expect(dialog).to_contain_text("已发布的版本不能撤回")
    expect(dialog.get_by_role("button", name="取消")).to_be_focused()
    county.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(county.get_by_role("button", name="发布台账")).to_be_focused()
    expect(county.get_by_test_id("edition-title")).to_have_count(0)
    county.get_by_role("button", name="发布台账").click()
    confirm(county, "所辖服务站和慈善组织立即可见")
    expect(county.get_by_test_id("edition-title")).to_contain_text("从化区")
    expect(county.get_by_test_id("diff")).to_contain_text(PROJECT_NAME)
    with county.expect_download() as download:
        county.get_by_test_id("download").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    station = new_page(browser, live_server)
    sign_in(station, "station_a")
    # 资源台账 sits in the station bar's 资源 menu, beside 本地资源.
    station.locator("nav summary", has_text="资源").click()
    station.get_by_role("link", name="资源台账").click()
    expect(station).to_have_url(re.compile(r"/ledgers/current$"))
    expect(station.get_by_test_id("current-edition").filter(has_text=PROJECT_NAME)).to_be_visible()
    for page in (charity, county, station):
        assert page.console_errors == []  # type: ignore[attr-defined]  # set by new_page
        page.context.close()
