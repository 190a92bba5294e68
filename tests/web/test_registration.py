"""A charity's registration tells nobody which usernames exist: its first account is named
by its 统一社会信用代码, and attempts are audited and limited per client address."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import AuditLog
from tests.helpers import credit_code
from web.services.organizations import MAX_REGISTRATIONS_PER_HOUR

HERE = {"REMOTE_ADDR": "203.0.113.40"}
ELSEWHERE = {"REMOTE_ADDR": "198.51.100.41"}


def registration(serial: int, **extra: object) -> dict[str, object]:
    return {
        "name": f"从化区第{serial}慈善服务中心", "uscc": credit_code(900 + serial),
        "registered_region_code": "440117000000", "password": "a-long-password",
        "display_name": "林晓", **extra,
    }  # fmt: skip


def test_the_first_account_is_named_by_the_credit_code_and_can_sign_in(
    client: FlaskClient,
) -> None:
    body = registration(1)
    created = client.post("/api/v1/organizations", json=body, environ_base=HERE)
    assert created.status_code == 201, created.json
    token = client.post(
        "/api/v1/auth/token", json={"username": body["uscc"], "password": "a-long-password"}
    )
    assert token.status_code == 201


def test_a_registration_cannot_ask_whether_a_username_exists(client: FlaskClient) -> None:
    for name in ("admin", "no_such_account"):
        answer = client.post(
            "/api/v1/organizations", json=registration(2, username=name), environ_base=HERE
        )
        assert answer.status_code == 422
        assert answer.json["error"]["fields"] == {"username": ["不认识的字段。"]}


def test_attempts_are_audited_and_limited_per_address(client: FlaskClient, db: Session) -> None:
    bad = registration(3, uscc="91440117MA5XXXXXX0")  # fails its check character
    for _ in range(MAX_REGISTRATIONS_PER_HOUR):
        refused = client.post("/api/v1/organizations", json=bad, environ_base=HERE)
        assert refused.status_code == 422
    throttled = client.post("/api/v1/organizations", json=registration(4), environ_base=HERE)
    assert throttled.status_code == 429
    assert (
        client.post(
            "/api/v1/organizations", json=registration(4), environ_base=ELSEWHERE
        ).status_code
        == 201
    )
    actions = db.scalars(
        sa.select(AuditLog.action).where(AuditLog.ip == HERE["REMOTE_ADDR"]).order_by(AuditLog.id)
    ).all()
    assert actions == ["organization.register_refused"] * MAX_REGISTRATIONS_PER_HOUR + [
        "organization.register_throttled"
    ]
