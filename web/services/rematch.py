"""Re-matching every waiting need after the ledgers change (重新匹配).

A need is matched when it is recorded, but the ledgers move under it: an edition published
(or one built ahead taking effect at midnight) brings projects it never saw. After each such
change every open or 部分满足 need of the active households in the region is checked again
against the one project index of the ledgers in effect, by the hard rules alone (places left
and dates included): the projects it passes are its *suitable* ones. Those suitable now that
were not at the last re-match are *gained*; they stay on the need, marked on the station's
worklist, until its staff open the need's matches. Each station whose needs gained is told
once, with how many.

The work is done in chunks of needs loaded with their households, members and aid at once,
the rules of a place checked once per region and the person's rules once per need against
the shared index, and one bulk ``UPDATE`` per chunk: a county's 5,000 needs take seconds,
not minutes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from matcher import ProjectIndex
from matcher.rules import Place, passing
from matcher.vocabulary import DOMAINS
from models import Household, JobRun, LedgerEdition, Need, Region, Station, User, clock
from models.base import utcnow
from models.enums import AWAITING_NEED_STATES, HouseholdStatus, JobRunStatus, Role
from models.regions import descendant_range, is_within
from models.session import add_unless_taken

from .audit import write_audit
from .errors import Forbidden, NotFound
from .matching import need_record, project_index
from .notifications import notify


def _serves(index: ProjectIndex, domain: str) -> np.ndarray:
    """Per project: it lists ``domain`` among the kinds of help it gives."""
    if domain not in DOMAINS:
        return np.zeros(len(index), dtype=bool)
    return np.asarray(index.domains[:, DOMAINS.index(domain)], dtype=bool)


#: Needs loaded, checked and written per round trip.
CHUNK = 500
#: Places (the rules of one region on the day) kept at once while re-matching.
PLACES_KEPT = 8

#: The trigger of a re-match a ledger refresh queued (the jobs page says 台账更新后).
AFTER_REFRESH = "after_refresh"

#: Where the notification sends a station's staff: its worklist, showing only those needs.
WORKLIST_LINK = "/worklist?gained=1"


@dataclass(frozen=True)
class StationCounts:
    """One station's share of a re-match."""

    needs: int
    gained_needs: int


@dataclass(frozen=True)
class RematchResult:
    """What a re-match did (the job run and ``flask match --all`` show these).

    ``baseline`` counts needs re-matched for the first time: their suitable projects are
    recorded without telling anyone (they were matched when recorded)."""

    region_code: str | None
    needs: int
    baseline: int
    gained_needs: int
    gained_projects: int
    stations_notified: int
    users_notified: int
    projects: int
    seconds: float
    by_station: dict[int, StationCounts] = field(default_factory=dict)

    @property
    def needs_per_second(self) -> float:
        return self.needs / self.seconds if self.seconds > 0 else float(self.needs)

    def counts(self) -> dict[str, Any]:
        """The figures as plain data (a job run's counts, the command's JSON)."""
        return {
            "needs": self.needs,
            "baseline": self.baseline,
            "gained_needs": self.gained_needs,
            "gained_projects": self.gained_projects,
            "stations_notified": self.stations_notified,
            "notified": self.users_notified,
            "seconds": round(self.seconds, 3),
        }


def rematch_scope(db: Session, actor: User | None, region_code: str | None) -> str | None:
    """The region a re-match may cover: any (or everything, None) for the scheduler and an
    administrator; for civil-affairs staff their own region or one within it (default theirs).

    :raise Forbidden: another role, or a region outside the actor's.
    :raise NotFound: no such region.
    """
    if region_code is not None and db.get(Region, region_code) is None:
        raise NotFound("区划不存在。")
    if actor is None or actor.role == Role.ADMIN:
        return region_code
    if actor.role != Role.CIVIL_AFFAIRS:
        raise Forbidden("只有民政部门可以重新匹配辖区内的需求。")
    if region_code is None:
        return actor.region_code
    if not is_within(region_code, actor.region_code):
        raise Forbidden("只能重新匹配本辖区的需求。")
    return region_code


def rematch_open_needs(
    db: Session,
    actor: User | None,
    *,
    region_code: str | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RematchResult:
    """Match every waiting need (open or 部分满足) of the active households in
    ``region_code`` (and below it; None: everywhere) against the ledgers in effect on
    ``today`` (default: today in Guangdong), keep each need's suitable projects, add the
    newly suitable ones to its gained projects, and notify each station whose needs gained
    (one notification to each of its active staff, linking to its worklist's filter).

    A need never re-matched before records its suitable projects silently. A gained project
    no longer suitable (its places taken, its ledger replaced) leaves the mark. ``actor``
    None is the scheduler; ``progress(done, total)`` is called after each chunk of needs.
    Flushes, never commits.

    :raise Forbidden: not civil-affairs staff or an administrator, or a region outside the
        actor's.
    """
    started = time.perf_counter()
    region_code = rematch_scope(db, actor, region_code)
    now = now or utcnow()
    today = today or clock.local_date(now)
    index = project_index(db, today)
    ids = index.ids.astype(np.int64)
    # The rules of a place (ledgers, dates, places left, area) once per region. The needs come
    # region by region, so only the last few places are kept: one per village of the
    # province held 27 GB at 100,000 projects, and the re-match was killed.
    places: OrderedDict[str, Place] = OrderedDict()

    stmt = (
        sa.select(Need.id)
        .join(Household, Household.id == Need.household_id)
        .where(Household.status == HouseholdStatus.ACTIVE, Need.status.in_(AWAITING_NEED_STATES))
        .order_by(Household.region_code, Need.id)
    )
    if region_code is not None:
        low, high = descendant_range(region_code)
        stmt = stmt.where(Household.region_code.between(low, high))
    need_ids = list(db.scalars(stmt))

    table = cast(sa.Table, Need.__table__)
    write = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("need_id"))
        .values(
            suitable_project_ids=sa.bindparam("suitable"),
            rematched_at=sa.bindparam("at"),
            gained_project_ids=sa.bindparam("gained"),
            gained_at=sa.bindparam("gained_on"),
            # A re-match is not an edit of the need: its last change stays as the row holds it
            # (not as read with the chunk: an edit committed since would be undone).
            updated_at=table.c.updated_at,
        )
    )
    # Most needs find what they found last time: only when they were re-matched is written,
    # one statement for all of a chunk's.
    touch = (
        sa.update(table)
        .where(table.c.id.in_(sa.bindparam("ids", expanding=True)))
        .values(rematched_at=sa.bindparam("at"), updated_at=table.c.updated_at)
    )
    needs_of: dict[int, int] = defaultdict(int)
    gained_of: dict[int, int] = defaultdict(int)
    baseline = gained_needs = gained_projects = 0
    for start in range(0, len(need_ids), CHUNK):
        chunk = need_ids[start : start + CHUNK]
        loaded = db.scalars(
            sa.select(Need)
            .where(Need.id.in_(chunk))
            .options(
                selectinload(Need.household).selectinload(Household.members),
                selectinload(Need.household).selectinload(Household.gov_aid),
            )
        ).all()
        rows: list[dict[str, Any]] = []
        touched: list[int] = []
        for need in sorted(loaded, key=lambda n: (n.household.region_code, n.id)):
            record = need_record(need, today)
            code = record.household.region_code
            place = places.get(code)
            if place is None:
                place = places[code] = Place(index, code, today)
                if len(places) > PLACES_KEPT:
                    places.popitem(last=False)
            # Suitable: passes every hard rule and helps in the need's own domain (a project
            # open to all is not news to every need in its area).
            positions = passing(place, record)
            positions = positions[_serves(index, record.domain)[positions]]
            suitable = np.sort(ids[positions]).tolist()
            before = need.suitable_project_ids
            was_gained = list(need.gained_project_ids or [])
            station_id = need.household.station_id
            needs_of[station_id] += 1
            if before is None:
                baseline += 1
                gained, gained_on = was_gained, need.gained_at
            else:
                if suitable == before:  # the usual case: nothing moved
                    new: list[int] = []
                    gained = was_gained
                else:
                    seen = set(before)
                    new = [i for i in suitable if i not in seen]
                    # Gains not yet seen stay while still suitable.
                    now_suitable = set(suitable)
                    gained = sorted({i for i in was_gained if i in now_suitable}.union(new))
                gained_on = (now if new else need.gained_at) if gained else None
                if new:
                    gained_needs += 1
                    gained_projects += len(new)
                    gained_of[station_id] += 1
                if suitable == before and gained == was_gained and gained_on == need.gained_at:
                    touched.append(need.id)
                    continue
            rows.append(
                {"need_id": need.id, "suitable": suitable, "at": now, "gained": gained,
                 "gained_on": gained_on}
            )  # fmt: skip
        if rows:
            db.execute(write, rows)
        if touched:
            db.execute(touch, {"ids": touched, "at": now})
        for need in loaded:
            # The session's copies would otherwise keep what was there before the UPDATE.
            db.expire(need, ["suitable_project_ids", "rematched_at", "gained_project_ids",
                             "gained_at", "updated_at"])  # fmt: skip
        if progress is not None:
            progress(min(start + CHUNK, len(need_ids)), len(need_ids))
    if progress is not None and not need_ids:
        progress(0, 0)

    stations_notified = users_notified = 0
    if gained_of:
        active = db.execute(
            sa.select(Station.id, User.id)
            .join(User, User.station_id == Station.id)
            .where(Station.id.in_(gained_of), Station.is_active, User.is_active)
        ).all()
        staff: dict[int, list[int]] = defaultdict(list)
        for station_id, user_id in active:
            staff[station_id].append(user_id)
        for station_id in sorted(gained_of):
            if not staff.get(station_id):
                continue
            count = gained_of[station_id]
            sent = notify(
                db, staff[station_id], "rematch",
                f"台账更新后，有 {count} 项待办需求出现了新的合适项目，请在待办需求中查看。",
                link=WORKLIST_LINK,
            )  # fmt: skip
            stations_notified += 1
            users_notified += sent

    result = RematchResult(
        region_code=region_code,
        needs=len(need_ids),
        baseline=baseline,
        gained_needs=gained_needs,
        gained_projects=gained_projects,
        stations_notified=stations_notified,
        users_notified=users_notified,
        projects=index.live_count(),
        seconds=time.perf_counter() - started,
        by_station={
            s: StationCounts(needs=n, gained_needs=gained_of.get(s, 0))
            for s, n in sorted(needs_of.items())
        },
    )
    write_audit(
        db, actor, "needs.rematch", actor_name=None if actor else "system",
        region_code=region_code or (actor.region_code if actor else None),
        detail={k: v for k, v in result.counts().items() if k != "seconds"},
    )  # fmt: skip
    return result


def rematch_after_publication(
    db: Session, actor: User | None, edition: LedgerEdition, now: dt.datetime
) -> RematchResult | None:
    """Re-match the needs an edition covers (its department's region) once it is published,
    if it is in effect now; one built ahead of its half-year is left to the daily re-match
    on its first day (None)."""
    if edition.effective_from > clock.local_date(now):
        return None
    return rematch_open_needs(
        db, actor, region_code=edition.region_code, today=clock.local_date(now), now=now
    )


def queue_rematch(db: Session, now: dt.datetime, period: str) -> bool:
    """Queue the ``rematch`` job as its own run, for the scheduler's leader to take up once
    this transaction commits: a half-year refresh that publishes editions in effect at once
    asks for it. Re-matching a province's waiting needs takes minutes; as a run of its own it
    shows its own progress and counts on the jobs page, and a failure in it leaves the
    editions published. A re-match already waiting (one asked for by hand) is moved to
    ``now`` instead, as a run matches against the ledgers of its slot's day. False when
    another process queued one at the same moment. Flushes, never commits."""
    asked = {"scheduled_at": now, "started_at": now, "trigger": AFTER_REFRESH,
             "options": {"period": period}}  # fmt: skip
    moved = db.execute(
        sa.update(JobRun)
        .where(JobRun.job_name == "rematch", JobRun.status == JobRunStatus.QUEUED)
        .values(**asked)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
    return bool(moved) or add_unless_taken(
        db, JobRun(job_name="rematch", status=JobRunStatus.QUEUED, **asked)
    )
