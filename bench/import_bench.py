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
import tempfile
from pathlib import Path

from _common import fresh_database, measure
from tqdm import tqdm

from models import Organization
from seed.synthetic import project_rows, projects_workbook
from tests.helpers import get_user
from web.services.excel import COLUMNS, _parse_cell, import_projects, read_rows
from web.services.projects import ProjectInput, create_project


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
        organization = db.get_one(Organization, charity.organization_id)

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
