"""Benchmark: the needs ledger of a large station.

1. Import a 10,000-row household ``.xlsx`` (one row per member) into one station, against a
   baseline that registers the same households one by one through ``create_household``.
2. List the worklist of a station holding 5,000 households (one open need each, half of them
   with government aid), against a baseline that loads the needs, households and aid records
   and works the flags and order out in Python.

    .venv/bin/python bench/households_bench.py [--rows 10000] [--households 5000]
        [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from _common import fresh_database, measure
from sqlalchemy.orm import selectinload
from tqdm import tqdm

from models import GovAid, Household, Need, Region
from models.enums import Domain, GovAidType, NeedStatus, Urgency
from seed.synthetic import household_rows, households_workbook, need_texts
from tests.helpers import get_user
from web.services.excel import _parse_cell, read_rows
from web.services.households import HouseholdInput, MemberInput, create_household
from web.services.households_excel import _MEMBER_FIELDS, MEMBER_COLUMNS, import_households
from web.services.needs import worklist

TODAY = dt.date(2026, 11, 23)


def villages(db, station) -> list[str]:  # noqa: ANN001
    return list(db.scalars(sa.select(Region.code).where(Region.parent_code == station.region_code)))


def parse_one_by_one(data: bytes) -> list[HouseholdInput]:
    """The baseline's reading of the file: one household input per 户编号."""
    groups: dict[str, list[dict]] = {}
    for _, raw in read_rows(io.BytesIO(data), MEMBER_COLUMNS):
        errors: list[str] = []
        values = {c.field: _parse_cell(c, raw.get(c.field), errors) for c in MEMBER_COLUMNS}
        groups.setdefault(values["household_key"], []).append(values)
    inputs = []
    for members in groups.values():
        head = next(m for m in members if m["relation"] == "head")
        inputs.append(
            HouseholdInput(
                region_code=head["region_code"],
                address=head["address"],
                phone=head["phone"],
                categories=head["categories"],
                income_per_head_fen=head["income_per_head_fen"] or 0,
                medical_expense_fen=head["medical_expense_fen"] or 0,
                education_expense_fen=head["education_expense_fen"] or 0,
                consent_on=head["consent_on"],
                members=[
                    MemberInput(**{f: m[f] for f in _MEMBER_FIELDS if m[f] is not None})
                    for m in members
                ],
            )
        )
    return inputs


def bench_import(url: str | None, workdir: Path, rows: int) -> None:
    factory = fresh_database(url, workdir, "import")
    with factory() as db:
        user = get_user(db, "station_a")
        codes = villages(db, user.station)
        # household_rows makes about 2.3 rows per household; trim to the exact row count.
        data_rows = household_rows(rows // 2 + 100, codes, seed=5)
        cut = rows
        while cut < len(data_rows) and data_rows[cut]["户编号"] == data_rows[cut - 1]["户编号"]:
            cut += 1
        data_rows = data_rows[:cut]
        data = measure(
            f"generate .xlsx ({len(data_rows)} rows)", lambda: households_workbook(data_rows)
        )

        def bulk() -> int:
            result = import_households(db, user, io.BytesIO(data))
            db.commit()
            return len(result.households)

        count = measure("import_households (validate all, then insert)", bulk)
        print(f"{'households imported':<48} {count:8d}")

    factory = fresh_database(url, workdir, "import_baseline")
    with factory() as db:
        user = get_user(db, "station_a")

        def one_by_one() -> int:
            inputs = parse_one_by_one(data)
            for household in tqdm(inputs, desc="baseline", unit="household", mininterval=5):
                create_household(db, user, household)
            db.commit()
            return len(inputs)

        measure("baseline: create_household per household", one_by_one)


def populate(db, user, households: int) -> None:  # noqa: ANN001
    codes = villages(db, user.station)
    rows = household_rows(households, codes, seed=9)
    result = import_households(db, user, io.BytesIO(households_workbook(rows)))
    rng = random.Random(3)
    texts = need_texts()
    created = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    for household in result.households:
        domain, text = rng.choice(texts)
        db.add(
            Need(
                household_id=household.id,
                domain=Domain(domain),
                text=text,
                urgency=Urgency.URGENT if rng.random() < 0.1 else Urgency.NORMAL,
                amount_gap_fen=rng.choice((None, 200_000, 1_000_000)),
                created_at=created + dt.timedelta(hours=rng.randint(0, 4000)),
            )
        )
        if rng.random() < 0.5:
            db.add(
                GovAid(
                    household_id=household.id,
                    aid_type=GovAidType.DIBAO_ALLOWANCE,
                    amount_fen=rng.choice((300_000, 900_000)),
                    period_start_on=dt.date(2026, 1, 1),
                    period_end_on=dt.date(2026, 12, 31),
                )
            )
    db.commit()


def naive_worklist(db, station_id: int) -> list:  # noqa: ANN001
    needs = db.scalars(
        sa.select(Need)
        .join(Household)
        .where(Household.station_id == station_id, Need.status == NeedStatus.OPEN)
        .options(selectinload(Need.household).selectinload(Household.gov_aid))
    ).all()
    since = TODAY - dt.timedelta(days=365)
    items = []
    for need in needs:
        aid = sum(
            a.amount_fen
            for a in need.household.gov_aid
            if a.period_start_on <= TODAY and (a.period_end_on is None or a.period_end_on >= since)
        )
        rigid = need.household.medical_expense_fen + need.household.education_expense_fen
        items.append(
            (need.urgency != Urgency.URGENT, need.created_at, need.id, aid == 0, 0 < aid < rigid)
        )
    items.sort()
    return items


def timings(label: str, work, runs: int) -> None:  # noqa: ANN001
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    samples.sort()
    p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
    print(
        f"{label:<52} p50 {statistics.median(samples) * 1000:8.1f} ms   "
        f"p95 {p95 * 1000:8.1f} ms   ({runs} runs)",
        flush=True,
    )


def bench_worklist(url: str | None, workdir: Path, households: int, runs: int) -> None:
    factory = fresh_database(url, workdir, "worklist")
    with factory() as db:
        user = get_user(db, "station_a")
        measure(
            f"populate: {households} households with needs", lambda: populate(db, user, households)
        )
        station_id = user.station_id
        assert station_id is not None
    with factory() as db:
        user = get_user(db, "station_a")
        result = worklist(db, user, station_id, TODAY, limit=10**6)
        print(f"{'open needs on the worklist':<48} {len(result.items):8d}")
        naive = naive_worklist(db, station_id)
        assert [i.need.id for i in result.items] == [row[2] for row in naive], "orders differ"
        assert [(i.outside_gov_aid, i.aid_below_expenses) for i in result.items] == [
            row[3:] for row in naive
        ], "flags differ"

    def fresh_session(work):  # noqa: ANN001, ANN202
        def run() -> None:
            with factory() as db:
                work(db)

        return run

    timings(
        "worklist(): first page of 50 (SQL)",
        fresh_session(lambda db: worklist(db, get_user(db, "station_a"), station_id, TODAY, 50)),
        runs,
    )
    timings(
        f"worklist(): all {households} rows (SQL)",
        fresh_session(lambda db: worklist(db, get_user(db, "station_a"), station_id, TODAY, 10**6)),
        runs,
    )
    timings(
        "baseline: load everything, flag and sort in Python",
        fresh_session(lambda db: naive_worklist(db, station_id)),
        runs,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--households", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url")
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cishan-bench-"))
    print(f"database: {args.database_url or 'SQLite (temporary file)'}")
    if not args.skip_import:
        bench_import(args.database_url, workdir, args.rows)
    bench_worklist(args.database_url, workdir, args.households, args.runs)


if __name__ == "__main__":
    main()
