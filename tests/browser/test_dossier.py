"""In a real browser, help shown to have arrived: the charity completes a referral and uploads
the receipt photo, the station follows up on a phone (satisfaction 5), and the 从化区 office
opens the household's 帮扶档案 from its page — served, completed, followed up, the receipt
shown, the ID number masked — and prints it; the dossier passes axe-core's WCAG 2 A and AA
checks."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, expect

from models import clock
from models.enums import Domain, Relation, ServiceType
from tests.browser.helpers import confirm, new_page, sign_in
from tests.browser.test_layout import AXE, PHONE_WIDTH, axe_violations
from tests.helpers import get_user, project_named
from web.services.households import HouseholdInput, MemberInput, add_need, create_household
from web.services.id_numbers import id_check_digit
from web.services.referrals import workflow
from web.services.referrals.episodes import EpisodeInput, add_episode

PROJECT = "从化区慈善医疗救助"
HEAD_ID = "44012219660312253" + id_check_digit("44012219660312253")
#: Counts how often the page asked to print, instead of opening the print dialog.
STUB_PRINT = "window.printed = 0; window.print = () => { window.printed += 1; };"


def in_service(live_app: Flask) -> tuple[int, int]:
    """A 温泉镇 household (station_a) whose medical need was referred, approved, accepted and
    served once by charity_f: its household and referral ids."""
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
        db.commit()
        return household.id, referral.id


def receipt_photo() -> bytes:
    """A small PNG, as a phone camera's photo of a receipt would be after conversion."""
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (240, 236, 220)).save(out, "PNG")
    return out.getvalue()


def test_help_completed_with_a_receipt_followed_up_and_printed_in_the_dossier(
    browser: Browser, live_server: str, live_app: Flask, tmp_path: Path
) -> None:
    live_app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    household_id, rid = in_service(live_app)

    # The charity completes the referral with the amount paid, then uploads the receipt.
    charity = new_page(browser, live_server)
    sign_in(charity, "charity_f")
    charity.goto(f"/referrals/{rid}")
    charity.get_by_label("实际帮扶金额（元）").fill("6000")
    charity.get_by_test_id("step-complete").click()
    confirm(charity, "完成帮扶后本次转介结束")
    expect(charity.get_by_test_id("referral-status")).to_have_text("已完成")
    charity.get_by_text("上传收据、照片或签字确认").click()
    form = charity.get_by_test_id("attachment-form")
    form.get_by_label("附于").select_option(label="帮扶完成")
    form.get_by_label("文件（PDF、JPEG 或 PNG）").set_input_files(
        {"name": "收据.png", "mimeType": "image/png", "buffer": receipt_photo()}
    )
    form.get_by_label("说明").fill("医院收费收据")
    form.get_by_role("button", name="上传").click()
    expect(charity.get_by_test_id("attachments")).to_contain_text("收据.png")

    # The household's station follows up on a phone: everything arrived, very satisfied.
    station = new_page(browser, live_server, viewport={"width": PHONE_WIDTH, "height": 844})
    sign_in(station, "station_a")
    station.goto("/referrals")
    station.get_by_test_id("follow-ups-due").get_by_role("link", name=f"转介 {rid}").click()
    form = station.get_by_test_id("follow-up-form")
    form.get_by_role("group", name="家庭是否收到帮扶").get_by_label("是").check()
    form.get_by_role("group", name="金额或服务是否与完成时记录的一致").get_by_label("是").check()
    form.get_by_role("group", name="需求是否已满足").get_by_label("是").check()
    form.get_by_role("group", name="家庭满意度").get_by_label("5 很满意").check()
    form.get_by_role("button", name="登记回访").click()
    expect(station.get_by_test_id("follow-up-satisfaction")).to_have_text("5 / 5")

    # The office opens the dossier from the household page and prints it.
    office = new_page(browser, live_server)
    office.context.add_init_script(path=str(AXE))
    office.context.add_init_script(STUB_PRINT)
    sign_in(office, "ca_conghua")
    office.goto(f"/households/{household_id}")
    office.get_by_test_id("dossier-link").click()

    expect(office.get_by_test_id("dossier-title")).to_have_text("帮扶档案：邝志明")
    dossier = office.get_by_test_id("dossier")
    expect(dossier).to_contain_text(PROJECT)
    expect(dossier).to_contain_text("已完成")
    expect(dossier).to_contain_text("访视照料")
    expect(office.get_by_test_id("dossier-delivered")).to_have_text("6,000.00 元")
    expect(office.get_by_test_id(f"dossier-follow-up-{rid}")).to_contain_text("5（很满意）")
    photo = office.get_by_test_id(f"dossier-attachments-{rid}").get_by_role(
        "img", name="医院收费收据"
    )
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 120
    expect(office.get_by_test_id("dossier-members")).to_contain_text("440122************")
    expect(dossier).not_to_contain_text(HEAD_ID)
    today = clock.today()
    expect(dossier).to_contain_text(f"{today.year}年{today.month}月{today.day}日")
    assert axe_violations(office) == []

    office.get_by_test_id("dossier-print").click()

    assert office.evaluate("window.printed") == 1
    # On paper: the record and the receipt, without the navigation and the buttons.
    office.emulate_media(media="print")
    expect(office.get_by_role("navigation", name="主导航")).to_be_hidden()
    expect(office.get_by_test_id("dossier-print")).to_be_hidden()
    expect(office.get_by_test_id("dossier-title")).to_be_visible()
    expect(photo).to_be_visible()
    for page in (charity, station, office):
        assert page.console_errors == []  # type: ignore[attr-defined]
