"""Benchmark: the half-year ledger refresh over a synthetic province.

Builds a migrated database (SQLite by default, or ``--database-url``) with the demo and 50,000
generated projects spread over every civil-affairs department of Guangdong (province, 21
cities, 122 counties; generator in ``seed/synthetic.py``), then runs the ``ledger_refresh`` job
for the 2027H1 slot exactly as the scheduler would (claim, work, record), and prints its wall
time, peak memory and counts; then the same slot again, which must find the claim and do
nothing.

    .venv/bin/python bench/jobs_bench.py [--projects 50000] [--database-url URL]

``--province URL`` instead runs the refresh on a database ``stats_bench.py`` has loaded with
the synthetic Guangdong (its projects, households and needs), as of 00:30 on 1 January 2027,
so the editions take effect at once, as the scheduler's run on that night would; then the
re-match of every waiting need of the province that the refresh queued, run as the leader runs
queued runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path

from _common import add_province_projects, fresh_database, measure

from jobs.runs import run_slot
from models.clock import first_slot_on
from web.services.jobs import JOBS

TODAY = dt.date(2026, 11, 23)


def on_the_province(url: str) -> None:
    """The 2027H1 refresh with its re-match, on the synthetic Guangdong at ``url``."""
    import sqlalchemy as sa
    from cryptography.fernet import Fernet

    from jobs.runs import run_queued
    from jobs.tasks import JobContext, ledger_refresh
    from models import Household, Need, Project
    from models.enums import AWAITING_NEED_STATES
    from models.session import create_engine, make_session_factory
    from web.services.crypto import PersonalDataCipher

    factory = make_session_factory(
        create_engine(url), cipher=PersonalDataCipher(Fernet.generate_key())
    )
    slot = first_slot_on(JOBS["ledger_refresh"].trigger(), dt.date(2027, 1, 1))
    with factory() as db:
        sizes = [db.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Project, Household)]
        waiting = db.scalar(sa.select(sa.func.count()).where(Need.status.in_(AWAITING_NEED_STATES)))
        print(f"projects {sizes[0]:,}   households {sizes[1]:,}   waiting needs {waiting:,}")

        def refresh() -> dict:
            result = ledger_refresh(JobContext(db=db, slot=slot, now=slot))
            db.commit()
            return result

        counts = measure("ledger_refresh 2027H1 at 2027-01-01 00:30", refresh)
        print(f"{'counts':<52} {counts}")
    if counts.get("rematch_queued"):
        # The run the refresh queued, taken up as the scheduler's leader does at its next poll.
        (run,) = measure("the re-match it queued (run_queued)", lambda: run_queued(factory))
        print(f"{'counts':<52} {run.status.value} {run.counts or run.error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=50_000)
    parser.add_argument("--database-url")
    parser.add_argument("--province", metavar="URL", help="a database stats_bench.py loaded")
    args = parser.parse_args()
    if args.province:
        on_the_province(args.province)
        return
    workdir = Path(tempfile.mkdtemp(prefix="cishan-bench-"))
    print(f"projects: {args.projects}   "
          f"database: {args.database_url or 'SQLite (temporary file)'}", flush=True)  # fmt: skip
    factory = fresh_database(args.database_url, workdir, "jobs")

    def populate() -> int:
        with factory() as db:
            departments = add_province_projects(db, args.projects, TODAY)
            db.commit()
        return len(departments)

    departments = measure("populate the province", populate)
    slot = first_slot_on(JOBS["ledger_refresh"].trigger(), dt.date(2027, 1, 1))
    run = measure(
        f"ledger_refresh 2027H1 ({departments} departments)",
        lambda: run_slot(factory, "ledger_refresh", slot),
    )
    assert run is not None and run.error is None, run and run.error
    print(f"{'counts':<52} {run.counts}")
    again = measure("the same slot again (claimed: nothing to do)",
                    lambda: run_slot(factory, "ledger_refresh", slot))  # fmt: skip
    assert again is None


if __name__ == "__main__":
    main()
