"""Engines on one SQLite file: a second one made in a process, and another process beside
them, leave the first one's view of the database whole."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.session import create_engine

CHANGED = "x" * 60


def _read_and_close(url: str) -> None:
    """Another process (a worker, the scheduler): reads, then closes its last connection."""
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT count(*) FROM t")).scalar()
    engine.dispose()


def test_a_second_engine_on_the_file_leaves_the_first_ones_locks_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    first = create_engine(url)
    with first.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT)"))
        conn.execute(sa.text("CREATE INDEX ix_t_b ON t (b)"))
        conn.execute(sa.text("INSERT INTO t (b) VALUES (:b)"),
                     [{"b": f"{i:06d}" * 10} for i in range(20_000)])  # fmt: skip
    with first.connect() as conn:  # its pooled connection now holds the file open, idle
        conn.execute(sa.text("SELECT max(b) FROM t")).scalar()

    second = create_engine(url)  # as the app's read engine, a command or a benchmark makes one
    other = multiprocessing.get_context("spawn").Process(target=_read_and_close, args=(url,))
    other.start()
    other.join()
    assert other.exitcode == 0
    with second.begin() as conn:
        for row in range(5, 8):
            conn.execute(sa.text("UPDATE t SET b = :b WHERE id = :id"), {"b": CHANGED, "id": row})

    with first.connect() as conn:
        changed = conn.execute(sa.text("SELECT count(*) FROM t WHERE b = :b"), {"b": CHANGED})
        assert changed.scalar() == 3
        assert conn.execute(sa.text("PRAGMA quick_check")).scalar() == "ok"
    first.dispose()
    second.dispose()


def test_insert_new_writes_rows_with_their_ids_and_defaults_or_leaves_them_to_a_flush(
    db: Session,
) -> None:
    from models import Household, Member, Station
    from models.enums import HouseholdStatus, Relation, SelfCare
    from models.session import insert_new

    station = db.scalars(sa.select(Station).order_by(Station.id)).first()
    assert station is not None
    top = db.scalar(sa.select(sa.func.max(Household.id))) or 0
    top_member = db.scalar(sa.select(sa.func.max(Member.id))) or 0

    def household(n: int, **given: object) -> Household:
        return Household(id=top + n, station_id=station.id, region_code=station.region_code,
                         head_name=f"户主{n}", **given)  # fmt: skip

    def member(n: int, of: int, **given: object) -> Member:
        return Member(id=top_member + n, household_id=top + of, name=f"成员{n}",
                      relation=Relation.HEAD, **given)  # fmt: skip

    # One sets its income, the other leaves it (or sets None, which a flush leaves out) to
    # its default, 0: a NULL would not be that. So is JSON given by some only. A flush's work.
    for pair in (
        [household(1, income_per_head_fen=500), household(2)],
        [household(1, income_per_head_fen=500), household(2, income_per_head_fen=None)],
        [household(1, categories=["dibao"]), household(2)],
    ):
        assert not insert_new(db, pair)
    assert not insert_new(db, [Household(head_name="无编号")])  # no id given
    # All or nothing: the members cannot go this way, so neither do their households.
    assert not insert_new(db, [household(3)], [member(1, 3, self_care=SelfCare.DEPENDENT),
                                               member(2, 3)])  # fmt: skip
    assert db.scalar(sa.select(sa.func.count()).where(Household.id > top)) == 0

    assert insert_new(db, [household(3, address="一号"), household(4, address=None)],
                      [member(1, 3, birth_year=1950), member(2, 4)])  # fmt: skip
    rows = db.execute(
        sa.select(Household.id, Household.address, Household.status, Household.income_per_head_fen)
        .where(Household.id > top)
        .order_by(Household.id)
    ).all()
    assert [tuple(r) for r in rows] == [
        (top + 3, "一号", HouseholdStatus.ACTIVE, 0),
        (top + 4, None, HouseholdStatus.ACTIVE, 0),
    ]
    people = db.execute(
        sa.select(Member.household_id, Member.birth_year, Member.self_care)
        .where(Member.id > top_member)
        .order_by(Member.id)
    ).all()
    assert [tuple(p) for p in people] == [
        (top + 3, 1950, SelfCare.INDEPENDENT),
        (top + 4, None, SelfCare.INDEPENDENT),
    ]
