"""Benchmark: matching one need against a synthetic province of 50,000 projects.

Builds a migrated database (SQLite by default, or ``--database-url``) with the demo, one charity
per civil-affairs department (province, 21 cities, 122 counties), the generated projects and
their published editions, and 1,000 households with one need each (generator in
``seed/synthetic.py``). Then prints:

* the time to build the project index (once per set of editions);
* p50/p95 of one need through the service function ``match_need`` (warm cache);
* p50/p95 of one need through the HTTP API (``GET /api/v1/needs/<id>/matches``, Bearer token,
  a server on 127.0.0.1);
* in the same run, the keyword peers on the same candidates and text: ``bm25s`` and
  ``rank-bm25`` scoring the projects of the ledgers covering the household, beside ``rank()``
  alone on the same needs (the ranking, without the service function's reads and audit);
* many needs at once: the same needs through ``match_many`` against an index of the first
  ``--many-projects`` (30,000) projects, pinned to one core, beside ``rank`` called once per
  need on the same index (the baseline), in needs per second: three rounds and their
  medians;
* peak memory;
* one index per machine (``--workers``, default 4): the time to build and write the shared
  index, the time a fresh process takes to map it, and the memory of one worker and of four
  worker processes each matching needs, with the index mapped from the folder against each
  building its own in memory (the baseline), side by side; and a place taken, a quota cut
  and a project withdrawn, each seen by the next match without a rebuild.

RSS counts every page a process has resident, shared or not, so four processes mapping the
same files each count them in full; PSS (proportional set size) charges each shared page to
its sharers in equal parts, so the PSS of the four adds up to what the machine holds.

    .venv/bin/python bench/matcher_bench.py [--projects 50000] [--needs 1000]
        [--many-projects 30000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import shutil
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import psutil
import sqlalchemy as sa
from _common import add_province_projects, api_token, fresh_database, measure, percentiles, serve
from rank_bm25 import BM25Okapi
from tqdm import tqdm

from matcher import NeedRecord, ProjectRecord, build_index, match_many, rank
from matcher.evaluation import _tokens
from matcher.index import need_text, project_text
from matcher.index_store import MappedVectorizer, load_index
from models import Household, Member, Need, Project
from models.enums import ProjectStatus, Relation
from models.regions import supply_ledger_codes
from models.session import create_engine, make_session_factory
from seed.synthetic import province_needs
from tests.helpers import DEMO_PASSWORD, TEST_DATA_KEY, TEST_SECRET_KEY, get_user
from web.services.crypto import PersonalDataCipher
from web.services.ledgers import build_edition
from web.services.matching import (
    INDEX_DIR_INFO,
    active_model,
    clear_cache,
    match_need,
    need_record,
    project_index,
)

TODAY = dt.date(2026, 11, 23)


def report(label: str, samples: list[float]) -> tuple[float, float]:
    p50, p95 = percentiles(samples)
    print(f"{label:<52} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms   ({len(samples)} needs)", flush=True)
    return p50, p95


def populate(factory, projects: int, needs: int) -> list[int]:  # noqa: ANN001
    with factory() as db:
        departments = add_province_projects(db, projects, TODAY)
        now = dt.datetime.now(dt.UTC)
        admin = get_user(db, "admin")
        for code, _level in tqdm(departments, desc="editions", mininterval=5):
            build_edition(db, admin, code, "2026H2", now)
        station = get_user(db, "station_a").station_id
        counties = [c for c, level in departments if level == "county"]
        need_ids = []
        for row in province_needs(needs, counties):
            household = Household(
                station_id=station, region_code=row["region_code"], head_name="某某",
                categories=row["categories"], income_per_head_fen=row["income_per_head_fen"],
                consent_on=TODAY,
                members=[Member(name="某某", relation=Relation.HEAD,
                                birth_year=TODAY.year - row["age"])],
            )  # fmt: skip
            need = Need(
                household=household, domain=row["domain"], text=row["text"],
                urgency="urgent" if row["urgent"] else "normal",
                amount_gap_fen=row["amount_gap_fen"],
            )  # fmt: skip
            db.add_all([household, need])
            db.flush()
            need_ids.append(need.id)
        db.commit()
        return need_ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=50_000)
    parser.add_argument("--needs", type=int, default=1_000)
    parser.add_argument("--http-needs", type=int, default=300)
    parser.add_argument("--rank-bm25-needs", type=int, default=100)
    parser.add_argument("--many-projects", type=int, default=30_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-needs", type=int, default=200)
    parser.add_argument("--skip-peers", action="store_true", help="no keyword peers, no HTTP")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cishan-bench-"))
    print(f"projects: {args.projects}   needs: {args.needs}   "
          f"database: {args.database_url or 'SQLite (temporary file)'}", flush=True)  # fmt: skip
    factory = fresh_database(args.database_url, workdir, "matcher", data_key=TEST_DATA_KEY)
    need_ids = measure(
        "populate the province", lambda: populate(factory, args.projects, args.needs)
    )

    with factory() as db:
        index = measure("build the project index (once per editions)", lambda: project_index(db))
        print(f"{'projects in the current editions':<52} {len(index):8d}")
        admin = get_user(db, "admin")
        samples, candidates = [], []
        for need_id in need_ids:
            started = time.perf_counter()
            result = match_need(db, admin, need_id, limit=10, today=TODAY)
            samples.append(time.perf_counter() - started)
            candidates.append(result.ranking.candidates)
        model_p50, model_p95 = report("match_need() — service function", samples)
        print(f"{'eligible candidates per need (median)':<52} {int(np.median(candidates)):8d}")
    url = args.database_url or f"sqlite:///{workdir / 'matcher.db'}"
    shared = _shared_index(url, workdir, args, need_ids)
    if args.skip_peers:
        print(json.dumps({"service_p95_ms": round(model_p95, 2), **shared}))
        return

    with factory() as db:
        index = project_index(db)

        # Keyword peers, on the projects of the ledgers covering each household.
        records = [need_record(db.get_one(Need, i), TODAY) for i in need_ids]
        corpus = [_tokens(project_text(p)) for p in index.projects]
        retriever = measure("bm25s index (once)", lambda: _bm25s(corpus))
        okapi = measure("rank-bm25 index (once)", lambda: BM25Okapi(corpus))
        peers: dict[str, list[float]] = {"bm25s": [], "rank-bm25": [], "rank": []}
        for n, record in enumerate(records):
            # The ranking alone on the same need: the service function around it also reads
            # the need and its household and writes the audit record, which bm25s does not.
            started = time.perf_counter()
            rank(index, record, TODAY, limit=10)
            peers["rank"].append(time.perf_counter() - started)
            allowed = np.isin(index.ledger, supply_ledger_codes(record.household.region_code))
            query = _tokens(need_text(record))
            started = time.perf_counter()
            scores = retriever.get_scores(query, weight_mask=allowed.astype(np.float32))
            np.argpartition(-scores, 10)[:10]
            peers["bm25s"].append(time.perf_counter() - started)
            if n < args.rank_bm25_needs:
                started = time.perf_counter()
                scores = np.where(allowed, okapi.get_scores(query), -np.inf)
                np.argpartition(-scores, 10)[:10]
                peers["rank-bm25"].append(time.perf_counter() - started)
        _, ranking_p95 = report("rank() — the ranking alone, same needs", peers["rank"])
        bm25s_p50, bm25s_p95 = report("bm25s — keyword peer", peers["bm25s"])
        _, okapi_p95 = report("rank-bm25 — keyword peer", peers["rank-bm25"])
        print(f"{'ratio p95 rank() / bm25s':<52} {ranking_p95 / bm25s_p95:8.2f}")
        print(f"{'ratio p95 match_need() / bm25s':<52} {model_p95 / bm25s_p95:8.2f}")
        print(f"{'ratio p95 match_need() / rank-bm25':<52} {model_p95 / okapi_p95:8.3f}")
        loop_rate, many_rate = _many(index.projects[: args.many_projects], records)

    http_p95 = _http(url, args, need_ids)
    print(f"{'peak RSS of the process':<52} {psutil.Process().memory_info().rss / 2**20:8.1f} MiB")
    figures = {
        "service_p95_ms": round(model_p95, 2),
        "rank_p95_ms": round(ranking_p95, 2),
        "http_p95_ms": round(http_p95, 2),
        "bm25s_p95_ms": round(bm25s_p95, 2),
        "rank_bm25_p95_ms": round(okapi_p95, 2),
        "rank_loop_needs_per_s": round(loop_rate),
        "match_many_needs_per_s": round(many_rate),
        **shared,
    }
    print(json.dumps(figures))


#: Rounds of the one-core comparison: a round takes a second or two, and on this machine the
#: same round can take half as long again from one to the next.
MANY_ROUNDS = 3


def _many(projects: list[ProjectRecord], records: list[NeedRecord]) -> tuple[float, float]:
    """Needs per second on one core: ``rank`` once per need, then ``match_many`` on them all
    (same index, same results), in :data:`MANY_ROUNDS` rounds, each printed; returns the
    median rates."""
    index = measure(
        f"index of {len(projects)} projects for match_many", lambda: build_index(projects)
    )
    cores = os.sched_getaffinity(0)
    loops, manys = [], []
    os.sched_setaffinity(0, {min(cores)})
    try:
        for round_ in range(MANY_ROUNDS):
            started = time.perf_counter()
            alone = [rank(index, record, TODAY, limit=10) for record in records]
            loops.append(len(records) / (time.perf_counter() - started))
            started = time.perf_counter()
            together = match_many(index, records, TODAY, limit=10)
            manys.append(len(records) / (time.perf_counter() - started))
            assert [[m.project.id for m in r.items] for r in alone] == [
                [m.project.id for m in r.items] for r in together
            ]
            print(
                f"round {round_ + 1}: rank() once per need {loops[-1]:6.0f} needs/s, "
                f"match_many() {manys[-1]:6.0f} needs/s"
            )
    finally:
        os.sched_setaffinity(0, cores)
    rates = statistics.median(loops), statistics.median(manys)
    label = f"({len(records)} needs, median of {MANY_ROUNDS} rounds)"
    print(f"{'rank() once per need, one core':<52} {rates[0]:8.0f} needs/s   {label}")
    print(f"{'match_many(), one core':<52} {rates[1]:8.0f} needs/s   {label}")
    return rates


# --- one index per machine --------------------------------------------------------------------


def _sessions(url: str, folder: Path | None):  # noqa: ANN202
    """Sessions as a worker of the app has them: the index folder in their ``info`` (or none,
    and each process builds its own index, as before). SQLite runs one transaction at a time,
    and a worker building its index holds one throughout: the others wait their turn."""
    info = {} if folder is None else {INDEX_DIR_INFO: str(folder)}
    engine = create_engine(url, connect_args={"timeout": 600})
    return make_session_factory(engine, cipher=PersonalDataCipher(TEST_DATA_KEY), **info)


def _worker(url: str, folder: Path | None, need_ids: list[int], pipe) -> None:  # noqa: ANN001
    """One worker process: get the index (map it, or build it), rank needs on it, then report
    its memory once every worker is at the same point, so shared pages are shared by all.
    The needs are read first, so that the workers do not queue for SQLite while ranking."""
    process = psutil.Process()
    bare = process.memory_full_info()
    with _sessions(url, folder)() as db:
        started = time.perf_counter()
        index = project_index(db, TODAY)
        ready = time.perf_counter() - started
        records = [need_record(db.get_one(Need, i), TODAY) for i in need_ids]
        model = active_model(db)
        db.rollback()
    mapping = None
    if folder is not None:  # the mapping alone, without the queries or SQLite's queue
        started = time.perf_counter()
        load_index(folder / str(index.key))
        mapping = time.perf_counter() - started
    pipe.send("ready")
    pipe.recv()  # every worker has its index: rank side by side, as busy workers do
    samples = []
    for record in records:
        started = time.perf_counter()
        rank(index, record, TODAY, limit=10, model=model)
        samples.append(time.perf_counter() - started)
    mapped = isinstance(index.vectorizer, MappedVectorizer)
    pipe.send("ranked")
    pipe.recv()  # every worker has ranked: measure together
    memory = process.memory_full_info()
    p50, p95 = percentiles(samples)
    pipe.send(
        {
            "ready_s": ready,
            "map_s": mapping,
            "p50_ms": p50,
            "p95_ms": p95,
            "mapped": mapped,
            "rss": memory.rss,
            "pss": memory.pss,
            "uss": memory.uss,
            "bare_rss": bare.rss,
        }
    )
    pipe.recv()  # stay alive until the others have measured too


def _run_workers(url: str, folder: Path | None, count: int, need_ids: list[int]) -> list[dict]:
    context = multiprocessing.get_context("spawn")  # fresh interpreters, like separate workers
    pipes, processes = [], []
    for _ in range(count):
        ours, theirs = context.Pipe()
        process = context.Process(target=_worker, args=(url, folder, need_ids, theirs))
        process.start()
        pipes.append(ours)
        processes.append(process)
    for _step in ("rank", "measure"):
        for pipe in pipes:
            pipe.recv()
        for pipe in pipes:
            pipe.send(_step)
    figures = [pipe.recv() for pipe in pipes]
    for pipe in pipes:
        pipe.send("exit")
    for process in processes:
        process.join()
    return figures


def _print_workers(label: str, figures: list[dict]) -> dict[str, float]:
    mib = 2**20
    total_rss = sum(f["rss"] for f in figures) / mib
    total_pss = sum(f["pss"] for f in figures) / mib
    ready = max(f["ready_s"] for f in figures)
    p95 = max(f["p95_ms"] for f in figures)
    maps = [f["map_s"] for f in figures if f["map_s"] is not None]
    print(f"{label:<52} RSS {total_rss:8.1f} MiB   PSS {total_pss:8.1f} MiB   "
          f"index ready in {ready:6.2f} s (slowest)   rank p95 {p95:6.2f} ms (worst)"
          + (f"   mapping alone {max(maps):5.2f} s (slowest)" if maps else ""),
          flush=True)  # fmt: skip
    for n, f in enumerate(figures):
        print(f"    worker {n}: RSS {f['rss'] / mib:7.1f} MiB  PSS {f['pss'] / mib:7.1f} MiB  "
              f"USS {f['uss'] / mib:7.1f} MiB  (bare {f['bare_rss'] / mib:6.1f} MiB)  "
              f"ready {f['ready_s']:6.2f} s  p50 {f['p50_ms']:6.2f} ms  p95 {f['p95_ms']:6.2f} ms  "
              f"{'mapped' if f['mapped'] else 'built in memory'}")  # fmt: skip
    return {"rss_mib": round(total_rss, 1), "pss_mib": round(total_pss, 1),
            "ready_s": round(ready, 2), "p95_ms": round(p95, 2),
            "map_s": round(max(maps), 3) if maps else None}  # fmt: skip


def _shared_index(url: str, workdir: Path, args: argparse.Namespace, need_ids: list[int]) -> dict:
    """One index per machine against one per process, in the same run."""
    folder = workdir / "matcher-index"
    needs = need_ids[: args.worker_needs]
    print(f"-- one index per machine: {args.workers} worker processes, "
          f"{len(needs)} needs each", flush=True)  # fmt: skip
    clear_cache()
    with _sessions(url, folder)() as db:
        started = time.perf_counter()
        index = project_index(db, TODAY)
        built = time.perf_counter() - started
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
    print(f"{'build + write the shared index (once per version)':<52} {built:8.2f} s   "
          f"{size:.1f} MiB on disk", flush=True)  # fmt: skip
    del index
    with _sessions(url, folder)() as db:
        admin = get_user(db, "admin")
        samples = []
        for need_id in need_ids:
            started = time.perf_counter()
            match_need(db, admin, need_id, limit=10, today=TODAY)
            samples.append(time.perf_counter() - started)
        db.rollback()
    mapped_p50, mapped_p95 = report("match_need() — index mapped from the folder", samples)
    clear_cache()

    one_memory = _print_workers("baseline: 1 worker, index built in memory",
                                _run_workers(url, None, 1, needs))  # fmt: skip
    one_mapped = _print_workers("1 worker, index mapped", _run_workers(url, folder, 1, needs))
    many_memory = _print_workers(f"baseline: {args.workers} workers, each builds its own",
                                 _run_workers(url, None, args.workers, needs))  # fmt: skip
    many_mapped = _print_workers(f"{args.workers} workers, one index mapped by all",
                                 _run_workers(url, folder, args.workers, needs))  # fmt: skip
    print(f"{'ratio: PSS of the mapped workers / RSS of 1 baseline':<52} "
          f"{many_mapped['pss_mib'] / one_memory['rss_mib']:8.2f}")  # fmt: skip
    print(f"{'ratio: RSS of the mapped workers / RSS of 1 baseline':<52} "
          f"{many_mapped['rss_mib'] / one_memory['rss_mib']:8.2f}")  # fmt: skip
    quota = _quota_change(url, folder, need_ids)
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "build_write_s": round(built, 2),
        "service_mapped_p95_ms": round(mapped_p95, 2),
        "one_worker_memory": one_memory,
        "one_worker_mapped": one_mapped,
        "workers_memory": many_memory,
        "workers_mapped": many_mapped,
        **quota,
    }


def _quota_change(url: str, folder: Path, need_ids: list[int]) -> dict:
    """Change the standing of a need's first project three ways — every place taken (as
    approvals do), its quota cut to the places used (an edit), withdrawn — each then gone
    from the next match, with the same mapped index and nothing rebuilt."""
    clear_cache()
    with _sessions(url, folder)() as db:
        admin = get_user(db, "admin")
        for need_id in need_ids:
            items = match_need(db, admin, need_id, limit=10, today=TODAY).ranking.items
            if len(items) >= 3:
                break
        index = project_index(db, TODAY)
        versions = sorted(p.name for p in folder.iterdir() if p.is_dir())
        changes: dict[str, dict[str, Any]] = {
            "a place taken": {"quota_used": Project.quota, "updated_at": Project.updated_at,
                              "places_changed_at": dt.datetime.now(dt.UTC)},
            "quota cut to the places used": {"quota": Project.quota_used},
            "withdrawn": {"status": ProjectStatus.WITHDRAWN},
        }  # fmt: skip
        seen, rebuilt = True, False
        for change, values in changes.items():
            top = items[0].project.id
            db.execute(sa.update(Project).where(Project.id == top).values(**values))
            db.commit()
            started = time.perf_counter()
            items = match_need(db, admin, need_id, limit=10, today=TODAY).ranking.items
            took = (time.perf_counter() - started) * 1000
            same = project_index(db, TODAY) is index
            unchanged = sorted(p.name for p in folder.iterdir() if p.is_dir()) == versions
            gone = top not in [m.project.id for m in items]
            seen, rebuilt = seen and gone, rebuilt or not (same and unchanged)
            print(f"{change + ': next match without it':<52} {'yes' if gone else 'NO':>8}   "
                  f"{took:.2f} ms   same index: {same}   no new version: {unchanged}",
                  flush=True)  # fmt: skip
    return {"quota_seen": seen, "quota_no_rebuild": not rebuilt}


def _bm25s(corpus: list[list[str]]) -> bm25s.BM25:
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    return retriever


def _http(url: str, args: argparse.Namespace, need_ids: list[int]) -> float:
    from web import create_app

    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": TEST_SECRET_KEY, "DATA_KEY": TEST_DATA_KEY}
    )
    return _serve_and_time(app, args, need_ids)


def _serve_and_time(app, args: argparse.Namespace, need_ids: list[int]) -> float:  # noqa: ANN001
    base, server = serve(app)
    headers = api_token(base, "admin", DEMO_PASSWORD)
    samples = []
    for n, need_id in enumerate(need_ids[: args.http_needs + 1]):
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{base}/api/v1/needs/{need_id}/matches?limit=10", headers=headers
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback
            json.load(response)
        if n:  # the first request builds the index in this process
            samples.append(time.perf_counter() - started)
    server.shutdown()
    return report("GET /api/v1/needs/<id>/matches — HTTP API", samples)[1]


if __name__ == "__main__":
    main()
