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
import random
import tempfile
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa
from _common import add_province_projects, api_token, fresh_database, measure, percentiles, serve

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
    DeclineReason,
    Domain,
    NeedStatus,
    ReferralStatus,
    RegionLevel,
    Relation,
    Role,
    SelfCare,
    StationKind,
)
from models.session import create_engine, make_session_factory
from tests.helpers import DEMO_PASSWORD, TEST_DATA_KEY, TEST_SECRET_KEY, get_user
from web.services import stats
from web.services.crypto import PersonalDataCipher
from web.services.stats import overview, stats_scope
from web.services.stats_snapshots import count_snapshots

TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
S = ReferralStatus
#: What becomes of a referral, and how often.
FATES = [(S.SUBMITTED, 8), (S.APPROVED, 10), (S.RETURNED, 4), (S.ACCEPTED, 10), (S.DECLINED, 12),
         (S.IN_SERVICE, 16), (S.COMPLETED, 30), (S.CANCELLED, 5), (S.EXPIRED, 5)]  # fmt: skip


def populate(factory, households: int, projects: int, referrals: int) -> None:  # noqa: ANN001
    rng = random.Random(20261123)  # noqa: S311 - reproducible synthetic data
    with factory() as db:
        add_province_projects(db, projects, TODAY)
        counties = list(
            db.scalars(sa.select(Region.code).where(Region.level == RegionLevel.COUNTY))
        )
        stations = {}
        for code in counties:
            station = Station(name=f"{code}救助服务站", kind=StationKind.TOWNSHIP, region_code=code)
            db.add(station)
            stations[code] = station
        db.flush()
        domains = [d.value for d in Domain]
        rows, members, needs = [], [], []
        for n in range(households):
            code = counties[n % len(counties)]
            rows.append({"id": n + 1_000_000, "station_id": stations[code].id, "region_code": code,
                         "head_name": "某", "categories": [], "consent_on": TODAY,
                         "status": "active", "created_at": NOW, "updated_at": NOW})  # fmt: skip
            age = rng.choice((8, 35, 52, 67, 78, 85))
            members.append({"household_id": n + 1_000_000, "name": "某", "relation": Relation.HEAD,
                            "birth_year": TODAY.year - age,
                            "self_care": SelfCare.DEPENDENT if age > 75 else SelfCare.INDEPENDENT,
                            "illness_kind": "serious" if n % 7 == 0 else None,
                            "disability_type": "physical" if n % 9 == 0 else None})  # fmt: skip
            needs.append({"id": n + 1_000_000, "household_id": n + 1_000_000,
                          "domain": rng.choice(domains), "text": "困难家庭帮扶需求",
                          "status": NeedStatus.OPEN, "urgency": "normal",
                          "created_at": NOW - dt.timedelta(days=rng.randint(0, 90)),
                          "updated_at": NOW})  # fmt: skip
        db.execute(sa.insert(Household), rows)
        db.execute(sa.insert(Member), members)
        db.execute(sa.insert(Need), needs)
        project_ids = list(db.scalars(sa.select(Project.id)))
        fates = [fate for fate, weight in FATES for _ in range(weight)]
        referral_rows = []
        for n in range(referrals):
            fate = rng.choice(fates)
            submitted = NOW - dt.timedelta(days=rng.randint(5, 360), hours=rng.randint(0, 23))
            approved = submitted + dt.timedelta(days=rng.randint(0, 6))
            answered = approved + dt.timedelta(days=rng.randint(0, 6))
            reached = {s for s, _w in FATES}
            row = {"need_id": n * 2 + 1_000_000, "project_id": rng.choice(project_ids),
                   "status": fate, "is_simplified": False, "version": 1, "submitted_at": submitted,
                   "created_at": submitted, "updated_at": NOW}  # fmt: skip
            if fate not in (S.SUBMITTED, S.RETURNED):
                row["approved_at"] = approved
            if fate in (S.ACCEPTED, S.DECLINED, S.IN_SERVICE, S.COMPLETED):
                row["answered_at"] = answered
            if fate == S.DECLINED:
                row["decline_reason"] = rng.choice(list(DeclineReason))
            if fate in (S.IN_SERVICE, S.COMPLETED):
                row["started_at"] = answered + dt.timedelta(days=1)
            if fate == S.COMPLETED:
                row["completed_at"] = answered + dt.timedelta(days=rng.randint(2, 40))
                row["delivered_amount_fen"] = rng.randint(50, 3000) * 100
            assert fate in reached
            referral_rows.append(row)
        db.execute(sa.insert(Referral), referral_rows)
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
    """A county station's worklist, first page of 50, as its own staff sees it (a user made
    for the purpose), each in a fresh session."""
    from web.services.needs import worklist

    with factory() as db:
        station = db.scalars(
            sa.select(Station).where(Station.region_code == "440117000000").limit(1)
        ).one()
        user = db.scalar(sa.select(User).where(User.username == "bench_station"))
        if user is None:
            user = User(username="bench_station", display_name="服务站", password_hash="!",  # noqa: S106 - no sign-in
                        role=Role.STATION_STAFF, region_code=station.region_code,
                        station_id=station.id)  # fmt: skip
            db.add(user)
            db.commit()
        waiting = len(worklist(db, user, station.id, TODAY, limit=10**6).items)
    samples = []
    for n in range(requests + 1):
        with factory() as db:
            user = get_user(db, "bench_station")
            started = time.perf_counter()
            worklist(db, user, station.id, TODAY, limit=50)
            if n:
                samples.append(time.perf_counter() - started)
    report(f"worklist(), first page of 50 ({waiting:,} waiting)", samples)


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
