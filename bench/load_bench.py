"""Benchmark: the app under load on PostgreSQL, and a PostgreSQL restart in the middle of it.

Builds the synthetic province of ``matcher_bench.py`` (the demo, one charity per department,
50,000 projects in published editions, 1,000 needs of households of 温泉镇's station), serves it
with gunicorn (``--workers`` processes × ``--threads`` threads, as a deployment would), warms
every worker's project index, then drives it with locust headless from this machine
(``locustfile.py``: match searches, household reads and lists, referrals started, submitted,
approved and cancelled). For each offered rate it prints requests/s, p50/p95/p99, errors and
how much of the run the host slowed this machine's cores (``_common.CoreSpeed``: at half speed
the same requests need twice the CPU); the highest rate with no errors and p95 under 300 ms is
the one to quote. Each run's locust figures by the second, and gunicorn's access log with the
time each request took in the worker, are kept in the working folder it names at the end.

``--restart`` then runs the load once more and restarts the PostgreSQL server part-way
through (``pg_ctlcluster … restart``, so it needs root on the database host): it prints how
every failed request failed (a clean 503 is expected, never a 500 or a hang), how long the
app answered 503, and that it served again without being restarted itself.

    .venv/bin/python bench/load_bench.py --database-url postgresql+psycopg://…/bench \\
        [--rates 10,20,40,60] [--seconds 40] [--workers 2] [--threads 2] [--restart]
        [--only matches] [--reuse]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _common import CoreSpeed, api_token, fresh_database, measure
from matcher_bench import populate
from sqlalchemy.orm import sessionmaker

from models import Household, Need
from tests.helpers import DEMO_PASSWORD, TEST_DATA_KEY, TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


#: gunicorn's access line with the time the worker spent on the request (%(D)s, microseconds)
#: and the worker process, so a slow run's log tells time spent serving from time spent queueing.
ACCESS_LOG_FORMAT = '%(t)s %(p)s "%(r)s" %(s)s %(D)s'


def start_gunicorn(url: str, port: int, args: argparse.Namespace, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": TEST_SECRET_KEY,
           "DATA_KEY": TEST_DATA_KEY, "CISHAN_ENV": "production"}  # fmt: skip
    command = [
        str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
        "--threads", str(args.threads), "--worker-class", "gthread", "--timeout", "60",
        "--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT, "web:create_app()",
    ]  # fmt: skip
    return subprocess.Popen(  # noqa: S603 - fixed argv
        command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def get(base: str, path: str, headers: dict[str, str], timeout: float = 30) -> int:
    request = urllib.request.Request(f"{base}{path}", headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_until_serving(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if get(base, "/api/v1/openapi.json", {}, timeout=2) == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not start; see its log")


def warm(base: str, headers: dict[str, str], need_ids: list[int], workers: int) -> None:
    """Enough concurrent match searches that every worker has built its project index."""
    threads = [
        threading.Thread(target=get, args=(base, f"/api/v1/needs/{need}/matches", headers, 120))
        for need in need_ids[: workers * 4]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


#: ``--only``'s choices: the locust user class each runs.
USER_CLASSES = {"mix": "StationWorker", "matches": "MatchSearcher"}

#: Users join over this many seconds, and the figures count from when the last has joined:
#: a hundred and fifty users started in one second put locust's own start-up on the two
#: cores the server uses, and the backlog of that second then stood in the figures of the
#: whole run. People arrive at a service over time, not at one instant.
RAMP_SECONDS = 5


def run_locust(
    base: str,
    fixture: Path,
    users: int,
    seconds: int,
    prefix: Path,
    only: str = "mix",
    speed: CoreSpeed | None = None,
) -> dict[str, Any]:
    env = {**os.environ, "LOAD_FIXTURE": str(fixture), "LOAD_USERS": str(users)}
    command = [
        str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), USER_CLASSES[only],
        "--headless",
        "--host", base, "--users", str(users), "--spawn-rate", str(users / RAMP_SECONDS),
        "--reset-stats", "--run-time", f"{seconds + RAMP_SECONDS}s",
        "--csv", str(prefix), "--only-summary",
        "--loglevel", "ERROR",
    ]  # fmt: skip
    counted_from = time.monotonic() + RAMP_SECONDS
    subprocess.run(command, env=env, check=True, capture_output=True)  # noqa: S603 - fixed argv
    slowed = speed.slowed(counted_from) if speed is not None else None
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        total = next(row for row in csv.DictReader(f) if row["Name"] == "Aggregated")
    with open(f"{prefix}_failures.csv", encoding="utf-8") as f:
        failures: Counter[str] = Counter()
        for row in csv.DictReader(f):
            failures[row["Error"]] += int(row["Occurrences"])
    return {
        "requests": int(total["Request Count"]),
        "errors": int(total["Failure Count"]),
        "rps": float(total["Requests/s"]),
        "p50": float(total["50%"]),
        "p95": float(total["95%"]),
        "p99": float(total["99%"]),
        "failures": failures,
        "slowed": slowed,
    }


def cancel_leftovers(base: str, station: dict[str, str]) -> int:
    """Cancel the referrals a run left open when it stopped mid-flow, through the API, so
    the next run does not find their needs already referred. A request still in flight when
    locust stopped may move a referral on between the listing and its cancel (409): it is
    listed and cancelled again in the next pass."""
    cancelled = conflicts = 0
    for _ in range(3):
        outcomes = [_cancel(base, station, row) for row in _open_referrals(base, station)]
        cancelled += sum(outcomes)
        conflicts = outcomes.count(False)
        if not conflicts:
            return cancelled
        time.sleep(1)
    print(f"    {conflicts} leftover referrals could not be cancelled: the next run may "
          "find their needs referred", flush=True)  # fmt: skip
    return cancelled


def _open_referrals(base: str, station: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for status in ("draft", "submitted", "approved", "returned"):
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{base}/api/v1/referrals?status={status}&limit=500", headers=station
        )
        with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback
            rows += json.load(response)
    return rows


def _cancel(base: str, station: dict[str, str], row: dict[str, Any]) -> bool:
    """Cancel one referral; False when it moved on since it was listed (409)."""
    cancel = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/api/v1/referrals/{row['id']}/cancel", method="POST",
        data=json.dumps({"version": row["version"], "reason": "测试结束"}).encode(),
        headers={**station, "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(cancel):  # noqa: S310 - loopback
            return True
    except urllib.error.HTTPError as error:
        if error.code != 409:
            raise
        return False


def print_row(label: str, figures: dict[str, Any]) -> None:
    print(
        f"{label:<22} {figures['rps']:8.1f} req/s  p50 {figures['p50']:6.0f} ms  "
        f"p95 {figures['p95']:6.0f} ms  p99 {figures['p99']:6.0f} ms  "
        f"requests {figures['requests']:6d}  errors {figures['errors']}"
        + (f"  cores slowed {figures['slowed']:4.0%}" if figures.get("slowed") is not None else ""),
        flush=True,
    )


def restart_postgres() -> float:
    """Restart the local PostgreSQL cluster; returns how long the restart command took."""
    version = next(iter(sorted(os.listdir("/etc/postgresql"))))
    started = time.monotonic()
    subprocess.run(  # noqa: S603 - fixed argv
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],  # noqa: S607
        check=True, capture_output=True,
    )  # fmt: skip
    return time.monotonic() - started


def probe(base: str, headers: dict[str, str], stop: threading.Event, seen: list) -> None:
    """A request every 100 ms, recording (time, status or the exception's name)."""
    while not stop.is_set():
        at = time.monotonic()
        try:
            outcome: Any = get(base, "/api/v1/households?per_page=1", headers, timeout=10)
        except OSError as error:
            outcome = type(error).__name__
        seen.append((at, outcome))
        stop.wait(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database to fill")
    parser.add_argument("--projects", type=int, default=50_000)
    parser.add_argument("--needs", type=int, default=1_000)
    parser.add_argument("--rates", default="10,20,40,60", help="offered requests/s, one run each")
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=2, help="per worker; see the README's gunicorn settings"
    )
    parser.add_argument("--restart", action="store_true", help="restart PostgreSQL mid-run")
    parser.add_argument(
        "--only",
        choices=sorted(USER_CLASSES),
        default="mix",
        help="the traffic: the mix of station work, or match searches alone",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="the database already holds the province of an earlier run",
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("the load benchmark runs on PostgreSQL")
    workdir = Path(tempfile.mkdtemp(prefix="cishan-load-"))
    print(f"working folder (locust's figures, gunicorn's log): {workdir}", flush=True)
    print(f"projects: {args.projects}   needs: {args.needs}   gunicorn: {args.workers} workers "
          f"× {args.threads} threads   database: {args.database_url}", flush=True)  # fmt: skip
    if args.reuse:
        engine = sa.create_engine(args.database_url)
        factory = sessionmaker(engine)
        with factory() as db:
            need_ids = list(db.scalars(
                sa.select(Need.id).join(Household).where(Household.head_name == "某某")
                .order_by(Need.id)
            ))  # fmt: skip
        print(f"reusing the province already in the database: {len(need_ids)} needs")
    else:
        factory = fresh_database(args.database_url, workdir, "load", data_key=TEST_DATA_KEY)
        need_ids = measure(
            "populate the province", lambda: populate(factory, args.projects, args.needs)
        )
    with factory() as db:
        household_ids = list(db.scalars(
            sa.select(Need.household_id).where(Need.id.in_(need_ids)).order_by(Need.id)
        ))  # fmt: skip

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_gunicorn(args.database_url, port, args, workdir / "gunicorn.log")
    speed = CoreSpeed()
    try:
        wait_until_serving(base)
        station = api_token(base, "station_a", DEMO_PASSWORD)
        office = api_token(base, "ca_province", DEMO_PASSWORD)
        fixture = workdir / "fixture.json"
        fixture.write_text(json.dumps({
            "need_ids": need_ids, "household_ids": household_ids,
            "tokens": {"station": station["Authorization"], "office": office["Authorization"]},
        }))  # fmt: skip
        measure("warm every worker's project index", lambda: warm(base, station, need_ids,
                                                                  args.workers))  # fmt: skip
        speed.start()
        results = {}
        for run, rate in enumerate(int(r) for r in args.rates.split(",")):
            cancel_leftovers(base, station)
            prefix = workdir / f"run{run + 1}-rate{rate}"
            figures = run_locust(base, fixture, rate, args.seconds, prefix,
                                 args.only, speed)  # fmt: skip
            results[rate] = figures
            print_row(f"offered {rate}/s", figures)
            for error, count in figures["failures"].most_common(5):
                print(f"    {count:6d} × {error}")
        good = [r for r, f in results.items() if f["errors"] == 0 and f["p95"] < 300]
        if good:
            best = results[max(good)]
            print(f"highest rate with no errors and p95 < 300 ms: {best['rps']:.1f} req/s "
                  f"(p95 {best['p95']:.0f} ms, p99 {best['p99']:.0f} ms)")  # fmt: skip
        if args.restart:
            cancel_leftovers(base, station)
            restart_run(base, fixture, station, args, workdir, min(good or [10]))
        print(f"gunicorn master pid {server.pid} served throughout; log: {workdir}")
    finally:
        speed.stop()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def restart_run(base: str, fixture: Path, station: dict[str, str], args: argparse.Namespace,
                workdir: Path, rate: int) -> None:  # fmt: skip
    seen: list[tuple[float, Any]] = []
    stop = threading.Event()
    watcher = threading.Thread(target=probe, args=(base, station, stop, seen))
    outcome: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: outcome.update(
        run_locust(base, fixture, rate, args.seconds, workdir / "restart")))  # fmt: skip
    watcher.start()
    runner.start()
    time.sleep(RAMP_SECONDS + args.seconds / 3)  # a third into the counted run
    restart_began = time.monotonic()
    took = restart_postgres()
    runner.join()
    stop.set()
    watcher.join()
    print_row(f"restart at {rate}/s", outcome)
    for error, count in outcome["failures"].most_common():
        print(f"    {count:6d} × {error}")
    after = [(at, s) for at, s in seen if at >= restart_began]
    bad = [(at, s) for at, s in after if s != 200]
    statuses = Counter(s for _at, s in after)
    print(f"pg_ctlcluster restart took {took:.1f} s; probe statuses from then on: "
          f"{dict(statuses)}")  # fmt: skip
    if bad:
        last_bad = max(at for at, _s in bad)
        back = min((at for at, s in after if s == 200 and at > last_bad), default=None)
        window = (back - restart_began) if back else float("nan")
        print(f"app answered non-200 for {last_bad - restart_began + 0.1:.1f} s; "
              f"first 200 again {window:.1f} s after the restart began")  # fmt: skip
    else:
        print("no probe request failed during the restart")
    after_all = get(base, "/api/v1/households?per_page=1", station)
    print(f"a request after the run, same gunicorn: {after_all}")


if __name__ == "__main__":
    main()
