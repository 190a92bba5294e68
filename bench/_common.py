"""Helpers shared by the benchmarks: a fresh demo database and a timed, memory-sampled run."""

from __future__ import annotations

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
from models.session import create_engine, make_session_factory  # noqa: E402
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


def fresh_database(url: str | None, workdir: Path, name: str) -> sessionmaker[Session]:
    """A migrated database holding the regions and the demo (SQLite file unless ``url``)."""
    url = url or f"sqlite:///{workdir / name}.db"
    if url.startswith("postgresql"):
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
