"""In a real browser: the 从化区 office opens a household's 帮扶档案 from the household page —
its referral helped, served and followed up, the ID number masked — and prints it; the page
passes axe-core's WCAG 2 A and AA checks."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from playwright.sync_api import Browser, expect

from models import clock
from models.enums import Domain, Relation, ServiceType
from tests.browser.helpers import new_page, sign_in
from tests.browser.test_layout import AXE, axe_violations
from tests.helpers import get_user, project_named
from web.services.households import HouseholdInput, MemberInput, add_need, create_household
from web.services.id_numbers import id_check_digit
from web.services.referrals import workflow
from web.services.referrals.episodes import EpisodeInput, add_episode
from web.services.referrals.followups import FollowUpInput, record_follow_up

PROJECT = "从化区慈善医疗救助"
HEAD_ID = "44012219660312253" + id_check_digit("44012219660312253")
#: Counts how often the page asked to print, instead of opening the print dialog.
STUB_PRINT = "window.printed = 0; window.print = () => { window.printed += 1; };"


def helped_household(live_app: Flask) -> int:
    """A 温泉镇 household (station_a) whose medical need was referred, approved, accepted,
    served once, completed with ¥6,000 and followed up."""
    with live_app.extensions["sessionmaker"]() as db:
        station, office, charity = (
            get_user(db, name) for name in ("station_a", "ca_conghua", "charity_f")
        )
        household = create_household(
            db, station,
            HouseholdInput(
                region_code="440117103217", consent_on=clock.today() - dt.timedelta(days=30),
                consent_scope="困难情况核实、慈善帮扶转介", categories=["dibao"],
                members=[MemberInput(name="邝志明", relation=Relation.HEAD, id_number=HEAD_ID)],
            ),
        )  # fmt: skip
        need = add_need(db, station, household, domain=Domain.MEDICAL,
                        text="肾透析费用自付部分负担重", amount_gap_fen=600_000)  # fmt: skip
        referral = workflow.start_referral(db, station, need.id, project_named(db, PROJECT).id)
        workflow.submit_referral(db, station, referral.id)
        workflow.approve_referral(db, office, referral.id)
        workflow.accept_referral(db, charity, referral.id)
        workflow.start_service(db, charity, referral.id)
        add_episode(
            db, charity, referral.id,
            EpisodeInput(on=clock.today(), kind=ServiceType.VISITING_CARE, note="入户探访"),
            today=clock.today(),
        )  # fmt: skip
        workflow.complete_referral(db, charity, referral.id, delivered_amount_fen=600_000)
        said = FollowUpInput(received=True, as_recorded=True, satisfaction=5, need_met=True)
        record_follow_up(db, station, referral.id, said)
        db.commit()
        return household.id


def test_the_office_opens_the_household_dossier_and_prints_it(
    browser: Browser, live_server: str, live_app: Flask
) -> None:
    household_id = helped_household(live_app)
    page = new_page(browser, live_server)
    page.context.add_init_script(path=str(AXE))
    page.context.add_init_script(STUB_PRINT)
    sign_in(page, "ca_conghua")
    page.goto(f"/households/{household_id}")

    page.get_by_test_id("dossier-link").click()

    expect(page.get_by_test_id("dossier-title")).to_have_text("帮扶档案：邝志明")
    dossier = page.get_by_test_id("dossier")
    expect(dossier).to_contain_text(PROJECT)
    expect(dossier).to_contain_text("已完成")
    expect(dossier).to_contain_text("访视照料")
    expect(page.get_by_test_id("dossier-delivered")).to_have_text("6,000.00 元")
    expect(page.get_by_test_id("dossier-members")).to_contain_text("440122************")
    expect(dossier).not_to_contain_text(HEAD_ID)
    today = clock.today()
    expect(dossier).to_contain_text(f"{today.year}年{today.month}月{today.day}日")
    assert axe_violations(page) == []

    page.get_by_test_id("dossier-print").click()

    assert page.evaluate("window.printed") == 1
    # On paper: the record without the navigation and the buttons.
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="主导航")).to_be_hidden()
    expect(page.get_by_test_id("dossier-print")).to_be_hidden()
    expect(page.get_by_test_id("dossier-title")).to_be_visible()
    assert page.console_errors == []  # type: ignore[attr-defined]
