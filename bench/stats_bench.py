"""Benchmark: the dashboard's overview endpoint on a synthetic province.

Builds a migrated database (PostgreSQL via ``--database-url``, or SQLite) with the demo, one
charity per department and 50,000 projects (as ``matcher_bench.py``), then bulk-inserts
200,000 households (a member and a need each) spread over Guangdong's 122 counties and
100,000 referrals of those needs in every state, with timestamps over the past year. Then it
times ``GET /api/v1/stats/overview`` through HTTP for the province, a city and a county (the
province is the largest scan), and the same overview built by the service function.

    .venv/bin/python bench/stats_bench.py --database-url postgresql+psycopg://... \\
        [--households 200000] [--projects 50000] [--referrals 100000] [--requests 20] [--reuse]

With ``--reuse`` a PostgreSQL database that already holds the households is timed as it is
(loading 600,000 households takes over ten minutes); ``--breakdown`` also times each query
of the overview on its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa
from _common import (
    add_province_projects,
    api_token,
    bulk_insert,
    fresh_database,
    measure,
    next_ids,
    percentiles,
    serve,
)
from tqdm import tqdm

from models import (
    Household,
    Member,
    Need,
    Project,
    Referral,
    Region,
    Station,
    StatsSnapshot,
    User,
)
from models.enums import (
    RegionLevel,
    Role,
    StationKind,
)
from models.session import create_engine, make_session_factory
from seed.synthetic import guangdong
from tests.helpers import DEMO_PASSWORD, TEST_DATA_KEY, TEST_SECRET_KEY, get_user
from web.services import stats
from web.services.crypto import PersonalDataCipher
from web.services.stats import overview, stats_scope
from web.services.stats_snapshots import count_snapshots

TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)


def populate(factory, households: int, projects: int, referrals: int) -> None:  # noqa: ANN001
    """The synthetic Guangdong (``seed.synthetic.guangdong``): a station for each of the
    1,757 townships, ``households`` over the 26,842 villages, ``projects`` and
    ``referrals``, bulk-inserted."""
    with factory() as db:
        add_province_projects(db, projects, TODAY)
        townships = db.execute(
            sa.select(Region.code, Region.name).where(Region.level == RegionLevel.TOWNSHIP)
        ).all()
        ids = next_ids(db, Station, len(townships))
        db.execute(sa.insert(Station), [
            {"id": i, "name": f"{name}综合救助服务站", "kind": StationKind.TOWNSHIP,
             "region_code": code}
            for i, (code, name) in zip(ids, townships, strict=True)
        ])  # fmt: skip
        station_of = {code: i for i, (code, _name) in zip(ids, townships, strict=True)}
        villages = [
            (code, station_of[parent])
            for code, parent in db.execute(
                sa.select(Region.code, Region.parent_code).where(
                    Region.level == RegionLevel.VILLAGE
                )
            )
        ]
        project_ids = list(db.scalars(sa.select(Project.id)))
        tables = (("households", Household), ("members", Member), ("needs", Need),
                  ("referrals", Referral))  # fmt: skip
        with tqdm(total=households, desc="households", unit="household", mininterval=5) as bar:
            for rows in guangdong(villages, project_ids, households, referrals, NOW):
                for name, model in tables:
                    bulk_insert(db, model, rows[name])
                bar.update(len(rows["households"]))
        if db.get_bind().dialect.name == "postgresql":
            for _name, model in tables:
                sequence = sa.func.pg_get_serial_sequence(model.__tablename__, "id")
                db.execute(sa.select(sa.func.setval(sequence, sa.func.max(model.id))))
        db.commit()


def report(label: str, samples: list[float]) -> None:
    p50, p95 = percentiles(samples)
    print(f"{label:<56} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   ({len(samples)} requests)",
          flush=True)  # fmt: skip


REGIONS = (("440000000000", "province 广东省"), ("440100000000", "city 广州市"),
           ("440117000000", "county 从化区"))  # fmt: skip


def over_http(url: str, requests: int, kept: bool) -> None:
    """The overview of each of ``REGIONS`` through HTTP; ``kept``: after the scheduler's
    count of the province and cities (``stats_snapshots``), else with none kept (every
    visit counts)."""
    from web import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": TEST_SECRET_KEY,
                      "DATA_KEY": TEST_DATA_KEY})  # fmt: skip
    base, server = serve(app)
    headers = api_token(base, "ca_province", DEMO_PASSWORD)
    for code, label in REGIONS:
        samples = []
        for n in range(requests + 1):
            request = urllib.request.Request(  # noqa: S310 - loopback
                f"{base}/api/v1/stats/overview?region_code={code}",
                headers=headers,
            )
            started = time.perf_counter()
            with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback
                body = json.load(response)
            if n:  # the first warms the connection pool and caches
                samples.append(time.perf_counter() - started)
        how = "kept" if body["is_snapshot"] else "counted on the visit"
        report(f"GET /api/v1/stats/overview — {label}, {how}", samples)
        if code == REGIONS[0][0]:
            steps = {s["step"]: s["count"] for s in body["funnel"]["steps"]}
            counts = (body["waiting"]["open"], steps["submitted"], steps["completed"])
            print(f"{'  (province: open needs, submitted, completed)':<56} "
                  + " / ".join(f"{n:,}" for n in counts))  # fmt: skip
    server.shutdown()


def breakdown(db, scope) -> None:  # noqa: ANN001
    """Each query of the overview on its own, one after another (the second of two runs)."""
    now = NOW
    queries = {
        "open needs by child region and domain": lambda: stats._open_needs(db, scope, now),
        "referrals by child region and state": lambda: stats._referral_groups(db, scope),
        "places by domain": lambda: stats._places(db, scope),
        "coverage": lambda: stats.coverage(db, scope),
        "durations (medians)": lambda: stats.durations(db, scope),
        "charities": lambda: stats.charities(db, scope),
        "delivered by month": lambda: stats.delivered(db, scope),
        "groups reached": lambda: stats.groups_reached(db, scope),
        "child regions": lambda: stats._child_regions(db, scope),
        "discovery (warnings)": lambda: stats.discovery(db, scope),
    }
    for label, query in queries.items():
        samples = []
        for _ in range(2):
            started = time.perf_counter()
            query()
            samples.append(time.perf_counter() - started)
        print(f"  {label:<54} {samples[-1] * 1000:8.1f} ms", flush=True)


def station_worklist(factory, requests: int) -> None:  # noqa: ANN001
    """The worklist of the station with the most households, first page of 50, as its own
    staff sees it (a user made for the purpose), each in a fresh session."""
    from web.services.needs import worklist

    with factory() as db:
        largest = (
            sa.select(Household.station_id)
            .group_by(Household.station_id)
            .order_by(sa.func.count().desc())
            .limit(1)
            .scalar_subquery()
        )
        station = db.scalars(sa.select(Station).where(Station.id == largest)).one()
        user = db.scalar(sa.select(User).where(User.username == "bench_station"))
        if user is None:
            user = User(username="bench_station", display_name="服务站", password_hash="!",  # noqa: S106 - no sign-in
                        role=Role.STATION_STAFF, region_code=station.region_code,
                        station_id=station.id)  # fmt: skip
            db.add(user)
            db.commit()
        waiting = len(worklist(db, user, station.id, TODAY, limit=10**6).items)
        held = db.scalar(sa.select(sa.func.count()).where(Household.station_id == station.id))
    samples = []
    for n in range(requests + 1):
        with factory() as db:
            user = get_user(db, "bench_station")
            started = time.perf_counter()
            worklist(db, user, station.id, TODAY, limit=50)
            if n:
                samples.append(time.perf_counter() - started)
    report(f"worklist(), first page of 50 ({held:,} households, {waiting:,} waiting)", samples)


def reused(url: str | None, households: int):  # noqa: ANN201
    """The session factory of a database already loaded with ``households``, or None."""
    if not url:
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            held = conn.scalar(sa.select(sa.func.count()).select_from(Household))
    except sa.exc.DBAPIError:
        engine.dispose()
        return None
    if (held or 0) < households:
        engine.dispose()
        return None
    print(f"reusing the database: {held:,} households", flush=True)
    return make_session_factory(engine, cipher=PersonalDataCipher(TEST_DATA_KEY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--projects", type=int, default=50_000)
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database-url")
    parser.add_argument("--reuse", action="store_true", help="time a database already loaded")
    parser.add_argument("--breakdown", action="store_true", help="time each query as well")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cishan-bench-"))
    database = args.database_url or "SQLite"
    print(f"households: {args.households:,}   projects: {args.projects:,}   referrals: "
          f"{args.referrals:,}   database: {database}", flush=True)  # fmt: skip
    factory = reused(args.database_url, args.households) if args.reuse else None
    if factory is None:
        factory = fresh_database(args.database_url, workdir, "stats", TEST_DATA_KEY)
        counts = (args.households, args.projects, args.referrals)
        measure("populate the province", lambda: populate(factory, *counts))
    with factory() as db:
        if db.get_bind().dialect.name == "postgresql":
            db.execute(sa.text("ANALYZE"))
            db.commit()
        user = get_user(db, "ca_province")
        scope = stats_scope(db, user, "440000000000", TODAY)
        if args.breakdown:
            print("each query, province:")
            breakdown(db, scope)
        for label, pool in (("one query after another", None), ("side by side", factory)):
            samples = []
            for _ in range(5):
                started = time.perf_counter()
                overview(db, scope, side_by_side=pool)
                samples.append(time.perf_counter() - started)
            report(f"overview() — service, province, {label}", samples)
        assert db.scalar(sa.select(sa.func.count()).select_from(User))
    station_worklist(factory, args.requests)
    url = str(factory.kw["bind"].url.render_as_string(hide_password=False))
    with factory() as db:
        db.execute(sa.delete(StatsSnapshot))
        db.commit()
    over_http(url, args.requests, kept=False)
    with factory() as db:
        counted = measure(
            "count the province's and cities' overviews (scheduler)",
            lambda: count_snapshots(db, side_by_side=factory),
        )
        slowest = db.execute(
            sa.select(StatsSnapshot.region_code, StatsSnapshot.seconds)
            .order_by(StatsSnapshot.seconds.desc())
            .limit(3)
        ).all()
    print(f"  {counted} regions; slowest: "
          + ", ".join(f"{code} {seconds:.2f} s" for code, seconds in slowest))  # fmt: skip
    over_http(url, args.requests, kept=True)


if __name__ == "__main__":
    main()
