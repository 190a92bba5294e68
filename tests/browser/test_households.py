"""In a real browser: a station user registers a household with two members and a need, sees
the ID number masked (and whole only after "显示"), finds the need on the worklist, and finds
the household again by its ID number without the number entering the address."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.helpers import new_page, sign_in

HEAD_ID = "440122195802140012"
NEED_TEXT = "老伴瘫痪在床，白天无人照料，需要上门护理和助浴服务。"


def test_register_a_household_and_find_its_need_on_the_worklist(
    browser: Browser, live_server: str
) -> None:
    page = new_page(browser, live_server)
    sign_in(page, "station_a")
    page.get_by_role("link", name="困难家庭", exact=True).click()
    page.get_by_role("link", name="登记困难家庭").click()
    form = page.get_by_test_id("household-form")
    form.get_by_label("所在村（社区）").select_option("440117103220")
    form.get_by_label("联系电话").fill("13922223333")
    form.get_by_label("低保边缘").check()
    head = page.get_by_test_id("member-0")
    head.get_by_label("姓名").fill("罗振华")
    head.get_by_label("身份证号").fill(HEAD_ID[:-1] + "8")  # a mistyped check digit
    spouse = page.get_by_test_id("member-1")
    spouse.get_by_label("姓名").fill("陈桂兰")
    spouse.get_by_label("关系").select_option("spouse")
    spouse.get_by_label("出生日期").fill("1957-05-20")
    spouse.get_by_label("自理能力").select_option("dependent")
    form.get_by_role("button", name="保存").click()
    # Refused with the reason beside the field, and everything typed is still there.
    expect(page.get_by_text("身份证号的校验位")).to_be_visible()
    expect(page.get_by_test_id("member-1").get_by_label("姓名")).to_have_value("陈桂兰")
    page.console_errors.clear()  # type: ignore[attr-defined]  # the 422 just asserted
    page.get_by_test_id("member-0").get_by_label("身份证号").fill(HEAD_ID)
    page.get_by_test_id("household-form").get_by_role("button", name="保存").click()

    expect(page.get_by_test_id("household-title")).to_contain_text("罗振华")
    members = page.get_by_test_id("member-table")
    expect(members).to_contain_text("440122************")
    expect(members).not_to_contain_text(HEAD_ID)
    expect(page.get_by_test_id("priority-groups")).to_contain_text("失能老人")
    members.get_by_role("button", name="显示").click()
    expect(page.get_by_test_id("revealed-id")).to_have_text(HEAD_ID)

    page.get_by_text("登记帮扶需求").click()
    need = page.get_by_test_id("need-form")
    need.get_by_label("帮扶领域").select_option("elderly")
    need.get_by_label("紧急程度").select_option("urgent")
    need.get_by_label("需求描述").fill(NEED_TEXT)
    need.get_by_role("button", name="登记需求").click()
    expect(page.get_by_test_id("need-table")).to_contain_text(NEED_TEXT)

    page.get_by_role("link", name="待办需求").first.click()
    row = page.get_by_test_id("worklist").locator("tr", has_text=NEED_TEXT)
    expect(row).to_contain_text("罗振华")
    expect(row).to_contain_text("未享受政府救助")
    expect(page.get_by_test_id("worklist").locator("tbody tr").first).to_contain_text("急难")

    # Found again by the whole ID number, which stays out of the address bar and history.
    page.get_by_role("link", name="困难家庭", exact=True).click()
    page.get_by_label("查找").fill(HEAD_ID)
    page.get_by_role("button", name="搜索").click()
    expect(page.get_by_test_id("household-table").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("household-table")).to_contain_text("罗振华")
    expect(page.get_by_label("查找")).to_have_value(HEAD_ID)
    assert HEAD_ID not in page.url and "q=" not in page.url
    # Opening the household and going back finds the results again, with nothing to resend.
    page.get_by_test_id("household-table").get_by_role("link", name="罗振华").click()
    expect(page.get_by_test_id("household-title")).to_contain_text("罗振华")
    page.go_back()
    expect(page.get_by_test_id("household-table")).to_contain_text("罗振华")
    expect(page.get_by_label("查找")).to_have_value(HEAD_ID)
    assert page.console_errors == []  # type: ignore[attr-defined]  # set by new_page
    page.context.close()
