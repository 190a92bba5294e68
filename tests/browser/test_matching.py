"""In a real browser: a station user opens a need, sees ranked projects with Chinese reasons,
and starts a referral from the top one."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Browser, expect

from models.base import utcnow
from tests.browser.helpers import new_page, sign_in
from tests.helpers import get_user
from web.services.ledgers import build_edition


def publish_ledgers(live_app: Flask) -> None:
    with live_app.extensions["sessionmaker"]() as db:
        admin = get_user(db, "admin")
        for region in ("440000000000", "440100000000", "440117000000"):
            build_edition(db, admin, region, "2026H2", utcnow())
        db.commit()


def test_open_a_need_see_ranked_projects_and_refer_to_the_top_one(
    browser: Browser, live_server: str, live_app: Flask
) -> None:
    publish_ledgers(live_app)
    page = new_page(browser, live_server)
    sign_in(page, "station_a")
    page.get_by_role("link", name="困难家庭", exact=True).click()
    page.get_by_role("link", name="钟伟明").click()
    row = page.get_by_test_id("need-table").locator("tr", has_text="透析")
    row.get_by_role("link", name="查找匹配项目").click()

    expect(page.get_by_role("heading", name="查找匹配项目")).to_be_visible()
    matches = page.get_by_test_id("match")
    expect(matches.first).to_contain_text("重特大疾病")
    expect(matches.first.get_by_test_id("reasons")).to_contain_text("帮扶领域相符（医疗/大病）")
    assert matches.count() >= 3
    top_name = matches.first.locator("strong").first.inner_text()
    matches.first.get_by_role("button", name="发起转介").click()
    expect(page.get_by_text("已发起转介（草稿）")).to_be_visible()
    expect(page.get_by_test_id("match").first).to_contain_text(top_name)
    expect(page.get_by_test_id("match").first).to_contain_text("已转介到此项目")
    page.get_by_role("link", name="查看被排除的项目及原因").click()
    expect(page.get_by_test_id("excluded")).to_contain_text("年龄不符")
    assert page.console_errors == []  # type: ignore[attr-defined]  # set by new_page
    page.context.close()
