"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from models import Base, LedgerEdition, migrate
from models.base import UTCDateTime
from tests.conftest import copy_demo, remove_local_resources, reset_database, side_database_url
from tests.helpers import TEST_DATA_KEY
from web.services.crypto import PersonalDataCipher

COUNTY = "440117000000"


def test_migrations_have_a_single_head() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(script.get_heads()) == 1


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "render_as_batch": conn.dialect.name == "sqlite"},
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_every_model_table_exists_after_upgrade(engine: Engine) -> None:
    tables = set(sa.inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    for expected in (
        "regions",
        "organizations",
        "projects",
        "ledger_editions",
        "ledger_entries",
        "stations",
        "households",
        "members",
        "gov_aid",
        "needs",
        "referrals",
        "referral_events",
        "users",
        "api_tokens",
        "audit_log",
        "job_runs",
        "model_versions",
    ):
        assert expected in tables


def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    migrate.upgrade(url)
    migrate.downgrade(url, rev="base")
    engine = sa.create_engine(url)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(url)
    assert "households" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_existing_editions_take_effect_on_their_half_years_first_day(
    database_url: str, tmp_path: Path
) -> None:
    url = side_database_url(database_url, tmp_path, "editions")
    reset_database(url)
    migrate.upgrade(url, rev="0006")
    engine = sa.create_engine(url)
    regions = sa.table("regions", sa.column("code"), sa.column("name"), sa.column("level"))
    old_editions = sa.table(
        "ledger_editions",
        *(sa.column(name) for name in ("id", "level", "region_code", "period", "revision",
                                       "status", "project_count", "added_count",
                                       "removed_count", "changed_count")),
        sa.column("published_at", UTCDateTime()),
    )  # fmt: skip
    utc = dt.UTC
    with engine.begin() as conn:
        conn.execute(regions.insert(), {"code": COUNTY, "name": "从化区", "level": "county"})
        for id_, period, revision, status, published in (
            (1, "2026H1", 1, "superseded", dt.datetime(2025, 12, 31, 16, 30, tzinfo=utc)),
            (2, "2026H2", 1, "superseded", dt.datetime(2026, 6, 30, 16, 30, tzinfo=utc)),
            # Rebuilt at 18:00 UTC on 20 July: the 21st in Guangdong.
            (3, "2026H2", 2, "published", dt.datetime(2026, 7, 20, 18, 0, tzinfo=utc)),
        ):
            conn.execute(
                old_editions.insert(),
                {"id": id_, "level": "county", "region_code": COUNTY, "period": period,
                 "revision": revision, "status": status, "published_at": published,
                 "project_count": 0, "added_count": 0, "removed_count": 0, "changed_count": 0},
            )  # fmt: skip
    migrate.upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(LedgerEdition.id, LedgerEdition.effective_from, LedgerEdition.superseded_on)
            .order_by(LedgerEdition.id)
        ).all()  # fmt: skip
        assert [tuple(r) for r in rows] == [
            (1, dt.date(2026, 1, 1), dt.date(2026, 7, 1)),  # until 2026H2 took effect
            (2, dt.date(2026, 7, 1), dt.date(2026, 7, 21)),  # until the rebuild came out
            (3, dt.date(2026, 7, 1), None),
        ]
        current = conn.scalars(
            sa.select(LedgerEdition.id).where(LedgerEdition.in_effect_on(dt.date(2026, 12, 4)))
        ).all()
        assert current == [3]  # the department's current edition is the one it was
    migrate.downgrade(url, rev="0006")
    with engine.connect() as conn:
        statuses = conn.scalars(sa.text("SELECT status FROM ledger_editions ORDER BY id")).all()
        assert statuses == ["superseded", "superseded", "published"]
    engine.dispose()


def test_birth_dates_move_into_the_encrypted_column_and_back(
    engine: Engine, database_url: str, tmp_path: Path, cipher: PersonalDataCipher
) -> None:
    url = side_database_url(database_url, tmp_path, "births")
    copy = copy_demo(engine, url)
    remove_local_resources(copy)
    with copy.connect() as conn:
        before = conn.execute(
            sa.text("SELECT id, birth_on_encrypted, id_number_encrypted FROM members ORDER BY id")
        ).all()
    born = {r.id: dt.date.fromisoformat(cipher.decrypt(r.birth_on_encrypted)) for r in before
            if r.birth_on_encrypted is not None}  # fmt: skip
    numbers = {r.id: cipher.decrypt(r.id_number_encrypted) for r in before
               if r.id_number_encrypted is not None}  # fmt: skip
    assert born and numbers

    migrate.downgrade(url, rev="0013", data_key=TEST_DATA_KEY)
    with copy.connect() as conn:
        old_members = sa.table("members", sa.column("id"), sa.column("birth_on", sa.Date),
                               sa.column("id_number_masked"))  # fmt: skip
        rows = conn.execute(sa.select(old_members)).all()
    assert {r.id: r.birth_on for r in rows if r.birth_on is not None} == born
    old_masks = {r.id: r.id_number_masked for r in rows if r.id_number_masked}
    assert old_masks == {k: n[:4] + "*" * 10 + n[-4:] for k, n in numbers.items()}

    migrate.upgrade(url, data_key=TEST_DATA_KEY)
    with copy.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, birth_on_encrypted, birth_year, id_number_masked FROM members")
        ).all()
    again = {r.id: dt.date.fromisoformat(cipher.decrypt(r.birth_on_encrypted)) for r in rows
             if r.birth_on_encrypted is not None}  # fmt: skip
    assert again == born
    years = {r.id: r.birth_year for r in rows if r.birth_year}
    assert years == {k: d.year for k, d in born.items()}
    assert {r.id: r.id_number_masked for r in rows if r.id_number_masked} == {
        k: n[:6] + "*" * 12 for k, n in numbers.items()
    }
    copy.dispose()


def test_existing_projects_keep_admitting_whom_they_admitted_after_the_second_language(
    database_url: str, tmp_path: Path
) -> None:
    url = side_database_url(database_url, tmp_path, "language2")
    reset_database(url)
    migrate.upgrade(url, rev="0013")
    engine = sa.create_engine(url)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    stamps = {"created_at": now, "updated_at": now}

    def table(name: str, *columns: str) -> sa.TableClause:
        return sa.table(name, *(sa.column(c) for c in columns),
                        *(sa.column(c, UTCDateTime()) for c in stamps))  # fmt: skip

    with engine.begin() as conn:
        conn.execute(
            sa.table("regions", sa.column("code"), sa.column("name"), sa.column("level")).insert(),
            {"code": COUNTY, "name": "从化区", "level": "county"},
        )
        conn.execute(
            table("organizations", "id", "name", "uscc", "registered_region_code",
                  "registered_level", "is_certified_charity", "has_public_fundraising",
                  "status").insert(),
            {"id": 1, "name": "从化区慈善会", "uscc": "51440117MJK9876543",
             "registered_region_code": COUNTY, "registered_level": "county",
             "is_certified_charity": True, "has_public_fundraising": False,
             "status": "verified", **stamps},
        )  # fmt: skip
        lists = ("domains", "target_groups", "forms", "service_types", "household_categories",
                 "illness_kinds", "school_stages")  # fmt: skip
        conn.execute(
            sa.table("projects", *(sa.column(c) for c in ("id", "organization_id", "name",
                     "description", "quota", "quota_used", "starts_on", "ends_on",
                     "accepts_simplified", "response_days", "status", "reserved_fen")),
                     *(sa.column(c, sa.JSON) for c in lists),
                     *(sa.column(c, UTCDateTime()) for c in stamps)).insert(),
            {"id": 1, "organization_id": 1, "name": "大病救助", "description": "",
             "quota": 10, "quota_used": 0, "starts_on": dt.date(2026, 1, 1),
             "ends_on": dt.date(2026, 12, 31), "accepts_simplified": False,
             "response_days": 7, "status": "verified", "reserved_fen": 0,
             **{c: [] for c in lists}, **stamps},
        )  # fmt: skip
    migrate.upgrade(url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT sexes, disability_types, conditions, child_statuses, "
                    "household_situations FROM projects")
        ).one()  # fmt: skip
        # Empty lists restrict nothing: the project admits exactly whom it admitted.
        assert [json.loads(v) if isinstance(v, str) else v for v in row] == [[]] * 5
    migrate.downgrade(url, rev="0013")
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT name FROM projects")) == "大病救助"
        columns = {c["name"] for c in sa.inspect(conn).get_columns("projects")}
        assert "sexes" not in columns
    engine.dispose()


def test_a_downgrade_past_local_resources_refuses_while_any_exist(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    url = side_database_url(database_url, tmp_path, "local")
    copy = copy_demo(engine, url)
    with pytest.raises(RuntimeError, match="2 local resource providers exist"):
        migrate.downgrade(url, rev="0020")
    with copy.connect() as conn:  # nothing was dropped
        names = conn.scalars(sa.text("SELECT name FROM projects ORDER BY name")).all()
    assert "温泉乡贤助学金" in names
    remove_local_resources(copy)
    migrate.downgrade(url, rev="0020")
    copy.dispose()
