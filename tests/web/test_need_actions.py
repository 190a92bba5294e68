"""A need's row offers actions named as verbs, never statuses; 已转介 comes only from a
referral; a partly met need shows what is left of its gap on the worklist."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models.enums import NeedStatus
from tests.helpers import bearer, csrf_token, get_user, need_of, project_named, sign_in
from web.services.referrals import workflow

#: 荔乡慈善会's medical project (¥8,000 a person), whose staff is charity_f.
SURGERY = "从化区慈善医疗救助"


def row_buttons(page: str) -> list[str]:
    table = page[
        page.index('data-testid="need-table"') : page.index(
            "</table>", page.index('data-testid="need-table"')
        )
    ]
    return re.findall(r'<button type="submit"[^>]*>([^<]+)</button>', table)


def test_setting_referred_by_hand_is_refused_with_a_reason(
    client: FlaskClient, db: Session
) -> None:
    need = need_of(db, "钟伟明", "medical")
    refused = client.post(
        f"/api/v1/needs/{need.id}/status", json={"status": "referred"},
        headers=bearer(client, "station_a"),
    )  # fmt: skip
    assert refused.status_code == 409
    assert "由转介自动设置" in refused.json["error"]["message"]
    assert need.status == NeedStatus.OPEN


def test_the_need_row_offers_verbs_and_closing_asks_for_a_reason(
    client: FlaskClient, db: Session
) -> None:
    need = need_of(db, "钟伟明", "medical")
    sign_in(client, "station_a")
    page = client.get(f"/households/{need.household_id}").text
    buttons = row_buttons(page)
    assert "关闭需求" in buttons and "确认已满足" in buttons
    assert not {"帮扶中", "已满足", "已关闭", "已转介"} & set(buttons)
    assert 'data-confirm="' in page and 'name="reason" required' in page

    token = csrf_token(client, f"/households/{need.household_id}")
    path = f"/needs/{need.id}/status"
    client.post(path, data={"csrf_token": token, "action": "close", "reason": ""})
    assert need.status == NeedStatus.OPEN  # no reason, not closed
    client.post(path, data={"csrf_token": token, "action": "close", "reason": "重复登记"})
    db.refresh(need)
    assert need.status == NeedStatus.CLOSED
    page = client.get(f"/households/{need.household_id}").text
    assert row_buttons(page).count("重新打开") >= 1 and "重复登记" in page


def test_a_partly_met_need_shows_the_rest_of_its_gap_on_the_worklist(
    client: FlaskClient, db: Session
) -> None:
    need = need_of(db, "钟伟明", "medical")
    need.amount_gap_fen = 2_000_000
    station, office, charity = (get_user(db, u) for u in ("station_a", "ca_conghua", "charity_f"))
    referral = workflow.start_referral(db, station, need.id, project_named(db, SURGERY).id)
    workflow.submit_referral(db, station, referral.id)
    workflow.approve_referral(db, office, referral.id)
    workflow.accept_referral(db, charity, referral.id)
    workflow.start_service(db, charity, referral.id)
    workflow.complete_referral(db, charity, referral.id, delivered_amount_fen=800_000)
    db.commit()
    sign_in(client, "station_a")
    page = client.get("/worklist").text
    row = next(
        r for r in page.split("<tr>") if f"/households/{need.household_id}" in r and "部分满足" in r
    )
    assert "12,000.00" in row and "8,000.00" in row
