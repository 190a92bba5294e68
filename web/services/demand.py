"""需求缺口: the unmet demand of the regions a charity serves, as counts that identify nobody.

Charities are asked to design projects for the real needs of their area, but may see no
household before a referral reaches them. This module gives them counts only: the awaiting
needs (待对接 and 部分满足) of active, consenting households in the regions they serve, by
domain, by the guidance's priority groups (derived from the members, as households derive
them), by township and by the size of the remaining gap, beside the places already offered
(places left in verified, running projects covering the township and domain; local resources
are projects too). No household id, name, village, need text or amount leaves this module;
townships are the finest area.

**What is published.** For the scope (see :func:`demand_scope`):

- the *domain table*: per domain, the number of awaiting needs (its total), the places, and
  two breakdowns of that total: by remaining-gap band (bands partition the needs, so they add
  up to the total) and by priority group (a household may be in several groups or none, so
  these do not add up to anything published);
- the *township table*: per township × domain, the needs (of all households, or of those in
  one priority group when the group filter is set) and the places. Its columns add up to the
  domain totals (or, with a group, to the domain table's group cells). Townships carry no
  published row total;
- a grand total, only where every domain total is published.

**Suppression.** Every count under 5 — zero included, so the table's shape says nothing
about where nobody waits — is shown as 少于5, never as a number (primary suppression).
Secondary suppression then protects each *line*: a set of published cells whose total is
published elsewhere (a township column or a band row set against its domain total, a
township column against the group cell it adds up to). In such a line the suppressed cells
must be none, or at least two that do not all hold zero; otherwise the smallest published
cell of the line is suppressed too, and the check repeats. With one hidden cell the total
would give it away; with hidden cells all zero, a hidden total of 0 would. Because townships
carry no row total and group counts add up to nothing, the lines are independent of one
another, so repairing one line never opens another, and filters only *select* rows and
columns of the tables computed for the whole scope: an area filter does not compute its own
figures (a subtotal for the area is shown only where every cell summed is published, adding
nothing that is not already on the page). The gap (needs minus places) is shown only where
the needs are; 据此设立项目 is offered where places are none or fewer than published needs,
never depending on a hidden count.

**Audit.** A look is recorded as ``demand.read``. These counts are not personal data, so the
record is not a disclosure log; it is kept, like ``stats.read``, because repeated looks over
time are the one way left to narrow a count (by differencing), and the office should be able
to see who looks how often.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from models import Household, Member, Need, Organization, Project, ProjectArea, Region, User
from models.enums import (
    AWAITING_NEED_STATES,
    PRIORITY_GROUPS,
    Domain,
    HouseholdStatus,
    ProjectStatus,
    RegionLevel,
    Role,
    TargetGroup,
)
from models.regions import descendant_range, guess_level, is_within, significant_prefix

from .audit import write_audit
from .errors import Forbidden, NotFound, ValidationFailed
from .scoping import may_act, require_role

#: A count under this is never shown (少于5).
MIN_SHOWN = 5

#: Most townships the township table lists at once; a larger area must be narrowed first.
MAX_TOWNSHIP_ROWS = 200

#: Remaining-gap bands (the need's gap less what was delivered): code and label.
BANDS: tuple[tuple[str, str], ...] = (
    ("no_amount", "无金额"),
    ("under_2k", "2千元以下"),
    ("2k_to_10k", "2千–1万元"),
    ("over_10k", "1万元以上"),
)
_BAND_LIMITS_FEN = (200_000, 1_000_000)

_TOWNSHIP_DIGITS = 9


# --- suppression ----------------------------------------------------------------------------


def suppress_line(values: Sequence[int], hidden: set[int], total_published: bool) -> set[int]:
    """The positions of ``values`` to hide, given those already hidden (``hidden``).

    Every value under :data:`MIN_SHOWN` is hidden. When the line's total is published, the
    hidden values must be none, or at least two not all zero: while they are not, the
    smallest shown value is hidden too.
    """
    hide = set(hidden) | {i for i, v in enumerate(values) if v < MIN_SHOWN}
    if not total_published:
        return hide
    while hide and (len(hide) == 1 or all(values[i] == 0 for i in hide)):
        shown = [i for i in range(len(values)) if i not in hide]
        if not shown:
            break
        hide.add(min(shown, key=lambda i: (values[i], i)))
    return hide


def shown(value: int, hidden: bool) -> int | None:
    """A count as published: None when suppressed."""
    return None if hidden or value < MIN_SHOWN else value


# --- scope ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemandScope:
    """The regions whose demand ``actor`` sees: a charity's served regions, an office's own."""

    regions: tuple[Region, ...]
    today: dt.date

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.regions]

    def ranges(self) -> list[tuple[str, str]]:
        """Code ranges of the households in scope (a village area widens to its township)."""
        return [descendant_range(_township_or_above(code)) for code in self.codes]

    def covers(self, code: str) -> bool:
        return any(is_within(code, _township_or_above(c)) for c in self.codes)


def _township_or_above(code: str) -> str:
    if guess_level(code) == RegionLevel.VILLAGE:
        return code[:_TOWNSHIP_DIGITS] + "000"
    return code


def _outermost(codes: Iterable[str]) -> list[str]:
    """The codes not lying within another of them."""
    unique = sorted(set(codes))
    return [c for c in unique if not any(o != c and is_within(c, o) for o in unique)]


def served_codes(db: Session, actor: User) -> list[str]:
    """The regions ``actor`` looks at: for charity staff, the organization's registered region
    and the service areas of its verified projects; for civil-affairs staff and
    administrators, their own region.

    :raise Forbidden: station staff, or any other role.
    """
    require_role(actor, Role.CHARITY_STAFF, Role.CIVIL_AFFAIRS)
    if not may_act(actor):
        raise Forbidden()
    if actor.role != Role.CHARITY_STAFF:
        return [actor.region_code]
    organization = db.get(Organization, actor.organization_id)
    if organization is None:
        raise Forbidden()
    areas = db.scalars(
        sa.select(ProjectArea.region_code)
        .join(Project, Project.id == ProjectArea.project_id)
        .where(
            Project.organization_id == organization.id,
            Project.status == ProjectStatus.VERIFIED,
        )
    )
    return _outermost([organization.registered_region_code, *areas])


def demand_scope(db: Session, actor: User, today: dt.date) -> DemandScope:
    """The scope of ``actor``'s demand view. :raise Forbidden: a role without one."""
    codes = [_township_or_above(c) for c in served_codes(db, actor)]
    regions = db.scalars(
        sa.select(Region).where(Region.code.in_(_outermost(codes))).order_by(Region.code)
    ).all()
    return DemandScope(tuple(regions), today)


def area_choices(db: Session, scope: DemandScope) -> list[dict[str, str]]:
    """The areas a user may narrow the view to: each served region and, below it, its cities,
    counties and (for a county) townships."""
    found: list[dict[str, str]] = []
    for region in scope.regions:
        found.append({"code": region.code, "name": region.name})
        level = region.level
        wanted = {
            RegionLevel.PROVINCE: (RegionLevel.CITY, RegionLevel.COUNTY),
            RegionLevel.CITY: (RegionLevel.COUNTY,),
            RegionLevel.COUNTY: (RegionLevel.TOWNSHIP,),
        }.get(level, ())
        if not wanted:
            continue
        low, high = descendant_range(region.code)
        below = db.scalars(
            sa.select(Region)
            .where(Region.code.between(low, high), Region.level.in_(wanted))
            .order_by(Region.code)
        )
        names = {region.code: region.name}
        for r in below:
            names[r.code] = r.name
            parent = names.get(r.parent_code or "")
            nested = parent and r.parent_code != region.code
            found.append({"code": r.code, "name": f"{parent} · {r.name}" if nested else r.name})
    return found


def check_area(db: Session, scope: DemandScope, area: str | None) -> Region | None:
    """The area to narrow to, if any.

    :raise ValidationFailed: a village or a malformed code (townships are the finest area).
    :raise NotFound: no such region.
    :raise Forbidden: outside the regions served.
    """
    if area is None:
        return None
    if not (len(area) == 12 and area.isdigit()) or guess_level(area) == RegionLevel.VILLAGE:
        raise ValidationFailed(fields={"area": ["请选择乡镇（街道）或以上的区划。"]})
    region = db.get(Region, area)
    if region is None:
        raise NotFound("没有这个区划。")
    if not scope.covers(area):
        raise Forbidden("只能查看所服务区域内的需求。")
    return region


# --- counting ------------------------------------------------------------------------------


def _member_conditions(today: dt.date) -> dict[TargetGroup, Any]:
    return {
        TargetGroup.DISABLED_ELDERLY: sa.and_(
            Member.birth_year <= today.year - 60, Member.self_care != "independent"
        ),
        TargetGroup.MINOR: Member.birth_year > today.year - 18,
        TargetGroup.DISABLED: Member.disability_type.is_not(None),
        TargetGroup.SERIOUS_ILLNESS: Member.illness_kind.in_(("serious", "rare")),
    }


def _band() -> Any:
    remaining = Need.amount_gap_fen - Need.delivered_fen
    low, high = _BAND_LIMITS_FEN
    return sa.case(
        (Need.amount_gap_fen.is_(None), BANDS[0][0]),
        (remaining < low, BANDS[1][0]),
        (remaining <= high, BANDS[2][0]),
        else_=BANDS[3][0],
    )


@dataclass
class _Counts:
    """Awaiting needs by (township code, domain, band), with priority-group subcounts."""

    needs: dict[tuple[str, str, str], int]
    groups: dict[tuple[str, str, str], int]  # (township, domain, group) -> needs


def _count_needs(db: Session, scope: DemandScope) -> _Counts:
    conditions = _member_conditions(scope.today)
    flags = (
        sa.select(
            Member.household_id.label("household_id"),
            *(
                sa.func.max(sa.case((conditions[g], 1), else_=0)).label(g.value)
                for g in PRIORITY_GROUPS
            ),
        )
        .group_by(Member.household_id)
        .subquery()
    )
    township = sa.func.substr(Household.region_code, 1, _TOWNSHIP_DIGITS).label("township")
    band = _band().label("band")
    in_scope = sa.or_(*(Household.region_code.between(lo, hi) for lo, hi in scope.ranges()))
    rows = db.execute(
        sa.select(
            township,
            Need.domain,
            band,
            sa.func.count(),
            *(sa.func.coalesce(sa.func.sum(flags.c[g.value]), 0) for g in PRIORITY_GROUPS),
        )
        .select_from(Need)
        .join(Household, Household.id == Need.household_id)
        .outerjoin(flags, flags.c.household_id == Household.id)
        .where(
            in_scope,
            Need.status.in_(AWAITING_NEED_STATES),
            Household.status == HouseholdStatus.ACTIVE,
            Household.consent_withdrawn_at.is_(None),
        )
        .group_by(township, Need.domain, band)
    ).all()
    counts = _Counts({}, {})
    for prefix, domain, band_code, n, *in_groups in rows:
        code = str(prefix).ljust(12, "0")
        key = (code, Domain(domain).value, str(band_code))
        counts.needs[key] = counts.needs.get(key, 0) + int(n)
        for group, k in zip(PRIORITY_GROUPS, in_groups, strict=True):
            gkey = (code, Domain(domain).value, group.value)
            counts.groups[gkey] = counts.groups.get(gkey, 0) + int(k)
    return counts


def _townships(db: Session, scope: DemandScope) -> list[tuple[str, str]]:
    found: dict[str, str] = {}
    for low, high in scope.ranges():
        for code, name in db.execute(
            sa.select(Region.code, Region.name).where(
                Region.level == RegionLevel.TOWNSHIP, Region.code.between(low, high)
            )
        ):
            found[code] = name
    return sorted(found.items())


@dataclass(frozen=True)
class _Offer:
    """Places left in projects with one service area, by domain (and target groups)."""

    areas: tuple[str, ...]
    domain: str
    groups: frozenset[str]
    places: int


def _offers(db: Session, today: dt.date) -> list[_Offer]:
    projects = db.scalars(
        sa.select(Project)
        .where(
            Project.status == ProjectStatus.VERIFIED,
            Project.starts_on <= today,
            Project.ends_on >= today,
            Project.quota_used < Project.quota,
        )
        .options(selectinload(Project.areas))
    )
    merged: dict[tuple[tuple[str, ...], str, frozenset[str]], int] = {}
    for p in projects:
        areas = tuple(sorted(a.region_code for a in p.areas))
        for d in set(p.domains):
            key = (areas, d, frozenset(p.target_groups))
            merged[key] = merged.get(key, 0) + p.quota_left
    return [_Offer(a, d, g, n) for (a, d, g), n in merged.items()]


def _touched(offer: _Offer, townships: list[str]) -> set[str]:
    """The townships (of the sorted ``townships``) an offer's service area reaches."""
    hit: set[str] = set()
    for area in offer.areas:
        if guess_level(area) == RegionLevel.VILLAGE:
            code = area[:_TOWNSHIP_DIGITS] + "000"
            i = bisect.bisect_left(townships, code)
            if i < len(townships) and townships[i] == code:
                hit.add(code)
            continue
        prefix = significant_prefix(area)
        low, high = prefix.ljust(12, "0"), prefix.ljust(12, "9")
        i = bisect.bisect_left(townships, low)
        while i < len(townships) and townships[i] <= high:
            hit.add(townships[i])
            i += 1
    return hit


def _serves(offer: _Offer, group: str | None) -> bool:
    return group is None or not offer.groups or group in offer.groups


# --- the view ------------------------------------------------------------------------------


def _label(code: str, labels: dict[str, str]) -> str:
    return labels.get(code, code)


def demand_view(
    db: Session,
    actor: User,
    today: dt.date,
    *,
    area: str | None = None,
    domain: str | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    """The demand ``actor`` may see, suppressed as the module describes; audited.

    ``area`` narrows the township table to a region served (township or above), ``domain``
    keeps one domain, ``group`` counts the township table's needs among households with that
    priority group.

    :raise Forbidden: a role without a demand view (stations), or an area not served.
    :raise ValidationFailed: an unknown domain or group, or a village as area.
    """
    scope = demand_scope(db, actor, today)
    problems: dict[str, list[str]] = {}
    if domain is not None and domain not in Domain.codes():
        problems["domain"] = ["没有这个帮扶领域。"]
    if group is not None and group not in [g.value for g in PRIORITY_GROUPS]:
        problems["group"] = ["应为失能老人、未成年人、残疾人或重病患者。"]
    if problems:
        raise ValidationFailed(fields=problems)
    chosen = check_area(db, scope, area)

    counts = _count_needs(db, scope)
    townships = _townships(db, scope)
    codes = [c for c, _n in townships]
    offers = [(o, _touched(o, codes)) for o in _offers(db, today)]
    offers = [(o, hit) for o, hit in offers if hit]
    domains = [d.value for d in Domain]
    band_codes = [b for b, _l in BANDS]

    # Whole-scope figures.
    n_td = {(t, d): 0 for t in codes for d in domains}
    m_bd = {(b, d): 0 for b in band_codes for d in domains}
    for (t, d, b), n in counts.needs.items():
        if (t, d) in n_td:
            n_td[(t, d)] += n
            m_bd[(b, d)] += n
    g_td = {(t, d): 0 for t in codes for d in domains}
    g_gd = {(g.value, d): 0 for g in PRIORITY_GROUPS for d in domains}
    for (t, d, g), n in counts.groups.items():
        if (t, d) in g_td:
            g_gd[(g, d)] += n
            if g == group:
                g_td[(t, d)] += n
    totals = {d: sum(n_td[(t, d)] for t in codes) for d in domains}
    places = {d: sum(o.places for o, _h in offers if o.domain == d) for d in domains}

    # Suppression, line by line.
    total_shown = {d: totals[d] >= MIN_SHOWN for d in domains}
    band_hidden: dict[tuple[str, str], bool] = {}
    cell_hidden: dict[tuple[str, str], bool] = {}
    for d in domains:
        line = [m_bd[(b, d)] for b in band_codes]
        hide = suppress_line(line, set(), total_shown[d])
        band_hidden.update({(b, d): i in hide for i, b in enumerate(band_codes)})
        cells = g_td if group else n_td
        line_total_shown = g_gd[(group, d)] >= MIN_SHOWN if group else total_shown[d]
        line = [cells[(t, d)] for t in codes]
        hide = suppress_line(line, set(), line_total_shown)
        cell_hidden.update({(t, d): i in hide for i, t in enumerate(codes)})
    every_total_shown = all(total_shown.values())

    domain_labels = Domain.labels()
    group_labels = TargetGroup.labels()
    kept = [d for d in domains if domain is None or d == domain]
    domain_rows = []
    for d in kept:
        needs = shown(totals[d], False)
        domain_rows.append({
            "domain": d, "label": domain_labels[d], "needs": needs, "places": places[d],
            "gap": None if needs is None else max(needs - places[d], 0),
            "can_start": places[d] == 0 or (needs is not None and needs > places[d]),
            "bands": [{"band": b, "label": label, "needs": shown(m_bd[(b, d)], band_hidden[(b, d)])}
                      for b, label in BANDS],
            "groups": [{"group": g.value, "label": g.label,
                        "needs": shown(g_gd[(g.value, d)], False)} for g in PRIORITY_GROUPS],
        })  # fmt: skip

    # The township table: rows of the chosen area only.
    if chosen is not None:
        low, high = descendant_range(chosen.code)
        row_codes = [(c, n) for c, n in townships if low <= c <= high]
    else:
        row_codes = townships
    listed = len(row_codes) <= MAX_TOWNSHIP_ROWS
    cells = g_td if group else n_td
    group_places: dict[tuple[str, str], int] = {}
    for o, hit in offers:
        if not _serves(o, group):
            continue
        for t in hit:
            group_places[(t, o.domain)] = group_places.get((t, o.domain), 0) + o.places
    township_rows = []
    if listed:
        for t, name in row_codes:
            row_cells = []
            for d in kept:
                needs = shown(cells[(t, d)], cell_hidden[(t, d)])
                left = group_places.get((t, d), 0)
                gap = None if needs is None else max(needs - left, 0)
                row_cells.append({"domain": d, "needs": needs, "places": left, "gap": gap,
                                  "can_start": left == 0 or bool(gap)})  # fmt: skip
            township_rows.append({"code": t, "name": name, "cells": row_cells})
    subtotal = []
    if listed and row_codes:
        area_codes = {t for t, _n in row_codes}
        for d in kept:
            complete = all(not cell_hidden[(t, d)] for t in area_codes)
            subtotal.append({
                "domain": d,
                "needs": sum(cells[(t, d)] for t in area_codes) if complete else None,
                "places": sum(o.places for o, hit in offers
                              if o.domain == d and _serves(o, group) and hit & area_codes),
            })  # fmt: skip

    write_audit(
        db, actor, "demand.read", region_code=chosen.code if chosen else scope.codes[0],
        detail={"area": area, "domain": domain, "group": group},
    )  # fmt: skip
    return {
        "regions": [{"code": r.code, "name": r.name} for r in scope.regions],
        "area": None if chosen is None else {"code": chosen.code, "name": chosen.name},
        "domain": domain,
        "group": group,
        "group_label": None if group is None else _label(group, group_labels),
        "min_shown": MIN_SHOWN,
        "total_needs": sum(totals.values()) if every_total_shown else None,
        "domains": domain_rows,
        "townships_listed": listed,
        "township_count": len(row_codes),
        "townships": township_rows,
        "subtotal": subtotal,
        "bands": [{"band": b, "label": label} for b, label in BANDS],
        "groups": [{"group": g.value, "label": g.label} for g in PRIORITY_GROUPS],
    }
