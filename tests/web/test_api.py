"""The JSON API: tokens, the error envelope, scoping by id, the OpenAPI document."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy.orm import Session

from models import AuditLog, Household
from tests.helpers import bearer, get_user


def household_of(db: Session, username: str) -> int:
    station_id = get_user(db, username).station_id
    household_id = db.scalar(
        sa.select(Household.id).where(Household.station_id == station_id).limit(1)
    )
    assert household_id is not None
    return household_id


def test_openapi_document_is_valid_openapi_3(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/households/{household_id}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_unauthenticated_call_gets_401_envelope(client: FlaskClient) -> None:
    response = client.get("/api/v1/households")
    assert response.status_code == 401
    assert response.json == {
        "error": {"code": "unauthorized", "message": "请先登录。", "fields": {}}
    }


def test_a_bad_token_gets_401(client: FlaskClient) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert "令牌" in response.json["error"]["message"]


def test_bad_json_gets_400_with_a_field_message(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/auth/token", data='{"username": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"
    assert response.json["error"]["fields"]["json"]


def test_invalid_fields_get_422_with_chinese_messages(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/token", json={"username": 12, "colour": "red"})
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert fields["username"] == ["应为文本。"]
    assert fields["password"] == ["必填。"]
    assert fields["colour"] == ["不认识的字段。"]


def test_query_parameters_are_validated(client: FlaskClient) -> None:
    headers = bearer(client, "station_a")
    response = client.get("/api/v1/households?per_page=1000", headers=headers)
    assert response.status_code == 422
    assert response.json["error"]["fields"]["per_page"] == ["应在 1 到 100 之间。"]


def test_wrong_password_is_401_and_the_sixth_try_is_throttled(
    client: FlaskClient, db: Session
) -> None:
    for _ in range(5):
        response = client.post(
            "/api/v1/auth/token", json={"username": "station_b", "password": "wrong-password"}
        )
        assert response.status_code == 401
    response = client.post(
        "/api/v1/auth/token", json={"username": "station_b", "password": "cishan-demo-2026"}
    )
    assert response.status_code == 429
    assert "锁定" in response.json["error"]["message"]
    actions = db.scalars(
        sa.select(AuditLog.action).where(AuditLog.actor_name == "station_b").order_by(AuditLog.id)
    ).all()
    assert actions[-6:] == ["auth.login_failed"] * 5 + ["auth.login_throttled"]


def test_another_stations_household_is_404_by_bearer(client: FlaskClient, db: Session) -> None:
    theirs = household_of(db, "station_a")
    own = household_of(db, "station_b")
    headers = bearer(client, "station_b")
    assert client.get(f"/api/v1/households/{own}", headers=headers).status_code == 200
    response = client.get(f"/api/v1/households/{theirs}", headers=headers)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    listed = client.get("/api/v1/households", headers=headers).json["items"]
    assert theirs not in {item["id"] for item in listed}


def test_household_reads_show_masked_ids_and_are_audited(client: FlaskClient, db: Session) -> None:
    household_id = household_of(db, "station_a")
    response = client.get(f"/api/v1/households/{household_id}", headers=bearer(client, "station_a"))
    assert response.status_code == 200
    numbers = [m["id_number_masked"] for m in response.json["members"] if m["id_number_masked"]]
    assert numbers and all("************" in n for n in numbers)
    assert "id_number" not in response.json["members"][0]
    read = db.scalar(
        sa.select(AuditLog).where(
            AuditLog.action == "household.read", AuditLog.object_id == str(household_id)
        )
    )
    assert read is not None and read.actor_name == "station_a"


def test_revoked_token_stops_working(client: FlaskClient) -> None:
    headers = bearer(client, "station_a")
    assert client.get("/api/v1/me", headers=headers).json["username"] == "station_a"
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_unknown_api_path_and_method_use_the_envelope(client: FlaskClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong = client.put("/api/v1/me", headers=bearer(client, "station_a"))
    assert wrong.status_code == 405 and wrong.json["error"]["code"] == "method_not_allowed"


def test_an_unexpected_error_is_a_plain_500_without_trace(app, client: FlaskClient) -> None:
    @app.route("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    @app.route("/boom")
    def boom_page() -> None:
        raise RuntimeError("secret internal detail")

    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert "secret" not in response.text and "Traceback" not in response.text
    page = client.get("/boom")
    assert page.status_code == 500
    assert "服务器内部错误" in page.text and "secret" not in page.text
