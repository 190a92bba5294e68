"""The database goes away under a running app: requests fail cleanly and recover by themselves.

On PostgreSQL the test database is made unreachable the way a restart looks to the app — every
open connection killed and new ones refused — then allowed again. On SQLite the fault is the
one SQLite has: another process holding the write lock past the busy timeout. In both cases
the app answers 503 with its Chinese error (JSON for the API, a page for people), never a 500
or a stack trace, and the next request after the database is back succeeds without the app
being restarted: the pool checks connections before use and drops the dead ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine, make_url

from models.session import create_engine, make_session_factory
from tests.conftest import copy_demo, is_postgres, side_database_url
from tests.helpers import TEST_DATA_KEY, TEST_SECRET_KEY, bearer, sign_in
from web import create_app


@pytest.fixture(scope="module")
def fault_url(database_url: str, tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> str:
    url = side_database_url(database_url, tmp_path_factory.mktemp("faults"), "faults")
    copy_demo(engine, url).dispose()
    return url


def app_on(engine: Engine, url: str) -> Flask:
    """The real app on its own engine and pool, as a deployment runs it."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SESSION_FACTORY": make_session_factory(engine),
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATA_KEY": TEST_DATA_KEY,
        }
    )


def assert_unavailable(api: FlaskClient, page: FlaskClient, headers: dict[str, str]) -> None:
    answer = api.get("/api/v1/households", headers=headers)
    assert answer.status_code == 503
    assert answer.json["error"]["code"] == "unavailable"
    assert "服务暂时不可用" in answer.json["error"]["message"]
    shown = page.get("/households")
    assert shown.status_code == 503
    assert "服务暂时不可用" in shown.text and "Traceback" not in shown.text


def assert_serving(api: FlaskClient, page: FlaskClient, headers: dict[str, str]) -> None:
    answer = api.get("/api/v1/households", headers=headers)
    assert answer.status_code == 200 and answer.json["items"]
    assert page.get("/households").status_code == 200


@contextmanager
def database_outage(url: str) -> Iterator[None]:
    """The database unreachable for the app while the block runs, then back."""
    if is_postgres(url):
        # A restart as one database sees it: every connection killed, new ones refused.
        name = make_url(url).database
        admin = sa.create_engine(
            make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
        try:
            yield
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            admin.dispose()
    else:
        # Another process holding the write lock past the busy timeout (a stuck tool, say).
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.rollback()
            holder.close()


def test_the_database_going_away_is_a_clean_503_and_the_app_recovers_by_itself(
    fault_url: str,
) -> None:
    # A short SQLite busy timeout, so the test does not wait the production 30 s.
    options = {} if is_postgres(fault_url) else {"connect_args": {"timeout": 0.3}}
    engine = create_engine(fault_url, **options)
    app = app_on(engine, fault_url)
    api, page = app.test_client(), app.test_client()
    headers = bearer(api, "station_a")
    sign_in(page, "station_a")
    assert_serving(api, page, headers)  # the pool now holds live connections

    with database_outage(fault_url):
        assert_unavailable(api, page, headers)
        assert_unavailable(api, page, headers)  # still clean on a second try, nothing stuck
    assert_serving(api, page, headers)
    engine.dispose()
