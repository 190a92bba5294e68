"""In a real browser: the 从化区 office makes an allocation plan, reads it beside first come
first served, changes a weight and solves again; a colleague checks it on a phone and
approves it; the charity finds the plan's referral in its inbox. The plan page passes axe-core
at 1366 px and fits a 390 px phone.

Approving takes the demo's last rehabilitation places, which other browser tests may want:
this test has a live server and a copy of the demo of its own."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.engine import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from models import clock
from models.base import utcnow
from tests.browser.helpers import confirm, go_to, new_page, sign_in, sign_out
from tests.browser.test_layout import AXE, MEASURE, axe_violations
from tests.conftest import copy_demo, side_database_url
from tests.helpers import TEST_DATA_KEY, TEST_SECRET_KEY
from web.services.ledgers import build_edition

REHAB = "荔乡康复·困难残疾人康复训练资助"
#: The ledgers a 从化 need is matched against: province, city, county and its two townships.
LEDGERS = ("440000000000", "440100000000", "440117000000", "440117103000", "440117107000")


@pytest.fixture(scope="module")
def plan_site(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, engine: Engine
) -> Iterator[str]:
    """A live server on a copy of the demo of its own, with the ledgers published."""
    from web import create_app

    url = side_database_url(database_url, tmp_path_factory.mktemp("allocation"), "allocation")
    copy_demo(engine, url).dispose()
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": TEST_SECRET_KEY, "DATA_KEY": TEST_DATA_KEY}
    )
    now = utcnow()
    with app.extensions["sessionmaker"]() as db:
        for region in LEDGERS:
            build_edition(db, None, region, clock.period_of(clock.local_date(now)), now)
        db.commit()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["engine"].dispose()


def test_an_office_plans_reweights_and_a_colleague_approves_into_the_charitys_inbox(
    browser: Browser, plan_site: str
) -> None:
    # The office, at an office screen: make a plan for the whole county with the defaults.
    office = new_page(browser, plan_site, viewport={"width": 1366, "height": 768})
    office.context.add_init_script(path=str(AXE))
    sign_in(office, "ca_conghua")
    go_to(office, "联合分配")
    office.get_by_test_id("new-plan").click()
    expect(office.get_by_test_id("region-picked")).to_contain_text("从化区")
    problems = axe_violations(office) + office.evaluate(MEASURE, True)
    assert not problems, "\n".join(problems)
    expect(office.get_by_label("急难加权")).to_have_value("1")
    expect(office.get_by_label("乡镇保底")).to_be_checked()
    office.get_by_test_id("plan-create").click()
    expect(office.get_by_text("分配方案已生成")).to_be_visible()

    # Beside first come first served, the plan serves one more urgent need: 陈建新's son's.
    urgent = int(office.get_by_test_id("urgent-served").inner_text())
    assert urgent > int(office.get_by_test_id("urgent-fcfs").inner_text())
    expect(office.get_by_test_id("township-chart")).to_have_attribute("data-chart-ready", "1")
    chen = office.get_by_test_id("plan-line").filter(has_text="陈建新")
    expect(chen).to_contain_text(REHAB)
    expect(chen).to_contain_text("龙桥村委会")
    expect(office.get_by_test_id("unplaced")).to_contain_text("邱桂芳")
    problems = axe_violations(office) + office.evaluate(MEASURE, True)
    assert not problems, "\n".join(problems)

    # Nothing for the urgent: 陈建新's need, now weighed like any other, loses its place.
    office.get_by_label("急难加权").fill("0")
    office.get_by_test_id("recalculate").click()
    expect(office.get_by_text("已按新的权重重新计算方案")).to_be_visible()
    expect(office.get_by_label("急难加权")).to_have_value("0")
    expect(office.get_by_test_id("unplaced")).to_contain_text("陈建新")
    office.get_by_label("急难加权").fill("2")
    office.get_by_test_id("recalculate").click()
    expect(office.get_by_test_id("plan-line").filter(has_text="陈建新")).to_contain_text(REHAB)
    # Its maker may not approve it.
    expect(office.get_by_test_id("not-yours-to-approve")).to_be_visible()
    plan_url = office.url
    assert office.console_errors == []  # type: ignore[attr-defined]
    sign_out(office)
    office.context.close()

    # A colleague, on a phone: the page fits, the tick is asked first, then a confirmation.
    phone = new_page(browser, plan_site, viewport={"width": 390, "height": 844})
    sign_in(phone, "ca_conghua2")
    phone.goto("/allocation-plans/new")
    expect(phone.get_by_test_id("region-picked")).to_contain_text("从化区")
    problems = phone.evaluate(MEASURE, False)
    assert not problems, "\n".join(problems)
    phone.goto(plan_url)
    problems = phone.evaluate(MEASURE, False)
    assert not problems, "\n".join(problems)
    approve = phone.get_by_test_id("approve-plan")
    approve.click()
    expect(phone.get_by_role("dialog")).to_be_hidden()  # the unticked form does not go
    phone.get_by_label("我已核对方案中的每一行").check()
    approve.click()
    confirm(phone, "批准后不能撤回")
    result = phone.get_by_test_id("approval-result")
    expect(result).to_contain_text(re.compile(r"已批准：\d+ 行已转为转介，0 行冲突未批准"))
    expect(phone.get_by_test_id("plan-status")).to_have_text("已批准")
    chen = phone.get_by_test_id("plan-line").filter(has_text="陈建新")
    expect(chen.get_by_test_id("line-referral")).to_be_visible()
    problems = phone.evaluate(MEASURE, False)
    assert not problems, "\n".join(problems)
    assert phone.console_errors == []  # type: ignore[attr-defined]
    phone.context.close()

    # The charity: the plan's referral waits in its inbox, approved.
    charity = new_page(browser, plan_site)
    sign_in(charity, "charity_f")
    go_to(charity, "转介收件箱")
    row = charity.get_by_test_id("referral-row").filter(has_text=REHAB).first
    expect(row).to_contain_text("已批准")
    row.get_by_role("link").first.click()
    expect(charity.get_by_test_id("referral-status")).to_have_text("已批准")
    charity.context.close()
