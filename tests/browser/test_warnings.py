"""In a real browser, on an office PC (1366×768) and on a phone (390 px): a medical-insurance
department delivers a batch through the API with its own account; the station of a member whose
self-paid costs pass the threshold opens 预警工作台, sees the warning, opens it, confirms it, and
lands on the new need's matching page with ranked projects; axe-core finds no WCAG 2 A/AA
violation on the worklist and the warning."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from models import clock
from models.enums import MonitoringSource, Role
from tests.browser.helpers import go_to, new_page, sign_in
from tests.browser.test_layout import AXE, axe_violations
from tests.browser.test_matching import publish_ledgers
from tests.helpers import bearer
from web.services.users import create_user

#: Members of 温泉镇站's households (station_a), one a screen, so each run raises its own.
MEMBERS = {
    1366: ("黄桂英", "440122194402151367", "440117103220"),
    390: ("何志坚", "440122197205191718", "440117103217"),
}
PASSWORD = "yibao-browser-2026"


def deliver(live_app: Flask, username: str, member: tuple[str, str, str]) -> None:
    """A department account made for the test delivers one record through the API."""
    with live_app.extensions["sessionmaker"]() as db:
        create_user(
            db, None, username=username, password=PASSWORD, display_name="省医保局",
            role=Role.DATA_PROVIDER, region_code="440000000000",
            feed_source=MonitoringSource.MEDICAL_INSURANCE,
        )  # fmt: skip
        db.commit()
    name, id_number, region = member
    client = live_app.test_client()
    day = (clock.today() - dt.timedelta(days=12)).isoformat()
    answer = client.post(
        "/api/v1/monitoring/batches", headers=bearer(client, username, PASSWORD),
        json={"source": "medical_insurance", "delivered_on": clock.today().isoformat(),
              "records": [{"id_number": id_number, "name": name, "region_code": region,
                           "event": "medical_expense", "occurred_on": day,
                           "amount_yuan": 48000.0, "detail": "住院治疗，个人自付"}]},
    )  # fmt: skip
    assert answer.status_code == 201, answer.json
    assert answer.json["warnings_raised"] == 1


@pytest.mark.parametrize("width", sorted(MEMBERS), ids=lambda w: f"{w}px")
def test_a_station_confirms_a_warning_and_finds_projects_for_the_new_need(
    browser: Browser, live_server: str, live_app: Flask, width: int
) -> None:
    publish_ledgers(live_app)
    member = MEMBERS[width]
    deliver(live_app, f"yibao_browser_{width}", member)
    page = new_page(browser, live_server, viewport={"width": width, "height": 844})
    page.context.add_init_script(path=str(AXE))
    sign_in(page, "station_a")
    go_to(page, "预警工作台")
    row = page.get_by_test_id("warnings").locator("tr", has_text=member[0])
    expect(row).to_contain_text("大额医疗支出")
    expect(row).to_contain_text("在册")
    assert axe_violations(page) == []

    row.get_by_role("link", name=member[0]).click()
    expect(page.get_by_role("heading", name="预警详情 · 大额医疗支出")).to_be_visible()
    evidence = page.get_by_test_id("evidence")
    expect(evidence).to_contain_text("医疗费用个人自付")
    expect(evidence).to_contain_text("48,000.00")
    form = page.get_by_test_id("confirm-form")
    expect(form.get_by_label("帮扶领域")).to_have_value("medical")
    expect(form.get_by_label("资金缺口（元）")).to_have_value("48000.00")
    assert axe_violations(page) == []
    form.get_by_role("button", name="确认并登记需求").click()

    expect(page).to_have_url(re.compile(r"/needs/\d+/matches$"))
    expect(page.get_by_text("预警已确认，需求已登记")).to_be_visible()
    matches = page.get_by_test_id("match")
    expect(matches.first).to_be_visible()
    assert matches.count() >= 2
    expect(matches.first.get_by_test_id("reasons")).not_to_be_empty()  # ranked, with reasons
    assert page.console_errors == []  # type: ignore[attr-defined]  # set by new_page
    page.context.close()
