"""帮扶档案: a household's every need, referral, service episode and follow-up in one record,
as a page, an ``.xlsx`` and JSON; ID numbers masked in all three, every opening audited, the
household's station and office only.

The household is 钟伟明's (温泉镇, station_a, 从化区 office ca_conghua): its medical need is
referred to 从化区慈善医疗救助 of 荔乡慈善会 (charity_f), approved, accepted, served (one
visit), completed with ¥8,000 and a receipt photo, and followed up with a signed
confirmation: the household says nothing arrived, so the office is asked and records what it
found.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import Attachment, AuditLog, Household, Referral, clock
from models.enums import AttachmentKind, CompanionRole, Domain, ServiceType
from tests.helpers import bearer, get_user, need_of, project_named, sign_in
from tests.web.services.referrals.steps import SURGERY
from tests.web.services.referrals.test_attachments import PDF, png_with_gps
from web.services.crypto import cipher_of
from web.services.dossier import dossier
from web.services.errors import Forbidden, NotFound
from web.services.households import add_need
from web.services.referrals import workflow
from web.services.referrals.attachments import add_attachment
from web.services.referrals.episodes import EpisodeInput, add_episode
from web.services.referrals.followups import FollowUpInput, record_follow_up, resolve_follow_up
from web.services.referrals.pairings import PairingInput, set_up_pairing
from web.services.storage import LocalDiskStorage

#: A need's text typed as a spreadsheet would run it.
FORMULA = '=HYPERLINK("http://x.cn","点我")'


@pytest.fixture
def helped(db: Session, app: Flask, tmp_path: Path) -> Referral:
    """钟伟明's medical need, helped end to end and followed up (see the module's words)."""
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    storage = LocalDiskStorage(tmp_path / "attachments")
    station, office = get_user(db, "station_a"), get_user(db, "ca_conghua")
    charity = get_user(db, "charity_f")
    need = need_of(db, "钟伟明", "medical")
    referral = workflow.start_referral(
        db, station, need.id, project_named(db, SURGERY).id, score=0.8
    )
    workflow.submit_referral(db, station, referral.id)
    workflow.approve_referral(db, office, referral.id)
    workflow.accept_referral(db, charity, referral.id)
    workflow.start_service(db, charity, referral.id)
    pairing = PairingInput(
        companion_name="何秀珍", companion_role=CompanionRole.CARING_MOTHER,
        member_id=need.household.members[0].id, starts_on=clock.today(),
        ends_on=clock.today() + dt.timedelta(days=180), visits_per_month=2,
    )  # fmt: skip
    set_up_pairing(db, charity, referral.id, pairing, today=clock.today())
    add_episode(
        db, charity, referral.id,
        EpisodeInput(on=clock.today(), kind=ServiceType.VISITING_CARE, note="入户探访"),
        today=clock.today(),
    )  # fmt: skip
    workflow.complete_referral(db, charity, referral.id, delivered_amount_fen=800_000)
    add_attachment(db, charity, storage, referral.id, png_with_gps(), "收据.png",
                   AttachmentKind.COMPLETION, caption="医院收费收据")  # fmt: skip
    said = FollowUpInput(
        received=False, as_recorded=False, satisfaction=2, need_met=False, note="户主说未收到款项"
    )
    record_follow_up(db, station, referral.id, said)
    add_attachment(db, station, storage, referral.id, PDF, "回访确认.pdf",
                   AttachmentKind.FOLLOW_UP, caption="户主签字")  # fmt: skip
    resolve_follow_up(db, office, referral.id, "已电话核实，款项打入医院账户")
    add_need(db, station, need.household, domain=Domain.LIVING, text=FORMULA)
    db.commit()
    return referral


def full_id_numbers(db: Session, household: Household) -> list[str]:
    cipher = cipher_of(db)
    numbers = [cipher.decrypt(m.id_number_encrypted) for m in household.members
               if m.id_number_encrypted is not None]  # fmt: skip
    assert numbers  # the demo household has ID numbers to hide
    return numbers


def dossier_reads(db: Session, household_id: int) -> list[AuditLog]:
    return list(
        db.scalars(
            sa.select(AuditLog).where(
                AuditLog.action == "household.dossier", AuditLog.object_id == str(household_id)
            )
        )
    )


def test_the_dossier_lists_each_need_referral_episode_and_follow_up_in_labels_and_fen(
    db: Session, helped: Referral
) -> None:
    household = helped.need.household

    data = dossier(db, get_user(db, "ca_conghua"), household.id)

    assert data["household"]["head_name"] == "钟伟明"
    assert data["household"]["station"] == household.station.name
    need = next(n for n in data["needs"] if n["id"] == helped.need_id)
    assert need["domain_label"] == "医疗/大病"
    assert need["delivered_fen"] == 800_000
    assert [e["status_label"] for e in need["history"]][-1] == need["status_label"]
    (referral,) = need["referrals"]
    assert referral["project"] == SURGERY and referral["charity"] == "广州市从化区荔乡慈善会"
    assert referral["status_label"] == "已完成"
    assert referral["delivered_amount_fen"] == 800_000
    assert referral["approved_on"] == clock.today() and referral["completed_on"] == clock.today()
    labels = [e["label"] for e in referral["events"]]
    assert labels == ["草稿", "待审批", "已批准", "已接收", "服务中", "已完成", "回访存疑",
                      "回访核实"]  # fmt: skip
    (episode,) = referral["episodes"]
    assert (episode["kind_label"], episode["quantity"], episode["note"]) == (
        "访视照料",
        1,
        "入户探访",
    )
    follow_up = referral["follow_up"]
    assert follow_up["received"] is False and follow_up["satisfaction_label"] == "不满意"
    assert follow_up["is_flagged"] and follow_up["resolution"] == "已电话核实，款项打入医院账户"
    pairing = referral["pairing"]
    assert (pairing["companion_name"], pairing["companion_role_label"]) == ("何秀珍", "爱心妈妈")
    assert pairing["member_name"] == household.members[0].name
    assert pairing["visits_per_month"] == 2
    assert [(m["planned"], m["visits"], m["is_current"]) for m in pairing["months"]] == [
        (0, 1, True)
    ]
    receipt, confirmation = referral["attachments"]
    assert (receipt["kind_label"], receipt["filename"], receipt["caption"]) == (
        "帮扶完成", "收据.png", "医院收费收据",
    )  # fmt: skip
    assert receipt["is_image"] and not confirmation["is_image"]
    assert (confirmation["kind_label"], confirmation["filename"]) == ("回访", "回访确认.pdf")
    assert confirmation["uploaded_on"] == clock.today() and len(confirmation["sha256"]) == 64
    assert any(n["text"] == FORMULA and n["referrals"] == [] for n in data["needs"])
    assert {m["id_number_masked"] for m in data["members"]} == {
        m.id_number_masked for m in household.members
    }


def test_the_page_shows_the_history_in_words_chinese_dates_and_yuan_with_ids_masked(
    client: FlaskClient, db: Session, helped: Referral
) -> None:
    household = helped.need.household
    sign_in(client, "ca_conghua")

    page = client.get(f"/households/{household.id}/dossier")

    assert page.status_code == 200
    text = page.text
    assert "帮扶档案" in text and SURGERY in text and "广州市从化区荔乡慈善会" in text
    assert "8,000.00 元" in text
    assert "已完成" in text and "回访存疑" in text and "已电话核实，款项打入医院账户" in text
    today = clock.today()
    assert f"{today.year}年{today.month}月{today.day}日" in text
    assert "completed" not in text and "visiting_care" not in text and "_fen" not in text
    assert "js/print.js" in text and "data-print" in text
    assert "何秀珍（爱心妈妈）" in text and "每月探访 2 次" in text
    # The receipt is shown as a picture to print; the signed confirmation is a link.
    receipt, confirmation = db.scalars(sa.select(Attachment).order_by(Attachment.id)).all()
    assert f'<img src="/dossier-photos/{receipt.id}?token=' in text and 'alt="医院收费收据"' in text
    assert f'href="/attachments/{confirmation.id}"' in text and "回访确认.pdf" in text
    for masked in (m.id_number_masked for m in household.members if m.id_number_masked):
        assert masked in text
    for number in full_id_numbers(db, household):
        assert number not in text
    # The household page links to it.
    assert f"/households/{household.id}/dossier" in client.get(f"/households/{household.id}").text


def test_the_export_has_a_sheet_per_section_masked_and_neutralised(
    client: FlaskClient, db: Session, helped: Referral
) -> None:
    household = helped.need.household
    sign_in(client, "station_a")

    response = client.get(f"/households/{household.id}/dossier.xlsx")

    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["家庭", "家庭成员", "政府救助", "帮扶需求", "需求变更记录", "转介",
                               "转介经过", "服务记录", "回访", "结对帮扶", "结对探访",
                               "附件"]  # fmt: skip
    cells = [c.value for sheet in book for row in sheet.iter_rows() for c in row]
    texts = {v for v in cells if isinstance(v, str)}
    assert "'" + FORMULA in texts and FORMULA not in texts
    assert not any(t.startswith("=") for t in texts)
    for number in full_id_numbers(db, household):
        assert not any(number in t for t in texts)
    referrals = list(book["转介"].values)
    row = dict(zip(referrals[0], referrals[1], strict=True))
    assert row["帮扶项目"] == SURGERY and row["状态"] == "已完成"
    assert row["已帮扶金额（元）"] == 8000 and isinstance(row["完成日期"], dt.datetime)
    follow_ups = list(book["回访"].values)
    assert dict(zip(follow_ups[0], follow_ups[1], strict=True))["是否收到帮扶"] == "否"
    rows = list(book["附件"].values)
    files = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(f["附于"], f["文件名"], f["转介编号"]) for f in files] == [
        ("帮扶完成", "收据.png", helped.id), ("回访", "回访确认.pdf", helped.id),
    ]  # fmt: skip
    assert all(len(str(f["SHA-256 校验值"])) == 64 for f in files)


def test_the_api_gives_the_dossier_with_ids_masked(
    client: FlaskClient, db: Session, helped: Referral
) -> None:
    household = helped.need.household

    response = client.get(
        f"/api/v1/households/{household.id}/dossier", headers=bearer(client, "station_a")
    )

    assert response.status_code == 200
    need = next(n for n in response.json["needs"] if n["id"] == helped.need_id)
    assert need["referrals"][0]["delivered_amount_fen"] == 800_000
    assert need["referrals"][0]["follow_up"]["satisfaction"] == 2
    assert [a["filename"] for a in need["referrals"][0]["attachments"]] == [
        "收据.png", "回访确认.pdf",
    ]  # fmt: skip
    for number in full_id_numbers(db, household):
        assert number not in response.text


def test_another_stations_household_is_not_found_and_a_charity_is_refused(
    db: Session, helped: Referral
) -> None:
    household_id = helped.need.household_id

    with pytest.raises(NotFound):
        dossier(db, get_user(db, "station_b"), household_id)
    with pytest.raises(NotFound):
        dossier(db, get_user(db, "ca_ruyuan"), household_id)  # another county's office
    with pytest.raises(Forbidden):
        dossier(db, get_user(db, "charity_f"), household_id)
    assert dossier_reads(db, household_id) == []


def test_every_opening_is_audited_as_a_read_of_personal_data(
    client: FlaskClient, db: Session, helped: Referral
) -> None:
    household = helped.need.household
    sign_in(client, "station_a")

    client.get(f"/households/{household.id}/dossier")
    client.get(f"/households/{household.id}/dossier.xlsx")
    client.get(f"/api/v1/households/{household.id}/dossier", headers=bearer(client, "station_a"))

    reads = dossier_reads(db, household.id)
    assert sorted(r.detail["form"] for r in reads) == ["api", "page", "xlsx"]
    assert all(r.region_code == household.region_code for r in reads)
    assert all(r.detail["members"] == sorted(m.id for m in household.members) for r in reads)


def test_an_archived_case_says_so_with_its_date(
    client: FlaskClient, db: Session, helped: Referral
) -> None:
    helped.archived_at = helped.need.archived_at = clock.now() - dt.timedelta(days=2)
    db.commit()
    archived_on = clock.today() - dt.timedelta(days=2)
    household_id = helped.need.household_id

    data = dossier(db, get_user(db, "station_a"), household_id)
    sign_in(client, "station_a")
    page = client.get(f"/households/{household_id}/dossier").text

    need = next(n for n in data["needs"] if n["id"] == helped.need_id)
    assert need["archived_on"] == archived_on
    assert need["referrals"][0]["archived_on"] == archived_on
    assert f"{archived_on.year}年{archived_on.month}月{archived_on.day}日 归档，只读" in page


def test_a_photo_is_shown_in_place_for_whom_the_page_was_made_and_recorded_with_it(
    app: Flask, client: FlaskClient, db: Session, helped: Referral
) -> None:
    household_id = helped.need.household_id
    receipt = db.scalars(sa.select(Attachment).order_by(Attachment.id)).first()
    assert receipt is not None
    sign_in(client, "ca_conghua")
    page = client.get(f"/households/{household_id}/dossier").text
    link = re.search(rf'src="(/dossier-photos/{receipt.id}\?token=[^"]+)"', page)
    assert link is not None
    url = html.unescape(link.group(1))

    photo = client.get(url)

    assert photo.status_code == 200 and photo.mimetype == "image/png"
    assert photo.headers["Content-Disposition"] == "inline"
    assert photo.data[:8] == b"\x89PNG\r\n\x1a\n"
    # The look is on record with the dossier's opening, not as a download of its own.
    (opening,) = dossier_reads(db, household_id)
    assert receipt.id in opening.detail["attachments"]
    downloads = db.scalar(
        sa.select(sa.func.count()).select_from(AuditLog)
        .where(AuditLog.action == "attachment.download")
    )  # fmt: skip
    assert downloads == 0
    # The link is good for nobody else, and for no other file; no link, no photo.
    other = app.test_client()
    sign_in(other, "station_a")
    assert other.get(url).status_code == 404
    assert client.get(url.replace(f"/{receipt.id}?", f"/{receipt.id + 1}?")).status_code == 404
    assert client.get(f"/dossier-photos/{receipt.id}").status_code == 404
