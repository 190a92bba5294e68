"""Shared fixtures.

The suite runs on SQLite by default and on PostgreSQL when ``TEST_DATABASE_URL`` is set. The
schema is built once by the real migrations and the demo data loaded once and committed; each
test then runs inside a transaction that is rolled back, with the code under test committing
to savepoints, so tests see the demo and never see each other's changes.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from models import Base, migrate
from models.session import create_engine, make_session_factory
from tests.helpers import DEMO_PASSWORD, TEST_DATA_KEY, TEST_SECRET_KEY
from web.services.crypto import PersonalDataCipher
from web.services.users import configure_password_hashing

os.environ.setdefault("SECRET_KEY", TEST_SECRET_KEY)
os.environ.setdefault("DATA_KEY", TEST_DATA_KEY)
# Apps made without TESTING (the live servers' own, the CLI's) would otherwise freeze every
# object of the suite's process out of the cycle collector, garbage cycles of later tests kept.
os.environ["GC_FREEZE"] = "0"
# Argon2 at about a tenth of its production cost: a sign-in's hash still outweighs the rest
# of the request (the sign-in timing test relies on that) and the suite's sign-ins stay quick.
configure_password_hashing(time_cost=2, memory_cost_kib=16384)


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def reset_database(url: str) -> None:
    """Empty the database at ``url`` (a disposable test database)."""
    if is_postgres(url):
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def side_database_url(test_url: str, tmp_dir: Path, suffix: str) -> str:
    """A second database beside the test database, for tests that need committed data seen
    by other connections: a SQLite file, or ``<name>_<suffix>`` on PostgreSQL."""
    if not is_postgres(test_url):
        return f"sqlite:///{tmp_dir / f'{suffix}.db'}"
    url = make_url(test_url)
    side = url.set(database=f"{url.database}_{suffix}")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": side.database}
        )
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{side.database}"'))
    admin.dispose()
    return side.render_as_string(hide_password=False)


def build_demo_database(url: str, cipher: PersonalDataCipher) -> Engine:
    """Migrate an empty database and load the regions and demo; returns its engine."""
    reset_database(url)
    migrate.upgrade(url)
    engine = create_engine(url)
    from seed.demo import load_all_regions, load_demo

    with make_session_factory(engine, cipher=cipher)() as db:
        load_all_regions(db)
        load_demo(db, password=DEMO_PASSWORD)
        db.commit()
    return engine


def copy_demo(source: Engine, url: str) -> Engine:
    """A copy of the suite's demo database ``source`` at ``url``, rather than the demo loaded
    again (that hashes nineteen passwords: seconds); returns the copy's engine.

    SQLite to SQLite goes through SQLite's backup API, schema and all; otherwise the empty
    database is migrated and each table copied, with ``COPY`` between two PostgreSQL
    databases, so the 28,000 regions cost a fraction of a second.
    """
    reset_database(url)
    if source.dialect.name == "sqlite" and not is_postgres(url):
        with (
            source.connect() as read,
            closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as to,
        ):
            read.connection.driver_connection.backup(to)
        return create_engine(url)
    migrate.upgrade(url)
    copy = create_engine(url)
    with source.connect() as read, copy.begin() as write:
        for table in Base.metadata.sorted_tables:
            copy_table(read, write, table)
            key = table.autoincrement_column
            if key is not None and is_postgres(url):  # no-op on an empty table (NULL)
                write.execute(
                    sa.select(sa.func.setval(
                        sa.func.pg_get_serial_sequence(table.name, key.name),
                        sa.select(sa.func.max(key)).scalar_subquery(),
                    ))
                )  # fmt: skip
    return copy


def remove_local_resources(engine: Engine) -> None:
    """Delete the demo's local resources and their givers, which migration 0021's
    downgrade refuses to drop silently, so an older revision can be reached."""
    # Constant SQL throughout: no value comes from outside.
    local = "SELECT id FROM organizations WHERE kind = 'local' OR uscc IS NULL"
    projects = f"SELECT id FROM projects WHERE organization_id IN ({local})"  # noqa: S608
    with engine.begin() as conn:
        for statement in (
            f"DELETE FROM ledger_entries WHERE project_id IN ({projects})",  # noqa: S608
            f"DELETE FROM project_areas WHERE project_id IN ({projects})",  # noqa: S608
            f"DELETE FROM projects WHERE id IN ({projects})",  # noqa: S608
            f"DELETE FROM organizations WHERE id IN ({local})",  # noqa: S608
        ):
            conn.execute(sa.text(statement))


def copy_table(read: Connection, write: Connection, table: sa.Table) -> None:
    """The rows of ``table`` from ``read`` into the same table of ``write``."""
    if read.dialect.name == write.dialect.name == "postgresql":
        name = write.dialect.identifier_preparer.quote(table.name)
        source = read.connection.driver_connection.cursor()
        target = write.connection.driver_connection.cursor()
        with (
            source.copy(f"COPY {name} TO STDOUT (FORMAT BINARY)") as out,
            target.copy(f"COPY {name} FROM STDIN (FORMAT BINARY)") as into,
        ):
            for block in out:
                into.write(block)
        return
    rows = [row._asdict() for row in read.execute(sa.select(table))]
    if rows:
        write.execute(table.insert(), rows)


@pytest.fixture(scope="session", autouse=True)
def session_matcher_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Apps made by module- or session-scoped fixtures share the matcher's index in a
    temporary folder too, never in the repository's ``instance/``."""
    folder = tmp_path_factory.mktemp("matcher-index")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MATCHER_INDEX_DIR", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def matcher_index_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test's apps share the matcher's index in a folder of their own: a rolled-back
    test's ids come again in the next one, so one test's index must not be another's."""
    folder = tmp_path_factory.mktemp("matcher-index")
    monkeypatch.setenv("MATCHER_INDEX_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def cipher() -> PersonalDataCipher:
    return PersonalDataCipher(TEST_DATA_KEY)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    # Each worker of a parallel run (``pytest -n``, as ``make test`` runs it) has a database
    # of its own beside the one named (``test_gw0``, ``test_gw1``), and its tests' side
    # databases beside that.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return side_database_url(url, tmp_path_factory.mktemp("db"), worker) if worker else url


@pytest.fixture(scope="session")
def engine(database_url: str, cipher: PersonalDataCipher) -> Iterator[Engine]:
    engine = build_demo_database(database_url, cipher)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def session_factory(connection: Connection, cipher: PersonalDataCipher) -> sessionmaker[Session]:
    return make_session_factory(connection, cipher=cipher)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def app(session_factory: sessionmaker[Session], database_url: str) -> Flask:
    from web import create_app

    return create_app(
        {
            "TESTING": True,
            "SESSION_FACTORY": session_factory,
            "DATABASE_URL": database_url,
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATA_KEY": TEST_DATA_KEY,
        }
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
