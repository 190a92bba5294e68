"""回访 through the API and the referral page: the station records it, a follow-up saying
nothing arrived reaches the office, which resolves it; another station finds nothing; a bad
answer is refused by field, and the page keeps what was typed.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import Notification
from tests.helpers import bearer, csrf_token, get_user, sign_in
from tests.web.test_referrals_api import SURGERY, Parties, approved, need_of, project_named

ALL_WELL = {"received": True, "as_recorded": True, "satisfaction": 4, "need_met": True}
NOTHING_ARRIVED = {"received": False, "as_recorded": False, "satisfaction": 1, "need_met": False,
                   "note": "户主说未收到款项"}  # fmt: skip


def completed(client: FlaskClient, db: Session) -> tuple[Parties, int]:
    parties = Parties(client)
    rid = approved(parties, need_of(db, "钟伟明", "medical"), project_named(db, SURGERY))
    parties.step(rid, "accept", parties.charity)
    parties.step(rid, "start", parties.charity)
    parties.step(rid, "complete", parties.charity, delivered_amount_fen=800_000)
    return parties, rid


def browser_of(app: Flask, username: str) -> FlaskClient:
    browser = app.test_client()
    sign_in(browser, username)
    return browser


def test_completion_asks_the_station_for_a_follow_up_due_later(
    client: FlaskClient, db: Session
) -> None:
    parties, rid = completed(client, db)

    shown = parties.get(f"/referrals/{rid}/follow-up", parties.station)

    assert shown.status_code == 200, shown.json
    assert shown.json["is_done"] is False and shown.json["can_record"] is True
    assert shown.json["due_on"]
    assert parties.get(f"/referrals/{rid}", parties.station).json["follow_up"]["due_on"]
    # The charity sees nothing until it is recorded.
    assert parties.get(f"/referrals/{rid}/follow-up", parties.charity).status_code == 404


def test_a_follow_up_saying_nothing_arrived_reaches_the_office_which_resolves_it(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    parties, rid = completed(client, db)

    recorded = parties.post(f"/referrals/{rid}/follow-up", parties.station, **NOTHING_ARRIVED)

    assert recorded.status_code == 200, recorded.json
    assert recorded.json["is_flagged"] is True and recorded.json["resolved_at"] is None
    office = get_user(db, "ca_conghua")
    told = db.scalars(
        sa.select(Notification).where(
            Notification.user_id == office.id, Notification.kind == "follow_up_flagged",
            Notification.referral_id == rid,
        )
    ).all()  # fmt: skip
    assert len(told) == 1
    page = browser_of(app, "ca_conghua").get(f"/referrals/{rid}")
    assert 'data-testid="follow-up-flagged"' in page.text
    assert 'data-testid="follow-up-resolve-form"' in page.text
    assert "户主说未收到款项" in page.text

    refused = parties.post(f"/referrals/{rid}/follow-up/resolve", parties.station,
                           resolution="已补发")  # fmt: skip
    assert refused.status_code == 403
    empty = parties.post(f"/referrals/{rid}/follow-up/resolve", parties.office, resolution="")
    assert empty.status_code == 422 and "resolution" in empty.json["error"]["fields"]
    resolved = parties.post(f"/referrals/{rid}/follow-up/resolve", parties.office,
                            resolution="已联系慈善会，款项本周补发到户。")  # fmt: skip
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["resolution"] == "已联系慈善会，款项本周补发到户。"
    referral = parties.get(f"/referrals/{rid}", parties.office).json
    assert referral["status"] == "completed"
    assert [e["follow_up"] for e in referral["events"]][-2:] == ["flagged", "resolved"]

    charity = parties.get(f"/referrals/{rid}/follow-up", parties.charity).json
    assert charity == {"is_done": True, "received": False, "satisfaction": 1}
    charity_page = browser_of(app, "charity_f").get(f"/referrals/{rid}")
    assert "户主说未收到款项" not in charity_page.text
    assert "款项本周补发到户" not in charity_page.text


def test_another_stations_follow_up_is_not_found(client: FlaskClient, db: Session) -> None:
    parties, rid = completed(client, db)
    for other in ("station_b", "station_c"):
        headers = bearer(client, other)
        answer = parties.post(f"/referrals/{rid}/follow-up", headers, **ALL_WELL)
        assert answer.status_code == 404, (other, answer.json)
    office = parties.post(f"/referrals/{rid}/follow-up", parties.office, **ALL_WELL)
    assert office.status_code == 403


def test_a_satisfaction_outside_one_to_five_is_refused_by_field(
    client: FlaskClient, db: Session
) -> None:
    parties, rid = completed(client, db)

    answer = parties.post(
        f"/referrals/{rid}/follow-up", parties.station, **{**ALL_WELL, "satisfaction": 6}
    )
    missing = parties.post(f"/referrals/{rid}/follow-up", parties.station, satisfaction=3)

    assert answer.status_code == 422
    assert answer.json["error"]["fields"] == {"satisfaction": ["满意度应在 1 至 5 之间。"]}
    assert missing.status_code == 422
    assert set(missing.json["error"]["fields"]) == {"received", "as_recorded", "need_met"}
    assert parties.get(f"/referrals/{rid}/follow-up", parties.station).json["is_done"] is False


def test_the_page_form_keeps_what_was_typed_when_an_answer_is_missing(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    _parties, rid = completed(client, db)
    station = browser_of(app, "station_a")
    listed = station.get("/referrals")
    assert 'data-testid="follow-ups-due"' in listed.text
    page = station.get(f"/referrals/{rid}")
    assert 'data-testid="follow-up-form"' in page.text
    token = csrf_token(station, f"/referrals/{rid}")

    response = station.post(
        f"/referrals/{rid}/follow-up",
        data={"csrf_token": token, "received": "yes", "satisfaction": "2",
              "note": "户主说只收到一半"},
    )  # fmt: skip

    assert response.status_code == 422
    assert "请选择金额或服务是否与完成时记录的一致。" in response.text
    assert "请选择需求是否已满足。" in response.text
    assert re.search(r'checked[^>]*value="yes"|value="yes"[^>]*checked', response.text)
    assert re.search(r'checked[^>]*value="2"|value="2"[^>]*checked', response.text)
    assert "户主说只收到一半" in response.text


def test_the_page_records_a_follow_up_and_says_a_need_not_met_needs_a_new_referral(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    _parties, rid = completed(client, db)
    station = browser_of(app, "station_a")
    token = csrf_token(station, f"/referrals/{rid}")

    response = station.post(
        f"/referrals/{rid}/follow-up",
        data={"csrf_token": token, "received": "yes", "as_recorded": "yes",
              "satisfaction": "4", "need_met": "no"},
        follow_redirects=True,
    )  # fmt: skip

    assert response.status_code == 200
    assert "已登记回访" in response.text and "另行发起转介" in response.text
    assert 'data-testid="follow-up-satisfaction">4 / 5' in response.text
    assert 'data-testid="follow-up-form"' not in response.text
