"""In a real browser: an administrator opens a station at a real village found through the
region picker and creates its user; that user signs in, must choose a password, and registers a
household; the administrator reads all of it in the audit log and exports it."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from playwright.sync_api import Browser, expect

from tests.browser.helpers import go_to, new_page, sign_in
from tests.browser.test_layout import AXE, axe_violations

XINTIAN = "440117103217"  # 广州市从化区温泉镇新田村委会
HEAD_ID = "440122196203150010"
HANDED = "handed-over-2026"
OWN = "xintian-own-2026"


def test_admin_sets_up_a_village_station_whose_user_registers_a_household_on_record(
    browser: Browser, live_server: str
) -> None:
    admin = new_page(browser, live_server, viewport={"width": 1366, "height": 900})
    admin.context.add_init_script(path=str(AXE))
    sign_in(admin, "admin")
    go_to(admin, "服务站")
    admin.get_by_test_id("station-new").click()
    form = admin.locator("form", has=admin.get_by_test_id("station-save"))
    form.get_by_label("服务站名称").fill("新田村救助服务点")
    form.get_by_label("类型").select_option(label="村（社区）救助服务点")
    # Down the lists to 温泉镇, then by name to the village.
    form.get_by_test_id("region-city").select_option(label="广州市")
    form.get_by_test_id("region-county").select_option(label="从化区")
    form.get_by_test_id("region-township").select_option(label="温泉镇")
    expect(form.get_by_test_id("region-picked")).to_contain_text("从化区 温泉镇")
    form.get_by_test_id("region-search").fill("新田村")
    form.get_by_test_id("region-results").get_by_role(
        "button", name="广州市 从化区 温泉镇 新田村委会"
    ).click()
    expect(form.get_by_test_id("region-village")).to_have_value(XINTIAN)
    expect(form.get_by_test_id("region-picked")).to_contain_text("温泉镇 新田村委会")
    assert axe_violations(admin, ".region-picker") == []
    form.get_by_test_id("station-save").click()
    expect(admin.get_by_test_id("stations")).to_contain_text("新田村委会")

    go_to(admin, "用户账号")
    admin.get_by_test_id("user-new").click()
    admin.get_by_label("用户名").fill("xintian_li")
    admin.get_by_label("姓名").fill("黎秀英")
    admin.get_by_label("角色").select_option(label="救助服务站工作人员")
    admin.get_by_label("所属服务站").select_option(label="新田村救助服务点")
    admin.get_by_label("初始密码").fill(HANDED)
    admin.get_by_test_id("user-save").click()
    expect(admin.locator("tr[data-username=xintian_li]")).to_contain_text("待修改初始密码")

    station = new_page(browser, live_server, viewport={"width": 1366, "height": 900})
    sign_in(station, "xintian_li", HANDED)
    expect(station).to_have_url(f"{live_server}/account/password")
    station.get_by_label("当前密码").fill(HANDED)
    station.get_by_label("新密码", exact=True).fill(OWN)
    station.get_by_label("确认新密码").fill(OWN)
    station.get_by_role("button", name="保存").click()
    expect(station.get_by_text("密码已修改")).to_be_visible()

    go_to(station, "困难家庭")
    station.get_by_role("link", name="登记困难家庭").click()
    household = station.get_by_test_id("household-form")
    household.get_by_label("所在村（社区）").select_option(XINTIAN)
    household.get_by_label("低保对象").check()
    head = station.get_by_test_id("member-0")
    head.get_by_label("姓名").fill("冯德胜")
    head.get_by_label("身份证号").fill(HEAD_ID)
    household.get_by_role("button", name="保存").click()
    expect(station.get_by_test_id("household-title")).to_contain_text("冯德胜")
    assert station.console_errors == []  # type: ignore[attr-defined]
    station.context.close()

    go_to(admin, "审计日志")
    admin.get_by_label("操作人（用户名）").fill("xintian_li")
    admin.get_by_role("button", name="筛选").click()
    log = admin.get_by_test_id("audit")
    for action in ("登录", "修改密码", "登记困难家庭"):
        expect(log.locator("td", has_text=action).first).to_be_visible()
    with admin.expect_download() as download:
        admin.get_by_test_id("audit-export").click()
    saved = download.value
    assert saved.suggested_filename.endswith(".xlsx")
    rows = list(load_workbook(io.BytesIO(saved.path().read_bytes())).active.values)
    assert rows[0][:3] == ("时间", "操作人", "操作")
    assert {"登录", "修改密码", "登记困难家庭"} <= {row[2] for row in rows[1:]}
    assert all("xintian_li" in str(row[1]) for row in rows[1:])
    assert admin.console_errors == []  # type: ignore[attr-defined]
    admin.context.close()
