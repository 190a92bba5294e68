"""Benchmark: re-matching every waiting need of one county after a ledger refresh.

Builds a migrated database (SQLite by default, or ``--database-url``) with the demo, one
verified charity registered with 从化区 and ``--projects`` generated projects (service area the
county or one of its townships, many with eligibility rules; ``seed/synthetic.py``) in the
county's published edition, and ``--needs`` households with one open need each in the
county's villages, shared between its two demo stations. Then prints, through the service
``rematch_open_needs``:

* the baseline run (every need re-matched for the first time; the index is built in it);
* the run after a new edition adding 100 projects (the index is rebuilt in it), with how
  many needs gained and how many stations were told;
* the same again with nothing new (what the daily job mostly does);

each as needs per second, and the process's peak memory.

    .venv/bin/python bench/rematch_bench.py [--needs 5000] [--projects 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa
from _common import fresh_database, measure
from tqdm import tqdm

from models import Household, Member, Need, Organization, Project, ProjectArea, Region
from models.enums import OrganizationStatus, ProjectStatus, RegionLevel, Relation
from seed.synthetic import province_needs, province_projects
from tests.helpers import credit_code, get_user
from web.services.ledgers import build_edition
from web.services.matching import clear_cache
from web.services.rematch import RematchResult, rematch_open_needs

COUNTY = "440117000000"  # 从化区
TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
NEW_PROJECTS = 100


def add_county_projects(db: Any, count: int, seed: int) -> None:
    """``count`` verified projects of one charity registered with the county, bulk-inserted:
    about half serve the whole county, the others one of its townships."""
    organization = db.scalar(sa.select(Organization).where(Organization.name == "从化区测试慈善会"))
    if organization is None:
        organization = Organization(
            name="从化区测试慈善会", uscc=credit_code(9001), registered_region_code=COUNTY,
            registered_level=RegionLevel.COUNTY, status=OrganizationStatus.VERIFIED,
            verified_at=NOW,
        )  # fmt: skip
        db.add(organization)
        db.flush()
    townships = list(
        db.scalars(
            sa.select(Region.code).where(
                Region.level == RegionLevel.TOWNSHIP, Region.code.between(COUNTY, "440117999999")
            )
        )
    )
    # Every generated level is this county's own ledger.
    departments = [(COUNTY, "province"), (COUNTY, "city"), (COUNTY, "county")]
    rows = province_projects(count, departments, seed=seed, today=TODAY)
    values = [
        {
            "organization_id": organization.id, "name": r["name"],
            "description": r["description"], "domains": r["domains"],
            "target_groups": r["target_groups"], "forms": ["service"], "service_types": [],
            "household_categories": r.get("household_categories", []),
            "illness_kinds": [], "school_stages": [], "sexes": [], "disability_types": [],
            "conditions": [], "child_statuses": [], "household_situations": [],
            "min_age": r.get("min_age"), "max_age": r.get("max_age"),
            "max_income_per_head_fen": r.get("max_income_per_head_fen"),
            "amount_per_beneficiary_fen": r["amount_per_beneficiary_fen"],
            "quota": r["quota"], "quota_used": r["quota_used"], "starts_on": r["starts_on"],
            "ends_on": r["ends_on"], "accepts_simplified": r["accepts_simplified"],
            "status": ProjectStatus.VERIFIED, "verified_at": NOW, "confirmed_at": NOW,
            "created_at": NOW, "updated_at": NOW,
        }
        for r in rows
    ]  # fmt: skip
    ids = db.scalars(
        sa.insert(Project).returning(Project.id, sort_by_parameter_order=True), values
    ).all()
    db.execute(
        sa.insert(ProjectArea),
        [{"project_id": i, "region_code": COUNTY if n % 2 else townships[n % len(townships)]}
         for n, i in enumerate(ids)],
    )  # fmt: skip


def add_county_needs(db: Any, count: int) -> None:
    """``count`` households with one open need each in the county's villages, shared between
    its demo stations (温泉镇, 吕田镇莲麻村)."""
    villages = list(
        db.scalars(
            sa.select(Region.code).where(
                Region.level == RegionLevel.VILLAGE, Region.code.between(COUNTY, "440117999999")
            )
        )
    )
    stations = [get_user(db, name).station_id for name in ("station_a", "station_b")]
    for n, row in enumerate(tqdm(province_needs(count, villages), desc="needs", mininterval=5)):
        household = Household(
            station_id=stations[n % len(stations)], region_code=row["region_code"],
            head_name="某某", categories=row["categories"],
            income_per_head_fen=row["income_per_head_fen"], consent_on=TODAY,
            members=[Member(name="某某", relation=Relation.HEAD,
                            birth_year=TODAY.year - row["age"])],
        )  # fmt: skip
        db.add(household)
        db.add(
            Need(
                household=household, domain=row["domain"], text=row["text"],
                urgency="urgent" if row["urgent"] else "normal",
                amount_gap_fen=row["amount_gap_fen"],
            )
        )  # fmt: skip
        if n % 1000 == 999:
            db.flush()


def _line(label: str, result: RematchResult) -> None:
    print(
        f"{label:<52} {result.seconds:8.3f} s   {result.needs_per_second:8.0f} needs/s   "
        f"({result.needs} needs × {result.projects} projects; gained {result.gained_needs}, "
        f"stations told {result.stations_notified})",
        flush=True,
    )


def run_rematch_bench(url: str, needs: int, projects: int) -> dict[str, Any]:
    """Populate a fresh database at ``url`` (wiped), time a baseline re-match of the county's
    ``needs`` open needs against ``projects`` projects, then one after an edition adding
    ``NEW_PROJECTS``; returns the figures."""
    workdir = Path(tempfile.mkdtemp(prefix="cishan-bench-"))
    factory = fresh_database(url, workdir, "rematch")
    clear_cache()

    def populate() -> None:
        with factory() as db:
            add_county_projects(db, projects, seed=2026)
            add_county_needs(db, needs)
            build_edition(db, get_user(db, "admin"), COUNTY, "2026H2", NOW)
            db.commit()

    measure("populate the county", populate)
    with factory() as db:
        baseline = rematch_open_needs(db, None, region_code=COUNTY, today=TODAY, now=NOW)
        db.commit()
    _line("baseline re-match (index built in it)", baseline)

    later = NOW + dt.timedelta(hours=1)
    with factory() as db:
        add_county_projects(db, NEW_PROJECTS, seed=2027)
        build_edition(db, get_user(db, "admin"), COUNTY, "2026H2", later)
        db.commit()
    with factory() as db:
        after = rematch_open_needs(db, None, region_code=COUNTY, today=TODAY, now=later)
        db.commit()
    _line(f"after an edition adding {NEW_PROJECTS} projects (index rebuilt)", after)
    with factory() as db:
        again = rematch_open_needs(db, None, region_code=COUNTY, today=TODAY, now=later)
        db.commit()
    _line("again, nothing new (the daily job's usual run)", again)
    rss = psutil.Process().memory_info().rss / 2**20
    print(f"{'peak RSS of the process':<52} {rss:8.1f} MiB", flush=True)
    return {
        "needs": after.needs,
        "projects": after.projects,
        "baseline_seconds": round(baseline.seconds, 3),
        "baseline_needs_per_s": round(baseline.needs_per_second, 1),
        "after_edition_seconds": round(after.seconds, 3),
        "after_edition_needs_per_s": round(after.needs_per_second, 1),
        "again_seconds": round(again.seconds, 3),
        "again_needs_per_s": round(again.needs_per_second, 1),
        "gained_needs": after.gained_needs,
        "stations_notified": after.stations_notified,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--needs", type=int, default=5_000)
    parser.add_argument("--projects", type=int, default=2_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='cishan-bench-')}/rematch.db"
    print(f"needs: {args.needs}   projects: {args.projects}   "
          f"database: {args.database_url or 'SQLite (temporary file)'}", flush=True)  # fmt: skip
    print(json.dumps(run_rematch_bench(url, args.needs, args.projects)))


if __name__ == "__main__":
    main()
