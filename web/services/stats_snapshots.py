"""The dashboard overview of the province and of each city, counted ahead of a visit.

At province scale the overview reads every household, need and referral in the region
(3.2 s at 600,000 households on PostgreSQL, see the README), too slow to count on every
visit. The scheduler's leader counts these regions every ``SNAPSHOT_EVERY``
(``jobs/scheduler.py``) and a visit reads the last count, with the time it was made; the
page says when. A count older than ``SNAPSHOT_FRESH`` or from another day (the overview
counts what is on offer *today*) is not used: the visit counts afresh, as for a county, a
township or a half-year, which are always counted on the visit.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from models import Region, StatsSnapshot
from models.base import utcnow
from models.clock import local_date
from models.enums import RegionLevel

from .audit import write_audit
from .stats import StatsScope, overview

#: The levels whose overview is counted ahead: those with too many rows to count on a visit.
SNAPSHOT_LEVELS = (RegionLevel.PROVINCE, RegionLevel.CITY)
#: How often the scheduler's leader counts them.
SNAPSHOT_EVERY = dt.timedelta(minutes=10)
#: A count older than this is not shown (the scheduler has stopped, say).
SNAPSHOT_FRESH = dt.timedelta(minutes=30)


def count_snapshots(
    db: Session,
    now: dt.datetime | None = None,
    *,
    side_by_side: sessionmaker[Session] | None = None,
) -> int:
    """Count the overview of every region at ``SNAPSHOT_LEVELS`` and keep it, each region
    committed as it is done; returns how many were counted."""
    regions = list(
        db.scalars(sa.select(Region).where(Region.level.in_(SNAPSHOT_LEVELS)).order_by(Region.code))
    )
    for region in regions:
        counted_at = now or utcnow()
        started = time.perf_counter()
        scope = StatsScope(region, local_date(counted_at))
        figures = overview(db, scope, counted_at, side_by_side=side_by_side)
        seconds = round(time.perf_counter() - started, 3)
        snapshot = db.get(StatsSnapshot, region.code)
        if snapshot is None:
            snapshot = StatsSnapshot(region_code=region.code)
            db.add(snapshot)
        snapshot.figures, snapshot.counted_at, snapshot.seconds = figures, counted_at, seconds
        db.commit()
    return len(regions)


def stored_overview(db: Session, scope: StatsScope, now: dt.datetime) -> dict[str, Any] | None:
    """The kept overview of ``scope``'s region, if it is kept (its level, no half-year) and
    still fresh at ``now``; with ``counted_at``."""
    if scope.period is not None or scope.region.level not in SNAPSHOT_LEVELS:
        return None
    snapshot = db.get(StatsSnapshot, scope.region.code)
    if snapshot is None:
        return None
    if snapshot.counted_at < now - SNAPSHOT_FRESH or local_date(snapshot.counted_at) != scope.today:
        return None
    return {**snapshot.figures, "counted_at": snapshot.counted_at, "is_snapshot": True}


def region_figures(
    db: Session,
    actor: Any,
    scope: StatsScope,
    side_by_side: sessionmaker[Session] | None = None,
    *,
    reads: Session | None = None,
) -> dict[str, Any]:
    """The overview a user asked for, with the read audited (dashboard page and API alike),
    and ``counted_at``: the province's and a city's as the scheduler last counted them, if
    fresh, any other counted now. The figures are read in ``reads`` (a replica's session)
    when given."""
    write_audit(db, actor, "stats.read", region_code=scope.region.code,
                detail={"period": scope.period})  # fmt: skip
    now = utcnow()
    stored = stored_overview(reads or db, scope, now)
    if stored is not None:
        return stored
    figures = overview(reads or db, scope, now, side_by_side=side_by_side)
    return {**figures, "counted_at": now, "is_snapshot": False}
