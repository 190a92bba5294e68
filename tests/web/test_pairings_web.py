"""结对帮扶 through the API and the referral page: the charity sets up the pairing and ends it
early, the station and the office read it, other stations and charities find nothing, a bad
pairing is refused by field, and the page keeps what was typed.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import Member, Notification, clock
from tests.helpers import bearer, csrf_token, sign_in
from tests.web.test_english import chinese_labels, english_client
from tests.web.test_referrals_api import SURGERY, Parties, approved, need_of, project_named


def in_service(client: FlaskClient, db: Session) -> tuple[Parties, int]:
    parties = Parties(client)
    rid = approved(parties, need_of(db, "钟伟明", "medical"), project_named(db, SURGERY))
    parties.step(rid, "accept", parties.charity)
    parties.step(rid, "start", parties.charity)
    return parties, rid


def child(db: Session) -> int:
    member = db.scalar(sa.select(Member.id).where(Member.name == "钟浩然"))
    assert member is not None
    return member


def body(db: Session, **change: object) -> dict[str, object]:
    today = clock.today()
    values: dict[str, object] = {
        "companion_name": "陈淑芬", "companion_role": "caring_mother", "member_id": child(db),
        "starts_on": today.isoformat(),
        "ends_on": (today + dt.timedelta(days=365)).isoformat(), "visits_per_month": 2,
        "note": "每月两次入户陪伴",
    }  # fmt: skip
    values.update(change)
    return values


def browser_of(app: Flask, username: str) -> FlaskClient:
    browser = app.test_client()
    sign_in(browser, username)
    return browser


def test_a_pairing_goes_from_the_charity_to_the_station_and_office_through_the_api(
    client: FlaskClient, db: Session
) -> None:
    parties, rid = in_service(client, db)
    assert parties.get(f"/referrals/{rid}/pairing", parties.station).status_code == 404

    made = parties.post(f"/referrals/{rid}/pairing", parties.charity, **body(db))

    assert made.status_code == 201, made.json
    assert made.json["companion_role_label"] == "爱心妈妈"
    assert made.json["member_name"] == "钟浩然" and made.json["visits_per_month"] == 2
    assert made.json["months"][0]["is_current"] is True and made.json["can_end"] is True
    for reader in (parties.station, parties.office):
        shown = parties.get(f"/referrals/{rid}/pairing", reader)
        assert shown.status_code == 200 and shown.json["companion_name"] == "陈淑芬"
        assert shown.json["can_end"] is False
    for outsider in ("station_c", "station_b", "charity_h", "ca_ruyuan"):
        headers = bearer(client, outsider)
        assert parties.get(f"/referrals/{rid}/pairing", headers).status_code == 404, outsider
    assert parties.post(f"/referrals/{rid}/pairing", parties.station, **body(db)).status_code == 403
    again = parties.post(f"/referrals/{rid}/pairing", parties.charity, **body(db))
    assert again.status_code == 409

    unreasoned = parties.post(f"/referrals/{rid}/pairing/end", parties.charity,
                              ended_on=clock.today().isoformat(), reason="")  # fmt: skip
    assert unreasoned.status_code == 422 and set(unreasoned.json["error"]["fields"]) == {"reason"}
    ended = parties.post(f"/referrals/{rid}/pairing/end", parties.charity,
                         ended_on=clock.today().isoformat(), reason="随父母到深圳就读")  # fmt: skip
    assert ended.status_code == 200, ended.json
    assert ended.json["is_ended_early"] is True and ended.json["can_end"] is False
    told = db.scalars(
        sa.select(Notification.kind).where(Notification.referral_id == rid)
    ).all()  # fmt: skip
    assert {"pairing_set_up", "pairing_ended"} <= set(told)


def test_a_bad_pairing_is_refused_by_field_through_the_api(
    client: FlaskClient, db: Session
) -> None:
    parties, rid = in_service(client, db)
    today = clock.today()

    missing = parties.post(f"/referrals/{rid}/pairing", parties.charity,
                           **body(db, companion_name="", visits_per_month=40))  # fmt: skip
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    backwards = parties.post(f"/referrals/{rid}/pairing", parties.charity,
                             **body(db, ends_on=yesterday))  # fmt: skip
    unknown = parties.post(f"/referrals/{rid}/pairing", parties.charity,
                           **body(db, companion_role="neighbour"))  # fmt: skip

    assert missing.status_code == 422
    assert set(missing.json["error"]["fields"]) == {"companion_name", "visits_per_month"}
    assert missing.json["error"]["fields"]["visits_per_month"] == [
        "每月探访次数应在 1 至 31 之间。"
    ]
    assert backwards.status_code == 422
    assert backwards.json["error"]["fields"] == {"ends_on": ["结束日期应晚于开始日期。"]}
    assert unknown.status_code == 422 and "companion_role" in unknown.json["error"]["fields"]


def test_the_charity_sets_up_a_pairing_on_the_referral_page_and_the_station_reads_it(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    _parties, rid = in_service(client, db)
    charity = browser_of(app, "charity_f")
    page = charity.get(f"/referrals/{rid}")
    assert 'data-testid="pairing-form"' in page.text
    assert 'type="date"' in page.text and "结对人姓名" in page.text
    # The members are offered by relation and birth year: the charity has not opened the
    # household's contact.
    members = re.search(r'<select[^>]*name="member_id".*?</select>', page.text, re.S)
    assert members is not None and "子女（2016年生）" in members.group(0)
    assert "钟浩然" not in members.group(0)
    token = csrf_token(charity, f"/referrals/{rid}")
    form = {
        "csrf_token": token, "companion_name": "陈淑芬", "companion_role": "caring_mother",
        "member_id": str(child(db)), "starts_on": clock.today().isoformat(),
        "ends_on": clock.today().isoformat(), "visits_per_month": "2",
        "pairing_note": "周末入户陪伴",
    }  # fmt: skip

    refused = charity.post(f"/referrals/{rid}/pairing", data=form)

    assert refused.status_code == 422
    assert "结束日期应晚于开始日期。" in refused.text
    assert 'value="陈淑芬"' in refused.text and 'value="周末入户陪伴"' in refused.text
    form["ends_on"] = (clock.today() + dt.timedelta(days=180)).isoformat()
    done = charity.post(f"/referrals/{rid}/pairing", data=form)
    assert done.status_code == 302 and done.location.endswith("#pairing")
    shown = charity.get(f"/referrals/{rid}")
    assert 'data-testid="pairing-months"' in shown.text and "每月探访 2 次" in shown.text
    assert 'data-testid="pairing-end-form"' in shown.text and "data-confirm=" in shown.text

    station = browser_of(app, "station_a").get(f"/referrals/{rid}")
    assert 'data-testid="pairing-companion"' in station.text and "陈淑芬" in station.text
    assert 'data-testid="pairing-form"' not in station.text
    assert 'data-testid="pairing-end-form"' not in station.text
    office = browser_of(app, "ca_conghua").get(f"/referrals/{rid}")
    assert 'data-testid="pairing-months"' in office.text

    end = {"csrf_token": token, "ended_on": clock.today().isoformat(), "end_reason": ""}
    unreasoned = charity.post(f"/referrals/{rid}/pairing/end", data=end)
    assert unreasoned.status_code == 422 and "请填写提前结束的原因。" in unreasoned.text
    ended = charity.post(f"/referrals/{rid}/pairing/end", data={**end, "end_reason": "搬家"})
    assert ended.status_code == 302
    assert 'data-testid="pairing-ended"' in charity.get(f"/referrals/{rid}").text


def test_the_pairing_section_names_things_in_english_on_english_pages(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    parties, rid = in_service(client, db)
    before = english_client(app.test_client(), "charity_f").get(f"/referrals/{rid}")
    assert parties.post(f"/referrals/{rid}/pairing", parties.charity, **body(db)).status_code == 201

    after = english_client(app.test_client(), "charity_f").get(f"/referrals/{rid}")

    assert "Companion&#39;s name" in before.text or "Companion's name" in before.text
    assert "Caring mother" in after.text and "Visit plan" in after.text
    for page in (before, after):
        section = page.text.split('data-testid="pairing"', 1)[1].split("</section>", 1)[0]
        assert chinese_labels(section) == []
