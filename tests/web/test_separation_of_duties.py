"""Whoever creates or submits a referral does not approve it, unless the county's
civil-affairs office allows one person to do both; then the record says so."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import AuditLog
from tests.helpers import bearer, csrf_token, need_of, project_named, sign_in

SURGERY = "从化区慈善医疗救助"


def drafted_and_submitted(client: FlaskClient, db: Session, headers: dict[str, str]) -> int:
    need, project = need_of(db, "钟伟明", "medical"), project_named(db, SURGERY)
    created = client.post(
        "/api/v1/referrals", headers=headers, json={"need_id": need.id, "project_id": project.id}
    )
    assert created.status_code == 201, created.json
    rid = created.json["id"]
    version = created.json["version"]
    submitted = client.post(
        f"/api/v1/referrals/{rid}/submit", headers=headers, json={"version": version}
    )
    assert submitted.status_code == 200, submitted.json
    return rid


def approve(client: FlaskClient, rid: int, headers: dict[str, str]):  # noqa: ANN201
    version = client.get(f"/api/v1/referrals/{rid}", headers=headers).json["version"]
    return client.post(f"/api/v1/referrals/{rid}/approve", headers=headers,
                       json={"version": version})  # fmt: skip


def allow_self_approval(client: FlaskClient, allowed: bool) -> list[tuple[str, str]]:
    token = csrf_token(client, "/settings/county")
    data = {"csrf_token": token, **({"allows_self_approval": "y"} if allowed else {})}
    client.post("/settings/county", data=data)
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def test_whoever_created_and_submitted_a_referral_cannot_approve_it_by_default(
    client: FlaskClient, db: Session
) -> None:
    office = bearer(client, "ca_conghua")
    rid = drafted_and_submitted(client, db, office)
    refused = approve(client, rid, office)
    assert refused.status_code == 403
    assert "不能再由您审批" in refused.json["error"]["message"]
    assert client.get(f"/api/v1/referrals/{rid}", headers=office).json["status"] == "submitted"


def test_a_station_submits_and_the_office_approves_as_always(
    client: FlaskClient, db: Session
) -> None:
    rid = drafted_and_submitted(client, db, bearer(client, "station_a"))
    approved = approve(client, rid, bearer(client, "ca_conghua"))
    assert approved.status_code == 200
    assert [e["self_approved"] for e in approved.json["events"]] == [False, False, False]


def test_a_county_that_allows_it_gets_self_approval_on_record(
    client: FlaskClient, db: Session
) -> None:
    office = bearer(client, "ca_conghua")
    sign_in(client, "ca_conghua")
    assert allow_self_approval(client, True)[-1][0] == "success"
    assert "允许" in client.get("/settings/county").text
    rid = drafted_and_submitted(client, db, office)
    approved = approve(client, rid, office)
    assert approved.status_code == 200, approved.json
    assert approved.json["events"][-1]["self_approved"] is True
    record = db.scalars(
        sa.select(AuditLog).where(
            AuditLog.action == "referral.approved", AuditLog.object_id == str(rid)
        )
    ).one()
    assert record.detail["self_approved"] is True
    assert "同一人发起并审批（本县允许）" in client.get(f"/referrals/{rid}").text
    assert db.scalars(
        sa.select(AuditLog.detail).where(AuditLog.action == "county.self_approval")
    ).all()[-1] == {"allowed": True}


def test_only_a_county_office_decides_and_a_city_sees_what_its_counties_chose(
    client: FlaskClient,
) -> None:
    sign_in(client, "ca_guangzhou")
    flashes = allow_self_approval(client, True)
    assert flashes[-1][0] == "error" and "县（区）民政部门" in flashes[-1][1]
    page = client.get("/settings/county")
    assert page.status_code == 200 and "从化区" in page.text
    assert 'data-testid="county-settings-form"' not in page.text
