"""The referral pages: what each party sees, forms that keep what was typed, the bell."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.helpers import csrf_token, sign_in
from tests.web.test_referrals_api import (
    SURGERY,
    Parties,
    approved,
    draft,
    need_of,
    project_named,
)


def approved_one(client: FlaskClient, db: Session) -> tuple[Parties, int]:
    parties = Parties(client)
    return parties, approved(parties, need_of(db, "钟伟明", "medical"), project_named(db, SURGERY))


def browser_of(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    sign_in(client, username)
    return client


def test_the_station_sees_the_household_and_the_charity_does_not(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    _parties, rid = approved_one(client, db)
    station = browser_of(app, "station_a")
    mine = station.get("/referrals")
    assert mine.status_code == 200 and "钟伟明" in mine.text and "我的转介" in mine.text
    charity = browser_of(app, "charity_f")
    inbox = charity.get("/referrals")
    assert inbox.status_code == 200 and "转介收件箱" in inbox.text
    assert SURGERY in inbox.text and "钟伟明" not in inbox.text
    detail = charity.get(f"/referrals/{rid}")
    assert "温泉镇" in detail.text and "钟伟明" not in detail.text
    assert browser_of(app, "station_c").get(f"/referrals/{rid}").status_code == 404
    assert browser_of(app, "charity_h").get(f"/referrals/{rid}").status_code == 404


def test_a_refused_step_keeps_what_was_typed(app: Flask, client: FlaskClient, db: Session) -> None:
    parties, rid = approved_one(client, db)
    version = parties.get(f"/referrals/{rid}", parties.charity).json["version"]
    charity = browser_of(app, "charity_f")
    token = csrf_token(charity, f"/referrals/{rid}")
    response = charity.post(
        f"/referrals/{rid}/decline",
        data={"csrf_token": token, "version": version, "decline_reason": "other",
              "decline_note": ""},
    )  # fmt: skip
    assert response.status_code == 422 and "选择“其他”时请说明原因" in response.text
    assert '<option selected value="other">' in response.text
    stale = charity.post(
        f"/referrals/{rid}/decline",
        data={"csrf_token": token, "version": version - 1, "decline_reason": "other",
              "decline_note": "机构本月人手不足"},
    )  # fmt: skip
    assert stale.status_code == 409 and "已被他人更新" in stale.text
    assert 'value="机构本月人手不足"' in stale.text


def test_the_office_approves_from_its_queue_in_a_batch(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    parties = Parties(client)
    rid = draft(parties, need_of(db, "钟伟明", "medical"), project_named(db, SURGERY))
    parties.step(rid, "submit", parties.station)
    office = browser_of(app, "ca_conghua")
    queue = office.get("/referrals")
    assert "转介审批" in queue.text and f'value="{rid}:2"' in queue.text
    done = office.post(
        "/referrals/batch-approve",
        data={"csrf_token": csrf_token(office, "/referrals"), "pick": [f"{rid}:2"]},
        follow_redirects=True,
    )
    assert "已批准 1 件" in done.text
    assert parties.get(f"/referrals/{rid}", parties.station).json["status"] == "approved"


def test_the_bell_counts_unread_and_opening_one_reads_it(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    _parties, rid = approved_one(client, db)
    charity = browser_of(app, "charity_f")
    home = charity.get("/home")
    assert 'data-testid="unread-count">1<' in home.text
    listing = charity.get("/notifications")
    assert "简化程序" in listing.text and "请在" in listing.text
    link = re.search(r'href="(/notifications/\d+/open)"', listing.text)
    assert link is not None
    opened = charity.get(link.group(1))
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/referrals/{rid}")
    assert 'data-testid="unread-count"' not in charity.get("/home").text
    assert browser_of(app, "station_c").get(link.group(1)).status_code == 404


def test_the_household_page_shows_aid_and_referrals_in_one_chain(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    _parties, rid = approved_one(client, db)
    household = need_of(db, "钟伟明", "medical").household
    page = browser_of(app, "station_a").get(f"/households/{household.id}")
    assert page.status_code == 200
    chain = page.text[page.text.index('data-testid="chain"') :]
    assert f"/referrals/{rid}" in chain and "已批准" in chain
    for aid in household.gov_aid:
        assert aid.aid_type.label in chain
