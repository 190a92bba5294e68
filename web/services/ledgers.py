"""The three-level supply ledger: half-year editions per civil-affairs department.

An edition freezes the published fields of the department's verified projects; it never
changes afterwards. Each edition records how it differs from the department's previous one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from models import LedgerEdition, LedgerEntry, Organization, Project, Region, Station, User, clock
from models.clock import InvalidPeriod, local_date, period_bounds
from models.enums import (
    LEDGER_LEVELS,
    LedgerEditionState,
    LedgerEditionStatus,
    OrganizationKind,
    OrganizationStatus,
    ProjectStatus,
    RegionLevel,
    Role,
)
from models.regions import CODE_LENGTH, supply_ledger_codes

from .audit import write_audit
from .errors import Forbidden, NotFound, ValidationFailed
from .notifications import notify
from .rematch import queue_rematch
from .scoping import scoped

#: Published fields of a project, frozen into each edition.
SNAPSHOT_FIELDS = (
    "name", "description", "domains", "target_groups", "forms", "service_types", "min_age",
    "max_age", "household_categories", "max_income_per_head_fen", "max_disability_grade",
    "illness_kinds", "school_stages", "amount_per_beneficiary_fen", "budget_fen", "quota",
    "quota_used", "starts_on", "ends_on", "accepts_simplified", "response_days", "contact_name",
    "contact_phone", "sexes", "disability_types", "conditions", "child_statuses",
    "household_situations",
)  # fmt: skip

#: Fields that move every day with referrals; not a "change" of the ledger.
NOT_COMPARED = {"quota_used"}


def check_period(period: str) -> tuple[dt.date, dt.date]:
    """The first and last day of the half-year ``period`` names (``2026H2``).

    :raise ValidationFailed: not a half-year (on the field ``period``).
    """
    try:
        return period_bounds(period)
    except InvalidPeriod as error:
        raise ValidationFailed(fields={"period": [str(error)]}) from None


#: Levels with an edition: the three civil-affairs departments, and a township's own edition
#: of the local resources its stations registered (本地资源), kept by the county office.
EDITION_LEVELS = (*LEDGER_LEVELS, RegionLevel.TOWNSHIP)


def snapshot_of(project: Project, stations: dict[int, str] | None = None) -> dict[str, Any]:
    """The published fields of ``project``; ``stations`` names stations by id (for a local
    resource's responsible station)."""
    snapshot: dict[str, Any] = {}
    for name in SNAPSHOT_FIELDS:
        value = getattr(project, name)
        snapshot[name] = value.isoformat() if isinstance(value, dt.date) else value
    snapshot["service_area"] = project.service_area_codes
    organization = project.organization
    snapshot["organization_name"] = organization.name
    snapshot["organization_uscc"] = organization.uscc
    if organization.is_local:
        # Ledgers are read by everyone: a local giver's responsible person keeps their phone;
        # the station answerable for the resource is the contact.
        station_id = organization.responsible_station_id
        snapshot["contact_phone"] = None
        snapshot["is_local"] = True
        kind = organization.provider_kind
        snapshot["provider_kind"] = kind.value if kind else None
        snapshot["responsible_station_id"] = station_id
        snapshot["responsible_station_name"] = (stations or {}).get(station_id or 0)
    return snapshot


def county_of_township(code: str) -> str:
    """The county (or city without counties) whose office keeps a township's edition."""
    return code[:6].ljust(CODE_LENGTH, "0")


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The fields whose published value differs. A list rule missing from a snapshot taken
    before it existed reads as empty (no restriction), so it changed only if now set."""
    keys = (set(old) | set(new)) - NOT_COMPARED

    def value(snapshot: dict[str, Any], key: str) -> Any:
        return snapshot.get(key, [] if key in _LIST_RULES else None)

    return sorted(k for k in keys if value(old, k) != value(new, k))


#: The list rules of the second eligibility language, absent from older snapshots.
_LIST_RULES = {"sexes", "disability_types", "conditions", "child_statuses",
               "household_situations"}  # fmt: skip


def may_publish(actor: User | None, region_code: str, level: RegionLevel | None = None) -> bool:
    """The department itself; for a township's edition, the county office containing it."""
    if actor is None or actor.role == Role.ADMIN:
        return True
    if level == RegionLevel.TOWNSHIP:
        office = county_of_township(region_code)
        return actor.role == Role.CIVIL_AFFAIRS and actor.region_code == office
    return actor.role == Role.CIVIL_AFFAIRS and actor.region_code == region_code


@dataclass(frozen=True)
class BuildResult:
    edition: LedgerEdition
    stale: list[Project]


def latest_edition(db: Session, region_code: str) -> LedgerEdition | None:
    return db.scalar(
        sa.select(LedgerEdition)
        .where(LedgerEdition.region_code == region_code)
        .order_by(LedgerEdition.published_at.desc(), LedgerEdition.id.desc())
        .limit(1)
    )


def build_edition(
    db: Session, actor: User | None, region_code: str, period: str, now: dt.datetime
) -> BuildResult:
    """Publish a new edition of one department's ledger for ``period``.

    Includes the verified projects of charities registered with the department that run in
    the period and are not stale (:meth:`Project.is_stale`); stale ones are left out and returned,
    so their charities can be told. ``actor`` None is the scheduled job. A township's edition
    holds the verified local resources (本地资源) its stations registered, and is published
    by the county office containing it.

    The edition takes effect on the half-year's first day (Asia/Shanghai). Built ahead of it
    (2027H1 in December 2026), it waits: the department's current edition stays current, for
    matching and on every page, until that day begins, and the new one is compared with it.

    :raise ValidationFailed: bad period, or a region without a ledger (a village).
    :raise Forbidden: the actor is not that department (for a township, its county office).
    """
    starts, ends = check_period(period)
    today = local_date(now)
    region = db.get(Region, region_code)
    if region is None or region.level not in EDITION_LEVELS:
        raise ValidationFailed(
            fields={"region_code": ["只有省、市、县（区）民政部门和乡镇（街道）编制台账。"]}
        )
    if not may_publish(actor, region_code, region.level):
        raise Forbidden("只能编制本部门（或本县乡镇本地资源）的慈善帮扶资源台账。")
    kind = (
        OrganizationKind.LOCAL if region.level == RegionLevel.TOWNSHIP else OrganizationKind.CHARITY
    )
    candidates = list(
        db.scalars(
            sa.select(Project)
            .join(Organization)
            .where(
                Organization.registered_region_code == region_code,
                Organization.kind == kind,
                Organization.status == OrganizationStatus.VERIFIED,
                Project.status == ProjectStatus.VERIFIED,
                Project.starts_on <= ends,
                Project.ends_on >= starts,
            )
            .options(selectinload(Project.areas), selectinload(Project.organization))
            .order_by(Project.id)
        )
    )
    stale = [p for p in candidates if p.is_stale(now)]
    included = [p for p in candidates if p not in stale]

    latest = latest_edition(db, region_code)
    if latest is not None and latest.period > period:
        # An edition for an earlier half-year would replace the current one.
        raise ValidationFailed(
            fields={"period": [f"该部门已有 {latest.period} 的台账，不能再发布更早的期次。"]}
        )
    # Compared with what stations use today: for an edition built ahead of its half-year,
    # the changes they will see on its first day.
    previous = _in_effect(db, region_code, today)
    old = {e.project_id: e.snapshot for e in previous.entries} if previous else {}
    revision = (
        db.scalar(
            sa.select(sa.func.max(LedgerEdition.revision)).where(
                LedgerEdition.region_code == region_code, LedgerEdition.period == period
            )
        )
        or 0
    ) + 1
    edition = LedgerEdition(
        level=region.level,
        region_code=region_code,
        period=period,
        revision=revision,
        published_at=now,
        effective_from=starts,
        published_by_id=actor.id if actor else None,
        previous_id=previous.id if previous else None,
    )
    stations = (
        dict(db.execute(sa.select(Station.id, Station.name)).all())
        if region.level == RegionLevel.TOWNSHIP
        else {}
    )
    for project in included:
        snapshot = snapshot_of(project, stations)
        if project.id not in old:
            change, fields = "added", []
        else:
            fields = changed_fields(old[project.id], snapshot)
            change = "changed" if fields else "unchanged"
        edition.entries.append(
            LedgerEntry(
                project_id=project.id,
                organization_id=project.organization_id,
                name=project.name,
                snapshot=snapshot,
                change=change,
                changed_fields=fields,
            )
        )
    edition.project_count = len(included)
    edition.added_count = sum(1 for e in edition.entries if e.change == "added")
    edition.changed_count = sum(1 for e in edition.entries if e.change == "changed")
    edition.removed_count = len(set(old) - {p.id for p in included})
    _replace_editions(db, region_code, max(starts, today), today)
    db.add(edition)
    db.flush()
    write_audit(
        db, actor, "ledger.publish", edition, actor_name=None if actor else "system",
        region_code=region_code,
        detail={"period": period, "revision": revision, "projects": len(included),
                "stale": [p.id for p in stale]},
    )  # fmt: skip
    for project in stale:
        write_audit(
            db, actor, "project.stale_excluded", project, actor_name=None if actor else "system",
            region_code=project.organization.registered_region_code,
            detail={"edition_id": edition.id},
        )  # fmt: skip
    return BuildResult(edition, stale)


def _in_effect(db: Session, region_code: str, day: dt.date) -> LedgerEdition | None:
    return db.scalar(
        sa.select(LedgerEdition)
        .where(LedgerEdition.region_code == region_code, LedgerEdition.in_effect_on(day))
        .order_by(LedgerEdition.id.desc())
        .limit(1)
    )


def _replace_editions(db: Session, region_code: str, cut: dt.date, today: dt.date) -> None:
    """The department's editions give way on ``cut`` to the one being published: the current
    one stays current until then (an early edition waits for its half-year), and one waiting
    for the same half-year never takes effect. Those replaced for good by ``today`` are
    marked superseded."""
    for other in db.scalars(
        sa.select(LedgerEdition).where(
            LedgerEdition.region_code == region_code,
            sa.or_(LedgerEdition.superseded_on.is_(None), LedgerEdition.superseded_on > cut),
        )
    ):
        other.superseded_on = cut
        if other.state_on(today) == LedgerEditionState.SUPERSEDED:
            other.status = LedgerEditionStatus.SUPERSEDED


@dataclass(frozen=True)
class LedgerRefresh:
    """What a half-year's refresh did (the job run keeps these as its counts)."""

    period: str
    departments: int
    published: int
    skipped: int
    projects: int
    notified: int
    #: A re-match of every waiting need was queued as its own run (not when the editions
    #: wait for their half-year: the daily re-match takes them up on its first day).
    rematch_queued: bool = False


def refresh_ledgers(
    db: Session,
    period: str,
    now: dt.datetime,
    progress: Callable[[int, int], None] | None = None,
) -> LedgerRefresh:
    """Publish every department's edition for the half-year ``period``, as the scheduler
    does on 1 January and 1 July, then tell each station's staff, in one notification, which
    new editions cover it. Departments with an edition for this half-year or a later one are
    left as they are, so a second refresh of the same half-year publishes nothing. Run ahead
    of the half-year, the editions wait for its first day (:func:`build_edition`) and the
    stations are told when they take effect.

    Editions in effect at once are followed by a re-match of every waiting need, which tells
    the stations whose needs gained suitable projects. It is queued as a run of the
    ``rematch`` job (:func:`web.services.rematch.queue_rematch`) rather than done here: at a
    province's scale it takes ten times as long as the publication.

    ``progress(done, total)`` is called after each department.

    :raise ValidationFailed: ``period`` is not a half-year (before any work).
    """
    check_period(period)
    departments = list(
        db.scalars(
            sa.select(Region.code).where(Region.level.in_(LEDGER_LEVELS)).order_by(Region.code)
        )
    )
    # Townships keep an edition once a station has registered a local provider there.
    departments += township_departments(db)
    done = set(
        db.scalars(sa.select(LedgerEdition.region_code).where(LedgerEdition.period >= period))
    )
    built: dict[str, LedgerEdition] = {}
    projects = 0
    for i, code in enumerate(departments, 1):
        if code not in done:
            edition = build_edition(db, None, code, period, now).edition
            built[code] = edition
            projects += edition.project_count
        if progress is not None:
            progress(i, len(departments))
    notified = _announce_editions(db, period, built, local_date(now))
    queued = False
    if any(e.effective_from <= local_date(now) for e in built.values()):
        queued = queue_rematch(db, now, period)
    return LedgerRefresh(
        period=period,
        departments=len(departments),
        published=len(built),
        skipped=len(departments) - len(built),
        projects=projects,
        notified=notified,
        rematch_queued=queued,
    )


def township_departments(db: Session) -> list[str]:
    """The townships with a local provider (本地资源提供方), each keeping its own edition."""
    return list(
        db.scalars(
            sa.select(Organization.registered_region_code)
            .join(Region, Region.code == Organization.registered_region_code)
            .where(
                Organization.kind == OrganizationKind.LOCAL,
                Region.level == RegionLevel.TOWNSHIP,
            )
            .distinct()
            .order_by(Organization.registered_region_code)
        )
    )


def township_editions_to_publish(db: Session, actor: User) -> list[tuple[str, str]]:
    """The townships whose edition ``actor`` may publish (code, name): for a county office,
    the townships of its county with a local provider; for an administrator, all."""
    codes = township_departments(db)
    if actor.role != Role.ADMIN:
        codes = [c for c in codes if may_publish(actor, c, RegionLevel.TOWNSHIP)]
    names = dict(
        db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(codes))).all()
    )
    return [(code, names.get(code, code)) for code in codes]


def half_year_label(period: str) -> str:
    """``2027H1`` → 2027年上半年.

    :raise ValidationFailed: not a half-year.
    """
    check_period(period)
    return clock.half_year_name(period)


def upcoming_title(edition: LedgerEdition) -> str:
    """How an edition waiting for its half-year is named: 下期台账（2027年上半年，1月1日生效）."""
    day = edition.effective_from
    return f"下期台账（{half_year_label(edition.period)}，{day.month}月{day.day}日生效）"


def _announce_editions(
    db: Session, period: str, built: dict[str, LedgerEdition], today: dt.date
) -> int:
    """One notification to each active station user naming the new editions that cover the
    station's region, and when they take effect if not at once; the number sent."""
    if not built:
        return 0
    waiting = next(iter(built.values())).effective_from > today
    title = f"{clock.half_year_name(period)} 慈善帮扶资源台账已发布"
    if waiting:
        title += f"，为{upcoming_title(next(iter(built.values())))}，此前仍使用当前台账"
    names = dict(
        db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(built))).all()
    )
    notified = 0
    stations = db.execute(sa.select(Station.id, Station.region_code).where(Station.is_active))
    for station_id, region_code in stations:
        new = [built[c] for c in supply_ledger_codes(region_code) if c in built]
        if not new:
            continue
        listed = "；".join(
            f"{names.get(e.region_code, e.region_code)} {e.project_count} 个项目"
            f"（新增 {e.added_count}，变更 {e.changed_count}，移除 {e.removed_count}）"
            for e in new
        )
        users = db.scalars(sa.select(User.id).where(User.station_id == station_id, User.is_active))
        notified += notify(db, users, "ledger", f"{title}：{listed}",
                           link="/ledgers/current")  # fmt: skip
    return notified


def get_edition(db: Session, actor: User, edition_id: int) -> LedgerEdition:
    stmt = scoped(sa.select(LedgerEdition).where(LedgerEdition.id == edition_id), actor)
    edition = db.scalar(stmt.options(selectinload(LedgerEdition.entries)))
    if edition is None:
        raise NotFound("台账版本不存在。")
    return edition


def list_editions(db: Session, actor: User, region_code: str | None = None) -> list[LedgerEdition]:
    stmt = scoped(sa.select(LedgerEdition), actor)
    if region_code:
        stmt = stmt.where(LedgerEdition.region_code == region_code)
    return list(
        db.scalars(stmt.order_by(LedgerEdition.published_at.desc(), LedgerEdition.id.desc()))
    )


def current_editions(
    db: Session, region_code: str, today: dt.date | None = None
) -> list[LedgerEdition]:
    """The edition in effect on ``today`` (default: today in Guangdong) of every department
    covering ``region_code``: province, city and county, in that order, then the township's
    own edition of local resources. An edition published ahead of its half-year is not among
    them until its first day."""
    return _editions_covering(db, region_code, LedgerEdition.in_effect_on(today or clock.today()))


def upcoming_editions(
    db: Session, region_code: str, today: dt.date | None = None
) -> list[LedgerEdition]:
    """The editions covering ``region_code`` published ahead of their half-year and waiting
    for it on ``today`` (下期台账): of each department, the one to take effect next."""
    waiting = LedgerEdition.upcoming_on(today or clock.today())
    return _editions_covering(db, region_code, waiting, LedgerEdition.effective_from)


def _editions_covering(
    db: Session, region_code: str, when: sa.ColumnElement[bool], *first: Any
) -> list[LedgerEdition]:
    """Of each department covering ``region_code``, the edition matching ``when`` that comes
    first in the order ``first``, then newest."""
    codes = supply_ledger_codes(region_code)
    found = db.scalars(
        sa.select(LedgerEdition)
        .where(LedgerEdition.region_code.in_(codes), when)
        .options(selectinload(LedgerEdition.entries))
        .order_by(*first, LedgerEdition.id.desc())
    )
    latest: dict[str, LedgerEdition] = {}
    for edition in found:
        latest.setdefault(edition.region_code, edition)
    return [latest[code] for code in codes if code in latest]


@dataclass(frozen=True)
class EditionDiff:
    added: list[LedgerEntry]
    changed: list[LedgerEntry]
    removed: list[LedgerEntry]


def edition_diff(db: Session, edition: LedgerEdition) -> EditionDiff:
    """What the edition added, changed and removed against the one before it: the
    department's edition in effect when it was published (so an edition waiting for its
    half-year shows what will change on its first day)."""
    previous = db.get(LedgerEdition, edition.previous_id) if edition.previous_id else None
    kept = {e.project_id for e in edition.entries}
    removed = [e for e in previous.entries if e.project_id not in kept] if previous else []
    return EditionDiff(
        added=[e for e in edition.entries if e.change == "added"],
        changed=[e for e in edition.entries if e.change == "changed"],
        removed=removed,
    )
