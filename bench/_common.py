"""Helpers shared by the benchmarks: a fresh demo database and a timed, memory-sampled run."""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from models import migrate  # noqa: E402
from models.session import create_engine, make_session_factory
from models.session import next_ids as sequence_ids  # noqa: E402
from seed.demo import load_all_regions, load_demo  # noqa: E402
from web.services.crypto import PersonalDataCipher  # noqa: E402


def measure(label: str, work: Callable[[], Any]) -> Any:
    """Run ``work``, printing its wall time and the process's peak resident memory during it
    (sampled every 10 ms, so tracing costs nothing in the timed code)."""
    process = psutil.Process()
    base = process.memory_info().rss
    peak = base
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.01):
            peak = max(peak, process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    peak = max(peak, process.memory_info().rss)
    print(
        f"{label:<52} {elapsed:8.3f} s   peak RSS {peak / 2**20:7.1f} MiB "
        f"(+{(peak - base) / 2**20:.1f} MiB)",
        flush=True,
    )
    return result


def next_ids(db: Session, model: Any, count: int) -> list[int]:
    """``count`` ids for new rows of ``model``: from its sequence on PostgreSQL, after the
    largest id on SQLite (a benchmark's database has one writer)."""
    if db.get_bind().dialect.name == "postgresql":
        return sequence_ids(db, model.__tablename__, count)
    start = (db.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
    return list(range(start, start + count))


def bulk_insert(db: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` of ``model``'s table: with COPY on PostgreSQL (about ten times as fast
    as an executemany of millions of rows), columns missing from a row taking their Python
    default; elsewhere an executemany."""
    if not rows:
        return
    if db.get_bind().dialect.name != "postgresql":
        db.execute(sa.insert(model), rows)
        return
    table = model.__table__
    given = list(dict.fromkeys(key for row in rows for key in row))
    defaults = {
        column.name: column.default
        for column in table.columns
        if column.name not in given and column.default is not None
    }
    names = given + list(defaults)

    def value(raw: Any) -> Any:
        return json.dumps(raw, ensure_ascii=False) if isinstance(raw, (list, dict)) else raw

    def default(column_default: Any) -> Any:
        return column_default.arg if column_default.is_scalar else column_default.arg(None)

    driver = db.connection().connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    columns = ", ".join(names)
    with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
        fixed = [value(default(d)) for d in defaults.values()]
        for row in rows:
            copy.write_row([value(row.get(name)) for name in given] + fixed)


def add_province_projects(db: Session, count: int, today: Any) -> list[tuple[str, str]]:
    """One verified charity per civil-affairs department (province, 21 cities, 122 counties)
    and ``count`` generated projects spread over them (``seed/synthetic.py``), bulk-inserted;
    returns the departments as (code, level)."""
    import datetime as dt

    from stdnum.cn import uscc

    from models import Organization, Project, ProjectArea, Region
    from models.enums import OrganizationStatus, ProjectStatus, RegionLevel
    from seed.synthetic import province_projects

    levels = (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY)
    departments = [
        (code, level.value)
        for code, level in db.execute(
            sa.select(Region.code, Region.level).where(Region.level.in_(levels))
        )
    ]
    organizations = {}
    for n, (code, level) in enumerate(departments):
        body = f"5344{n:04d}MJ{n:07d}"[:17]
        organizations[code] = Organization(
            name=f"{code}慈善会", uscc=body + uscc.calc_check_digit(body),
            registered_region_code=code, registered_level=RegionLevel(level),
            status=OrganizationStatus.VERIFIED, verified_at=dt.datetime.now(dt.UTC),
        )  # fmt: skip
    db.add_all(organizations.values())
    db.flush()
    rows = province_projects(count, departments, today=today)
    now = dt.datetime.now(dt.UTC)
    values = [
        {
            "organization_id": organizations[r["department"]].id, "name": r["name"],
            "description": r["description"], "domains": r["domains"],
            "target_groups": r["target_groups"], "forms": ["service"], "service_types": [],
            "household_categories": r.get("household_categories", []),
            "illness_kinds": [], "school_stages": [], "sexes": [], "disability_types": [],
            "conditions": [], "child_statuses": [], "household_situations": [],
            "min_age": r.get("min_age"),
            "max_age": r.get("max_age"),
            "max_income_per_head_fen": r.get("max_income_per_head_fen"),
            "amount_per_beneficiary_fen": r["amount_per_beneficiary_fen"],
            "quota": r["quota"], "quota_used": r["quota_used"], "starts_on": r["starts_on"],
            "ends_on": r["ends_on"], "accepts_simplified": r["accepts_simplified"],
            "status": ProjectStatus.VERIFIED, "verified_at": now, "confirmed_at": now,
            "created_at": now, "updated_at": now,
        }
        for r in rows
    ]  # fmt: skip
    ids = next_ids(db, Project, len(values))
    # Ids given, the rows go in as one executemany: an INSERT … RETURNING of 100,000 rows
    # spliced its batches' results together for over half an hour.
    db.execute(sa.insert(Project), [{"id": i, **v} for i, v in zip(ids, values, strict=True)])
    db.execute(
        sa.insert(ProjectArea),
        [{"project_id": i, "region_code": r["department"]} for i, r in zip(ids, rows, strict=True)],
    )
    return departments


def fresh_database(
    url: str | None, workdir: Path, name: str, data_key: str | None = None
) -> sessionmaker[Session]:
    """A migrated database holding the regions and the demo (SQLite file unless ``url``),
    personal data encrypted with ``data_key`` (a new key unless given)."""
    url = url or f"sqlite:///{workdir / name}.db"
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    migrate.upgrade(url)
    engine = create_engine(url)
    cipher = PersonalDataCipher(data_key or Fernet.generate_key())
    factory = make_session_factory(engine, cipher=cipher)
    with factory() as db:
        load_all_regions(db)
        load_demo(db)
        db.commit()
    return factory


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 of durations in seconds, in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000


def serve(app: Any) -> tuple[str, Any]:
    """``app`` served on a free port of 127.0.0.1 in a thread: its base URL and the server."""
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def api_token(base: str, username: str, password: str) -> dict[str, str]:
    """Bearer headers for ``username``, from the API's own token endpoint."""
    import json
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/api/v1/auth/token", method="POST",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback
        return {"Authorization": f"Bearer {json.load(response)['token']}"}


class CoreSpeed:
    """How much of a run this machine's cores ran slowed by the host.

    A virtual machine's core can run at about half its speed for a second or more (the host
    gives the physical core to another guest as well): the same work then takes twice the CPU
    time, and nothing in the guest shows it as load, not even as steal. A thread times a fixed
    piece of work (about 5 ms of CPU at full speed, once every half second, so about 1% of one
    core) by its own CPU time, so waiting for a core does not count; a sample that took more
    than 1.5 times the fastest one seen was taken on a slowed core. Figures measured while it
    ran can then be read beside how much of their time the cores were slowed.
    """

    WORK = 200_000
    SLOW = 1.5

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self.samples: list[tuple[float, float]] = []  # (time.monotonic(), CPU seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> float:
        started, total = time.thread_time(), 0
        for i in range(self.WORK):
            total += i * i
        return time.thread_time() - started

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append((time.monotonic(), self._sample()))

    def start(self) -> CoreSpeed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join()

    def slowed(self, since: float) -> float:
        """The share of the samples since a ``time.monotonic()`` reading taken on a slowed
        core (0.0 when there are none)."""
        window = [cpu for at, cpu in self.samples if at >= since]
        if not window:
            return 0.0
        fastest = min(cpu for _, cpu in self.samples)
        return sum(cpu > self.SLOW * fastest for cpu in window) / len(window)
