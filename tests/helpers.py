"""Helpers shared by the tests: demo accounts, signing in, tokens."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from models import User

#: Fixed keys for tests only (never used by a deployment: those are generated or given).
TEST_DATA_KEY = "rC4J0wqCFvRdyfyqlOSL6HwCsGgaXJ9_G4MlsTVdxiA="
TEST_SECRET_KEY = "test-secret-key-not-for-production"
DEMO_PASSWORD = "cishan-demo-2026"


def get_user(db: Session, username: str) -> User:
    found = db.scalar(sa.select(User).where(User.username == username))
    assert found is not None, username
    return found


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    match = _CSRF.search(page.text) or re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> TestResponse:
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def bearer(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}
