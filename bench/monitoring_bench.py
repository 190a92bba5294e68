"""Benchmark: a monitoring batch against a province-sized ledger.

Builds a migrated database (PostgreSQL via ``--database-url``, or SQLite) with every region and
the demo, then bulk-inserts ``--households`` households (200,000) with a head each, spread over
the townships of Guangdong with a station per township, every head carrying a keyed hash of a
synthetic but valid 身份证号. A 医保 batch of ``--records`` records (200,000) follows: three in
four for people in the ledger, one in four for people who are not, amounts drawn so that a few
per cent pass the 20,000 元 line. Then it times, with peak memory:

- the delivery through ``deliver_batch`` (validation, matching by keyed hash, storing the
  records encrypted, and the warning rules on the batch's people);
- the same batch delivered again (recognised, nothing changes);
- the nightly run of every rule over everyone with records.

    .venv/bin/python bench/monitoring_bench.py --database-url postgresql+psycopg://... \\
        [--households 200000] [--records 200000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
from pathlib import Path

import sqlalchemy as sa
from _common import fresh_database, measure

from models import Household, Member, MonitoringRecord, MonitoringWarning, Region, Station, User
from models.enums import MonitoringSource, RegionLevel, Relation, Role, StationKind
from tests.helpers import TEST_DATA_KEY
from web.services.crypto import cipher_of
from web.services.id_numbers import id_check_digit
from web.services.monitoring import BatchResult, deliver_batch
from web.services.warnings import escalate_overdue, raise_warnings

TODAY = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def id_number(rng: random.Random, county: str, serial: int) -> str:
    born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 80))
    first17 = f"{county[:6]}{born:%Y%m%d}{serial % 1000:03d}"
    return first17 + id_check_digit(first17)


def populate(factory, households: int) -> list[tuple[str, str]]:  # noqa: ANN001
    """The ledger; returns (ID number, township code) of every head."""
    rng = random.Random(20261205)  # noqa: S311 - reproducible synthetic data
    with factory() as db:
        cipher = cipher_of(db)
        townships = list(
            db.scalars(sa.select(Region.code).where(Region.level == RegionLevel.TOWNSHIP))
        )
        station_rows = [
            {"name": f"{code}救助服务站", "kind": StationKind.TOWNSHIP, "region_code": code,
             "is_active": True, "created_at": NOW, "updated_at": NOW}
            for code in townships
        ]  # fmt: skip
        station_ids = db.scalars(
            sa.insert(Station).returning(Station.id, sort_by_parameter_order=True), station_rows
        ).all()
        heads: list[tuple[str, str]] = []
        rows, members = [], []
        for n in range(households):
            at = n % len(townships)
            code = townships[at]
            number = id_number(rng, code, n // len(townships))
            heads.append((number, code))
            rows.append({"id": n + 1_000_000, "station_id": station_ids[at], "region_code": code,
                         "head_name": "某", "categories": [], "situations": [],
                         "income_per_head_fen": rng.randint(300, 2000) * 100,
                         "consent_on": TODAY, "status": "active",
                         "created_at": NOW, "updated_at": NOW})  # fmt: skip
            members.append({"household_id": n + 1_000_000, "name": "某", "relation": Relation.HEAD,
                            "id_number_hash": cipher.lookup_hash(number),
                            "id_number_masked": number[:6] + "*" * 8 + number[-4:],
                            "birth_year": int(number[6:10])})  # fmt: skip
        for start in range(0, households, 20_000):
            db.execute(sa.insert(Household), rows[start : start + 20_000])
            db.execute(sa.insert(Member), members[start : start + 20_000])
        db.add(User(username="yibao_province", display_name="省医保局", password_hash="-",  # noqa: S106 - cannot sign in
                    role=Role.DATA_PROVIDER, region_code="440000000000",
                    feed_source=MonitoringSource.MEDICAL_INSURANCE))  # fmt: skip
        db.commit()
    return heads


def batch(heads: list[tuple[str, str]], records: int) -> list[dict[str, object]]:
    rng = random.Random(20261206)  # noqa: S311 - reproducible synthetic data
    out: list[dict[str, object]] = []
    for n in range(records):
        if n % 4 == 3:  # not in the ledger
            _, township = heads[rng.randrange(len(heads))]
            number = id_number(rng, township, 500 + n % 500)
        else:
            number, township = heads[rng.randrange(len(heads))]
        small, large = rng.randint(200, 6000), rng.randint(8000, 60000)
        amount = large if rng.random() < 0.05 else small
        out.append({
            "id_number": number, "name": "某某", "region_code": township,
            "event": "medical_expense",
            "occurred_on": (TODAY - dt.timedelta(days=rng.randint(1, 300))).isoformat(),
            "amount_yuan": float(amount), "detail": "住院个人自付",
        })  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cishan-bench-"))
    print(f"households: {args.households:,}   records: {args.records:,}   database: "
          f"{args.database_url or 'SQLite'}", flush=True)  # fmt: skip
    factory = fresh_database(args.database_url, workdir, "monitoring", data_key=TEST_DATA_KEY)
    heads = measure("populate the ledger", lambda: populate(factory, args.households))
    records = batch(heads, args.records)
    with factory() as db:
        if db.get_bind().dialect.name == "postgresql":
            db.execute(sa.text("ANALYZE"))
            db.commit()
        actor = db.scalars(sa.select(User).where(User.username == "yibao_province")).one()

        def deliver() -> BatchResult:
            result = deliver_batch(db, actor, MonitoringSource.MEDICAL_INSURANCE, TODAY,
                                   records, NOW)  # fmt: skip
            db.commit()
            return result

        first: BatchResult = measure(
            f"deliver {args.records:,} records (match, keep, rules)", deliver
        )
        print(
            f"  kept {first.record_count:,}, in the ledger {first.matched_count:,}, "
            f"warnings raised {first.warnings_raised:,}",
            flush=True,
        )
        again: BatchResult = measure("deliver the same batch again", deliver)
        print(f"  repeat recognised: {again.is_repeat}", flush=True)

        def nightly() -> int:
            raised = raise_warnings(db, TODAY, NOW) + escalate_overdue(db, TODAY, NOW)
            db.commit()
            return raised

        raised = measure("nightly run: every rule over everyone", nightly)
        print(f"  newly raised or escalated: {raised:,}", flush=True)
        kept = db.scalar(sa.select(sa.func.count()).select_from(MonitoringRecord))
        warnings = db.scalar(sa.select(sa.func.count()).select_from(MonitoringWarning))
        print(f"records kept: {kept:,}   warnings: {warnings:,}", flush=True)


if __name__ == "__main__":
    main()
