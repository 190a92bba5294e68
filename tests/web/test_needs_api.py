"""The needs-ledger API: households, consent, reveal, needs, worklist, import, isolation."""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy.orm import Session

from models import AuditLog, Region
from seed.synthetic import household_rows, households_workbook
from tests.helpers import bearer, get_user

HEAD_ID = "440122196503120032"


def household_body(region_code: str, head_id: str = HEAD_ID) -> dict:
    return {
        "region_code": region_code,
        "phone": "13800001111",
        "categories": ["dibao"],
        "medical_expense_fen": 2_000_000,
        "members": [
            {"name": "温国强", "relation": "head", "id_number": head_id, "self_care": "partial"},
            {"name": "温小敏", "relation": "child", "birth_on": "2015-09-01",
             "disability_type": "intellectual", "disability_grade": 2},
        ],
    }  # fmt: skip


def region_of(db: Session, username: str) -> str:
    station = get_user(db, username).station
    assert station is not None
    return station.region_code


def test_an_invalid_id_number_is_refused_naming_the_field(client: FlaskClient, db: Session) -> None:
    body = household_body(region_of(db, "station_a"), head_id="440122196503120031")
    response = client.post("/api/v1/households", json=body, headers=bearer(client, "station_a"))
    assert response.status_code == 422
    assert "members.0.id_number" in response.json["error"]["fields"]
    assert "校验位" in response.json["error"]["fields"]["members.0.id_number"][0]


def test_create_show_masked_reveal_audited_and_isolated(client: FlaskClient, db: Session) -> None:
    station_a = bearer(client, "station_a")
    created = client.post(
        "/api/v1/households", json=household_body(region_of(db, "station_a")), headers=station_a
    )
    assert created.status_code == 201, created.json
    household = created.json
    assert household["members"][0]["id_number_masked"] == "440122************"
    assert HEAD_ID not in created.text and "13800001111" not in created.text
    assert household["priority_groups"] == ["disabled_elderly", "minor", "disabled"]
    assert household["duplicates"] == []
    head = household["members"][0]["id"]
    shown = client.post(
        f"/api/v1/households/{household['id']}/members/{head}/reveal", headers=station_a
    )
    assert shown.json == {"value": HEAD_ID}
    reveals = sa.select(sa.func.count()).where(
        AuditLog.action == "member.id_revealed", AuditLog.object_id == str(household["id"])
    )
    assert db.scalar(reveals) == 1

    station_b = bearer(client, "station_b")
    url = f"/api/v1/households/{household['id']}"
    assert client.get(url, headers=station_b).status_code == 404
    assert client.put(url, json=household_body(region_of(db, "station_a")),
                      headers=station_b).status_code == 404  # fmt: skip
    assert client.post(f"{url}/members/{head}/reveal", headers=station_b).status_code == 404
    assert client.post(f"{url}/needs", json={"domain": "medical", "text": "x"},
                       headers=station_b).status_code == 404  # fmt: skip
    assert client.get(url, headers=bearer(client, "ca_conghua")).status_code == 200
    assert client.get(url, headers=bearer(client, "ca_ruyuan")).status_code == 404

    second = client.post(
        "/api/v1/households", json=household_body(region_of(db, "station_b")), headers=station_b
    )
    assert second.json["duplicates"] == [
        {"member_name": "温国强", "station_name": "温泉镇综合救助服务站"}
    ]


def test_needs_consent_and_the_worklist(client: FlaskClient, db: Session) -> None:
    headers = bearer(client, "station_a")
    household = client.post(
        "/api/v1/households", json=household_body(region_of(db, "station_a")), headers=headers
    ).json
    need = client.post(
        f"/api/v1/households/{household['id']}/needs",
        json={"domain": "medical", "text": "透析自付费用高", "urgency": "urgent",
              "amount_gap_fen": 3_000_000},
        headers=headers,
    )  # fmt: skip
    assert need.status_code == 201 and need.json["status"] == "open"
    station_id = get_user(db, "station_a").station_id
    work = client.get(f"/api/v1/stations/{station_id}/worklist", headers=headers).json
    first = work["items"][0]
    assert first["need"]["urgency"] == "urgent"
    mine = next(i for i in work["items"] if i["need"]["id"] == need.json["id"])
    assert mine["outside_gov_aid"] is True and mine["head_name"] == "温国强"
    closed = client.post(
        f"/api/v1/needs/{need.json['id']}/status", json={"status": "closed"}, headers=headers
    )
    assert closed.status_code == 422 and "reason" in closed.json["error"]["fields"]
    consent = client.post(
        f"/api/v1/households/{household['id']}/consent",
        json={"on": "2026-11-20", "scope": "困难情况核实、慈善帮扶转介"}, headers=headers,
    )  # fmt: skip
    assert consent.json["has_consent"] is True
    withdrawn = client.delete(f"/api/v1/households/{household['id']}/consent", headers=headers)
    assert withdrawn.json["has_consent"] is False
    other = get_user(db, "station_c").station_id
    assert client.get(f"/api/v1/stations/{other}/worklist", headers=headers).status_code == 404


def test_household_import_over_http(client: FlaskClient, db: Session) -> None:
    station = get_user(db, "station_a").station
    villages = list(
        db.scalars(sa.select(Region.code).where(Region.parent_code == station.region_code))
    )
    rows = household_rows(30, villages)
    rows[3]["性别"] = "未知"
    headers = bearer(client, "station_a")
    bad = client.post(
        "/api/v1/imports/households",
        data={"file": (io.BytesIO(households_workbook(rows)), "h.xlsx")},
        headers=headers, content_type="multipart/form-data",
    )  # fmt: skip
    assert bad.status_code == 422 and list(bad.json["error"]["fields"]["rows"]) == ["5"]
    rows[3]["性别"] = "女"
    good = client.post(
        "/api/v1/imports/households",
        data={"file": (io.BytesIO(households_workbook(rows)), "h.xlsx")},
        headers=headers, content_type="multipart/form-data",
    )  # fmt: skip
    assert good.status_code == 201 and good.json["households"] == 30
    export = client.get("/api/v1/households/export.xlsx", headers=headers)
    assert export.status_code == 200


def test_openapi_has_the_needs_ledger(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    validate(spec)
    for path in ("/api/v1/stations", "/api/v1/households/{household_id}/needs", "/api/v1/needs",
                 "/api/v1/imports/households",
                 "/api/v1/stations/{station_id}/worklist"):  # fmt: skip
        assert path in spec["paths"], path


def test_member_conditions_are_confirmed_codes_or_suggested_from_the_illness_text(
    client: FlaskClient, db: Session
) -> None:
    body = household_body(region_of(db, "station_a"))
    body["situations"] = ["single_parent"]
    body["members"][0] |= {"illness": "尿毒症，每周洗血三次"}
    body["members"][1] |= {"conditions": ["autism"], "child_status": "left_behind"}
    created = client.post("/api/v1/households", json=body, headers=bearer(client, "station_a"))
    assert created.status_code == 201, created.json
    head, child = created.json["members"]
    assert created.json["situations"] == ["single_parent"]
    # Not yet confirmed: the illness text is read, and its conditions offered for confirming.
    assert head["conditions"] is None and head["suggested_conditions"] == ["uraemia"]
    assert child["conditions"] == ["autism"] and child["suggested_conditions"] == []
    assert child["child_status"] == "left_behind"


def test_imported_illness_text_awaits_confirmation_and_named_conditions_are_taken(
    client: FlaskClient, db: Session
) -> None:
    station = get_user(db, "station_a").station
    assert station is not None
    villages = list(
        db.scalars(sa.select(Region.code).where(Region.parent_code == station.region_code))
    )
    rows = household_rows(2, villages)
    first = [r for r in rows if r["户编号"] == rows[0]["户编号"]]
    first[0] |= {"疾病": "一个礼拜洗三次血", "家庭情形": "独居"}
    rows[-1] |= {"疾病": "乳房上长了恶性的", "病种": "乳腺癌", "儿童身份": ""}
    response = client.post(
        "/api/v1/imports/households",
        data={"file": (io.BytesIO(households_workbook(rows)), "h.xlsx")},
        headers=bearer(client, "station_a"), content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 201, response.json
    from models import Household, Member

    head = db.scalar(sa.select(Member).where(Member.illness == "一个礼拜洗三次血"))
    named = db.scalar(sa.select(Member).where(Member.illness == "乳房上长了恶性的"))
    assert head is not None and named is not None
    assert head.conditions is None  # mapped by the matcher until the station confirms
    assert named.conditions == ["breast_cancer"]
    household = db.get(Household, head.household_id)
    assert household is not None and household.situations == ["living_alone"]
