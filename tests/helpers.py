"""Helpers shared by the tests: demo accounts and records, signing in, tokens."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from stdnum.cn import uscc
from werkzeug.test import TestResponse

from models import Household, Need, Project, User

#: Fixed keys for tests only (never used by a deployment: those are generated or given).
TEST_DATA_KEY = "rC4J0wqCFvRdyfyqlOSL6HwCsGgaXJ9_G4MlsTVdxiA="
TEST_SECRET_KEY = "test-secret-key-not-for-production"
DEMO_PASSWORD = "cishan-demo-2026"


def get_user(db: Session, username: str) -> User:
    found = db.scalar(sa.select(User).where(User.username == username))
    assert found is not None, username
    return found


def project_named(db: Session, name: str) -> Project:
    project = db.scalar(sa.select(Project).where(Project.name == name))
    assert project is not None, name
    return project


def need_of(db: Session, head_name: str, domain: str) -> Need:
    """The need in ``domain`` of the household whose head is ``head_name``."""
    need = db.scalar(
        sa.select(Need)
        .join(Household)
        .where(Household.head_name == head_name, Need.domain == domain)
    )
    assert need is not None, (head_name, domain)
    return need


def credit_code(serial: int) -> str:
    """A valid 统一社会信用代码 of a 从化 social organization, distinct per ``serial``."""
    base = f"53440117MJL{serial:06d}"
    return base + uscc.calc_check_digit(base)


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


def later_edition(folder: Path, *, rename: dict[str, str], extra: list[str]) -> Path:
    """A copy of the shipped township/village file in ``folder`` with some names changed and
    rows added: a later edition of the codes."""
    from seed.demo import TOWNSHIPS_VILLAGES

    lines = TOWNSHIPS_VILLAGES.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        code, name, rest = line.split(",", 2)
        lines[i] = f"{code},{rename.get(code, name)},{rest}"
    path = folder / "townships_2024.csv"
    path.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
    return path
