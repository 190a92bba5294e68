"""What the jobs page and API show: each job, its next slot and its recent runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from jobs.registry import JOBS
from jobs.runs import last_runs, list_runs
from models import User, utcnow
from models.clock import next_slot
from models.enums import Role

from .scoping import require_role


def job_overview(
    db: Session,
    actor: User,
    overrides: dict[str, dict[str, str]],
    *,
    job_name: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    require_role(actor, Role.CIVIL_AFFAIRS)
    now = utcnow()
    last = last_runs(db)
    jobs = [
        {"name": job.name, "label": job.label, "schedule": job.schedule,
         "next_at": next_slot(job.trigger(overrides), now), "last_run": last.get(job.name)}
        for job in JOBS.values()
    ]  # fmt: skip
    return {"jobs": jobs, "runs": list_runs(db, actor, job_name=job_name, limit=limit)}
