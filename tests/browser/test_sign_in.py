"""In a real browser: a station user signs in and sees that station; another gets 404."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from models import Household, User
from tests.browser.helpers import sign_in, sign_out
from tests.helpers import DEMO_PASSWORD


def first_household_of(live_app: Flask, username: str) -> int:
    with live_app.extensions["engine"].connect() as conn:
        station_id = conn.scalar(sa.select(User.station_id).where(User.username == username))
        return conn.scalar(
            sa.select(Household.id).where(Household.station_id == station_id).limit(1)
        )


def test_station_user_sees_their_chinese_home_page(page: Page) -> None:
    sign_in(page, "station_a")
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.get_by_test_id("home-title")).to_have_text("温泉镇综合救助服务站")
    expect(page.get_by_test_id("current-user")).to_contain_text("陈志峰")
    expect(page.get_by_role("link", name="困难家庭", exact=True)).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_role("link", name="查看本站困难家庭").click()
    expect(page.get_by_test_id("household-table")).to_contain_text("钟伟明")
    assert page.console_errors == []  # type: ignore[attr-defined]  # set by new_page


def test_another_station_gets_404_on_that_household(page: Page, live_app: Flask) -> None:
    household_id = first_household_of(live_app, "station_a")
    sign_in(page, "station_c")
    expect(page.get_by_test_id("home-title")).to_be_visible()
    response = page.goto(f"/households/{household_id}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    own = first_household_of(live_app, "station_c")
    response = page.goto(f"/households/{own}")
    assert response is not None and response.status == 200
    expect(page.get_by_test_id("member-table")).to_contain_text("**********")


def test_the_same_holds_for_the_api_with_bearer_tokens(page: Page, live_app: Flask) -> None:
    household_id = first_household_of(live_app, "station_a")
    api = page.request
    token = api.post(
        "/api/v1/auth/token", data={"username": "station_c", "password": DEMO_PASSWORD}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    refused = api.get(f"/api/v1/households/{household_id}", headers=headers)
    assert refused.status == 404
    assert refused.json()["error"]["code"] == "not_found"
    own = api.get(
        f"/api/v1/households/{first_household_of(live_app, 'station_c')}", headers=headers
    )
    assert own.status == 200
    assert api.get("/api/v1/households").status == 401


def test_sign_out_returns_to_the_sign_in_page(page: Page) -> None:
    sign_in(page, "station_d")
    expect(page.get_by_test_id("home-title")).to_be_visible()
    sign_out(page)
    expect(page.get_by_text("您已安全退出。")).to_be_visible()
    page.goto("/home")
    expect(page).to_have_url(re.compile(r"/login"))


def test_api_docs_render_from_local_assets(page: Page) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, "ca_conghua")
    page.goto("/api-docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("慈善帮扶资源对接平台")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert all(url.startswith(page.url.split("/api-docs")[0]) for url in requested)
    assert page.console_errors == []  # type: ignore[attr-defined]  # set by new_page
