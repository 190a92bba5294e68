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
  ``rank-bm25`` scoring the projects of the ledgers covering the household;
* many needs at once: the same needs through ``match_many`` against an index of the first
  ``--many-projects`` (30,000) projects, pinned to one core, beside ``rank`` called once per
  need on the same index (the baseline), in needs per second;
* peak memory.

    .venv/bin/python bench/matcher_bench.py [--projects 50000] [--needs 1000]
        [--many-projects 30000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
import urllib.request
from pathlib import Path

import bm25s
import numpy as np
import psutil
from _common import add_province_projects, api_token, fresh_database, measure, percentiles, serve
from rank_bm25 import BM25Okapi
from tqdm import tqdm

from matcher import NeedRecord, ProjectRecord, build_index, match_many, rank
from matcher.evaluation import _tokens
from matcher.index import need_text, project_text
from models import Household, Member, Need
from models.enums import Relation
from models.regions import supply_ledger_codes
from seed.synthetic import province_needs
from tests.helpers import DEMO_PASSWORD, TEST_DATA_KEY, TEST_SECRET_KEY, get_user
from web.services.ledgers import build_edition
from web.services.matching import match_need, need_record, project_index

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
    parser.add_argument("--database-url")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cishan-bench-"))
    print(f"projects: {args.projects}   needs: {args.needs}   "
          f"database: {args.database_url or 'SQLite (temporary file)'}", flush=True)  # fmt: skip
    factory = fresh_database(args.database_url, workdir, "matcher")
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

        # Keyword peers, on the projects of the ledgers covering each household.
        records = [need_record(db.get_one(Need, i), TODAY) for i in need_ids]
        corpus = [_tokens(project_text(p)) for p in index.projects]
        retriever = measure("bm25s index (once)", lambda: _bm25s(corpus))
        okapi = measure("rank-bm25 index (once)", lambda: BM25Okapi(corpus))
        peers: dict[str, list[float]] = {"bm25s": [], "rank-bm25": []}
        for n, record in enumerate(records):
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
        bm25s_p50, bm25s_p95 = report("bm25s — keyword peer", peers["bm25s"])
        rank_p50, rank_p95 = report("rank-bm25 — keyword peer", peers["rank-bm25"])
        print(f"{'ratio p95 model / bm25s':<52} {model_p95 / bm25s_p95:8.2f}")
        print(f"{'ratio p95 model / rank-bm25':<52} {model_p95 / rank_p95:8.3f}")
        loop_rate, many_rate = _many(index.projects[: args.many_projects], records)

    url = args.database_url or f"sqlite:///{workdir / 'matcher.db'}"
    http_p95 = _http(url, args, need_ids)
    print(f"{'peak RSS of the process':<52} {psutil.Process().memory_info().rss / 2**20:8.1f} MiB")
    figures = {
        "service_p95_ms": round(model_p95, 2),
        "http_p95_ms": round(http_p95, 2),
        "bm25s_p95_ms": round(bm25s_p95, 2),
        "rank_bm25_p95_ms": round(rank_p95, 2),
        "rank_loop_needs_per_s": round(loop_rate),
        "match_many_needs_per_s": round(many_rate),
    }
    print(json.dumps(figures))


def _many(projects: list[ProjectRecord], records: list[NeedRecord]) -> tuple[float, float]:
    """Needs per second on one core: ``rank`` once per need, then ``match_many`` on them all
    (same index, same results)."""
    index = measure(
        f"index of {len(projects)} projects for match_many", lambda: build_index(projects)
    )
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        started = time.perf_counter()
        alone = [rank(index, record, TODAY, limit=10) for record in records]
        loop = time.perf_counter() - started
        started = time.perf_counter()
        together = match_many(index, records, TODAY, limit=10)
        many = time.perf_counter() - started
    finally:
        os.sched_setaffinity(0, cores)
    assert [[m.project.id for m in r.items] for r in alone] == [
        [m.project.id for m in r.items] for r in together
    ]
    rates = len(records) / loop, len(records) / many
    print(
        f"{'rank() once per need, one core':<52} {rates[0]:8.0f} needs/s   ({len(records)} needs)"
    )
    print(f"{'match_many(), one core':<52} {rates[1]:8.0f} needs/s   ({len(records)} needs)")
    return rates


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
