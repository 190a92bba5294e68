"""Benchmark: importing a 10,000-row ledger ``.xlsx``.

Generates the file, imports it into a freshly migrated database (SQLite by default, or
``--database-url``), and prints the time and the peak memory of each phase. As a baseline in
the same run it also registers the same projects one by one through ``create_project`` (a
flush per project), the way a naive import would.

    .venv/bin/python bench/import_bench.py [--rows 10000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from tqdm import tqdm  # noqa: E402

from models import Organization, migrate  # noqa: E402
from models.session import create_engine, make_session_factory  # noqa: E402
from seed.demo import load_all_regions, load_demo  # noqa: E402
from seed.synthetic import project_rows, projects_workbook  # noqa: E402
from tests.helpers import get_user  # noqa: E402
from web.services.crypto import PersonalDataCipher  # noqa: E402
from web.services.excel import COLUMNS, _parse_cell, import_projects, read_rows  # noqa: E402
from web.services.projects import ProjectInput, create_project  # noqa: E402


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
        f"{label:<44} {elapsed:8.2f} s   peak RSS {peak / 2**20:7.1f} MiB "
        f"(+{(peak - base) / 2**20:.1f} MiB)"
    )
    return result


def fresh_database(url: str | None, workdir: Path, name: str) -> Any:
    url = url or f"sqlite:///{workdir / name}.db"
    if url.startswith("postgresql"):
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    migrate.upgrade(url)
    engine = create_engine(url)
    factory = make_session_factory(engine, cipher=PersonalDataCipher(Fernet.generate_key()))
    with factory() as db:
        load_all_regions(db)
        load_demo(db)
        db.commit()
    return factory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cishan-bench-"))
    print(f"rows: {args.rows}   database: {args.database_url or 'SQLite (temporary file)'}")

    data = measure("generate .xlsx", lambda: projects_workbook(project_rows(args.rows)))
    print(f"{'file size':<44} {len(data) / 2**20:8.2f} MiB")

    factory = fresh_database(args.database_url, workdir, "bulk")
    with factory() as db:
        charity = get_user(db, "charity_f")

        def bulk() -> int:
            result = import_projects(db, charity, io.BytesIO(data))
            db.commit()
            return len(result.created)

        created = measure("import_projects (validate all, then insert)", bulk)
    assert created == args.rows, created

    factory = fresh_database(args.database_url, workdir, "baseline")
    with factory() as db:
        charity = get_user(db, "charity_f")
        organization = db.get(Organization, charity.organization_id)

        def one_by_one() -> int:
            count = 0
            for _, raw in tqdm(
                read_rows(io.BytesIO(data)), desc="baseline", unit="row", mininterval=2
            ):
                errors: list[str] = []
                values = {c.field: _parse_cell(c, raw.get(c.field), errors) for c in COLUMNS}
                values = {
                    k: v
                    for k, v in values.items()
                    if v is not None and k not in ("organization_uscc", "organization_name")
                }
                create_project(db, charity, organization, ProjectInput(**values))
                count += 1
            db.commit()
            return count

        measure("baseline: create_project per row", one_by_one)


if __name__ == "__main__":
    main()
