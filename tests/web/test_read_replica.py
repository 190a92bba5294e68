"""With ``DATABASE_URL_READ`` set, the dashboard's and the half-year report's figures are read
from the replica, while signing in, the access checks and the audit record stay on the
primary, and nothing is ever written to the replica. Without it, everything is on the
primary (the rest of the suite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Engine

from models import AuditLog
from tests.conftest import copy_demo, side_database_url
from tests.helpers import TEST_DATA_KEY, TEST_SECRET_KEY, bearer, sign_in

CONGHUA = "440117000000"


@pytest.fixture(scope="module")
def two_databases(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, engine: Engine
) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("replica")
    primary = side_database_url(database_url, folder, "primary")
    replica = side_database_url(database_url, folder, "replica")
    for url in (primary, replica):
        copy_demo(engine, url).dispose()
    yield primary, replica


@pytest.fixture
def app(two_databases: tuple[str, str], tmp_path: Path) -> Iterator[Flask]:
    from web import create_app

    primary, replica = two_databases
    app = create_app({
        "TESTING": True, "DATABASE_URL": primary, "DATABASE_URL_READ": replica,
        "SECRET_KEY": TEST_SECRET_KEY, "DATA_KEY": TEST_DATA_KEY,
    })  # fmt: skip
    yield app
    app.extensions["engine"].dispose()
    app.extensions["read_engine"].dispose()


def statements(engine: Engine) -> list[str]:
    """Every statement ``engine`` runs from now on, lower-cased."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.lower())

    sa.event.listen(engine, "before_cursor_execute", record)
    return seen


def test_the_figures_come_from_the_replica_and_the_audit_goes_to_the_primary(
    app: Flask,
) -> None:
    client = app.test_client()
    headers = bearer(client, "ca_conghua")
    sign_in(client, "ca_conghua")
    on_primary = statements(app.extensions["engine"])
    on_replica = statements(app.extensions["read_engine"])

    api = client.get(f"/api/v1/stats/overview?region_code={CONGHUA}", headers=headers)
    page = client.get("/dashboard")
    report = client.get("/reports/half-year")

    assert api.status_code == 200 and page.status_code == 200 and report.status_code == 200
    assert api.json["region"]["code"] == CONGHUA
    # The figures: counted on the replica, none on the primary.
    assert any("from needs" in s for s in on_replica)
    assert any("from referrals" in s for s in on_replica)
    assert not any("from needs" in s or "join needs" in s for s in on_primary)
    # The replica is only read.
    writes = ("insert ", "update ", "delete ")
    assert not [s for s in on_replica if s.lstrip().startswith(writes)]
    # Who asked, and that they looked, is on the primary.
    with app.extensions["engine"].connect() as primary:
        actions = primary.scalars(
            sa.select(AuditLog.action).where(AuditLog.action.in_(["stats.read", "stats.report"]))
        ).all()
    with app.extensions["read_engine"].connect() as replica:
        on_copy = replica.scalar(
            sa.select(sa.func.count())
            .select_from(AuditLog)
            .where(AuditLog.action.in_(["stats.read", "stats.report"]))
        )
    assert sorted(actions) == ["stats.read", "stats.read", "stats.report"]
    assert on_copy == 0
