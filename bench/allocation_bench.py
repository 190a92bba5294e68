"""Benchmark: an allocation plan for one county's open needs, beside first come first served.

Builds a migrated database (SQLite by default, or ``--database-url``) with the demo, one
verified charity registered with 从化区 and ``--projects`` generated projects in the county's
published edition, left with ``--places`` places between them (one or two each; one project
in ten with a budget that runs out before its places do), and ``--needs`` households with
one open need each in the county's villages. Then prints:

* each phase on its own (loading and scoring the candidates, the exact solve, first come
  first served on the same data);
* the whole plan as the office asks for it (``create_plan``: load, score, solve, compare and
  save), which is the figure the ≤ 10 s target is about;
* the plan's total weighted benefit against first come first served, urgent and
  priority-group needs served by each, and whether the budgets made it a MILP;

and then, in the same run, the re-match benchmark (``rematch_bench.py``) on the same sizes,
whose target is ≥ 1,000 needs per second.

    .venv/bin/python bench/allocation_bench.py [--needs 5000] [--projects 2000]
        [--places 3000] [--database-url URL] [--skip-rematch]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from _common import fresh_database, measure
from rematch_bench import (
    COUNTY,
    NOW,
    TODAY,
    add_county_needs,
    add_county_projects,
    run_rematch_bench,
)

from matcher.allocation import Weights, first_come_first_served, solve
from models import Organization, Project
from tests.helpers import get_user
from web.services.allocation import create_plan
from web.services.allocation_candidates import plan_candidates
from web.services.ledgers import build_edition
from web.services.matching import clear_cache

OFFICE = "ca_conghua"


def leave_places(db: Any, places: int, seed: int) -> None:
    """Leave the county's generated projects ``places`` places between them (one or two
    each), and give one in ten a budget that lasts for fewer households than its places."""
    rng = random.Random(seed)
    generated = db.execute(
        sa.select(Project.id, Project.quota, Project.amount_per_beneficiary_fen)
        .join(Organization)
        .where(Organization.name == "从化区测试慈善会")
        .order_by(Project.id)
    ).all()
    extra = max(places - len(generated), 0)
    two = set(rng.sample(range(len(generated)), min(extra, len(generated))))
    values = []
    for n, p in enumerate(generated):
        left = 2 if n in two else 1
        amount = p.amount_per_beneficiary_fen or 0
        budget = None
        if n % 10 == 0:  # enough for about half the places left
            budget = max(amount * left // 2, amount) if amount else rng.randint(2, 20) * 100_000
        values.append({"b_id": p.id, "used": max(p.quota - left, 0), "budget": budget})
    table = cast(sa.Table, Project.__table__)
    db.execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"))
        .values(quota_used=sa.bindparam("used"), budget_fen=sa.bindparam("budget"),
                reserved_fen=0),
        values,
    )  # fmt: skip


def run_allocation_bench(url: str, needs: int, projects: int, places: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="cishan-bench-"))
    factory = fresh_database(url, workdir, "allocation")
    clear_cache()

    def populate() -> None:
        with factory() as db:
            add_county_projects(db, projects, seed=2026)
            leave_places(db, places, seed=2026)
            add_county_needs(db, needs)
            build_edition(db, get_user(db, "admin"), COUNTY, "2026H2", NOW)
            db.commit()

    measure("populate the county", populate)
    with factory() as db:
        found = measure(
            "candidates: load and score every open need",
            lambda: plan_candidates(db, COUNTY, TODAY),
        )
        plan_needs, options, plan_projects = found
        print(f"{'':<52} {len(plan_needs)} needs, {len(options)} options, "
              f"{sum(p.places for p in plan_projects)} places in "
              f"{len(plan_projects)} projects", flush=True)  # fmt: skip
        exact = measure(
            "solve: exact plan", lambda: solve(plan_needs, options, plan_projects, Weights())
        )
        print(f"{'':<52} solved as {exact.method.upper()}", flush=True)
        measure(
            "first come first served on the same data",
            lambda: first_come_first_served(plan_needs, options, plan_projects, Weights()),
        )
        db.rollback()
    with factory() as db:
        office = get_user(db, OFFICE)
        started = time.perf_counter()
        plan = create_plan(db, office, COUNTY, None)
        db.commit()
        seconds = time.perf_counter() - started
        figures = plan.figures
        print(f"{'the whole plan (create_plan, saved)':<52} {seconds:8.3f} s", flush=True)
    urgent, grouped = figures["urgent"], figures["priority_group"]
    print(
        f"objective {plan.objective:.2f} vs first come first served {plan.fcfs_objective:.2f}"
        f" (+{(plan.objective / plan.fcfs_objective - 1) * 100:.1f} %)\n"
        f"lines {figures['lines']} vs {figures['fcfs_lines']}; "
        f"urgent served {urgent['plan']} vs {urgent['fcfs']} of {urgent['needs']}; "
        f"priority-group served {grouped['plan']} vs {grouped['fcfs']} of {grouped['needs']}",
        flush=True,
    )
    return {
        "needs": len(plan_needs),
        "options": len(options),
        "places": sum(p.places for p in plan_projects),
        "plan_seconds": round(seconds, 3),
        "method": exact.method,
        "objective": plan.objective,
        "fcfs_objective": plan.fcfs_objective,
        "lines": figures["lines"],
        "fcfs_lines": figures["fcfs_lines"],
        "urgent": urgent,
        "priority_group": grouped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--needs", type=int, default=5_000)
    parser.add_argument("--projects", type=int, default=2_000)
    parser.add_argument("--places", type=int, default=3_000)
    parser.add_argument("--database-url")
    parser.add_argument("--skip-rematch", action="store_true")
    args = parser.parse_args()

    def url(name: str) -> str:
        return (
            args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='cishan-bench-')}/{name}.db"
        )

    print(f"needs: {args.needs}   projects: {args.projects}   places: {args.places}   "
          f"database: {args.database_url or 'SQLite (temporary file)'}", flush=True)  # fmt: skip
    figures = {"allocation": run_allocation_bench(url("allocation"), args.needs,
                                                  args.projects, args.places)}  # fmt: skip
    if not args.skip_rematch:
        print("== re-match of every open need after a refresh ==", flush=True)
        figures["rematch"] = run_rematch_bench(url("rematch"), args.needs, args.projects)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
