"""What an allocation plan (联合分配方案) looks like on its page: the comparison with first come
first served in figures, per township and as a chart, and its lines and left-out needs with
the names people read (places, households, projects) instead of the ids the plan keeps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from models import AllocationPlan, Need, Project, Region, User
from models.enums import AllocationLineStatus, Urgency
from models.regions import township_code
from web.services.allocation import options_of, places_used, plan_places, unplaced_need_ids

L = AllocationLineStatus


@dataclass(frozen=True)
class Choice:
    """A project a need may be given instead: its match score and the places the plan has
    left in it."""

    project_id: int
    name: str
    organization: str
    score: float
    places_left: int


@dataclass(frozen=True)
class NeedRow:
    need_id: int
    household_id: int
    place: str
    head_name: str
    domain_label: str
    is_urgent: bool
    amount_gap_fen: int | None
    choices: list[Choice]


@dataclass(frozen=True)
class LineRow:
    id: int
    need: NeedRow
    project_id: int
    project_name: str
    organization: str
    score: float
    amount_fen: int | None
    status: AllocationLineStatus
    is_edited: bool
    conflict_reason: str | None
    referral_id: int | None

    @property
    def is_live(self) -> bool:
        return self.status == L.PROPOSED

    @property
    def other_choices(self) -> list[Choice]:
        return [c for c in self.need.choices if c.project_id != self.project_id]


@dataclass(frozen=True)
class TownshipRow:
    name: str
    needs: int
    plan: int
    fcfs: int


@dataclass(frozen=True)
class PlanView:
    plan: AllocationPlan
    region_name: str
    created_by: str
    approved_by: str
    figures: dict[str, Any]
    townships: list[TownshipRow]
    lines: list[LineRow]
    unplaced: list[NeedRow]
    counts: dict[str, int]

    @property
    def household_ids(self) -> list[int]:
        """The households the page names, for the record of who was looked at."""
        shown = [row.need for row in self.lines] + self.unplaced
        return sorted({row.household_id for row in shown})

    def chart(self) -> dict[str, list[Any]]:
        """Per township: its name, needs served by the plan and by first come first served."""
        return {
            "labels": [t.name for t in self.townships],
            "plan": [t.plan for t in self.townships],
            "fcfs": [t.fcfs for t in self.townships],
        }


def region_names(db: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """The names of ``codes`` (从化区, 温泉镇, 龙桥村委会), in one query."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    rows = db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(wanted)))
    return {code: name for code, name in rows.all()}


def user_names(db: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.execute(sa.select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {i: name for i, name in rows.all()}


def _place(code: str, names: dict[str, str]) -> str:
    township = township_code(code)
    parts = [names.get(township or "", ""), names.get(code, "") if code != township else ""]
    return " ".join(p for p in parts if p) or names.get(code, "")


def plan_view(db: Session, plan: AllocationPlan) -> PlanView:
    """The plan as its page shows it (lines in the order of the plan, left-out needs first
    come first)."""
    options = options_of(plan)
    used = places_used(plan)
    left = {pid: place.places - used.get(pid, 0) for pid, place in plan_places(plan).items()}
    unplaced_ids = unplaced_need_ids(plan)
    need_ids = {line.need_id for line in plan.lines} | set(unplaced_ids)
    needs = {
        n.id: n
        for n in db.scalars(
            sa.select(Need).where(Need.id.in_(need_ids)).options(selectinload(Need.household))
        )
    }
    project_ids = {o.project_id for o in _all(options, need_ids)} | {
        line.project_id for line in plan.lines
    }
    projects = {
        p.id: p
        for p in db.scalars(
            sa.select(Project)
            .where(Project.id.in_(project_ids))
            .options(selectinload(Project.organization))
        )
    }
    codes = [n.household.region_code for n in needs.values()]
    names = region_names(db, [plan.region_code, *codes, *(township_code(c) for c in codes)])

    def need_row(need_id: int) -> NeedRow:
        need = needs[need_id]
        household = need.household
        choices = [
            Choice(
                o.project_id, projects[o.project_id].name,
                projects[o.project_id].organization.name, o.score, left.get(o.project_id, 0),
            )
            for o in options.get(need_id, [])
            if o.project_id in projects
        ]  # fmt: skip
        return NeedRow(
            need_id=need.id, household_id=household.id,
            place=_place(household.region_code, names), head_name=household.head_name,
            domain_label=need.domain.label, is_urgent=need.urgency == Urgency.URGENT,
            amount_gap_fen=need.remaining_gap_fen, choices=choices,
        )  # fmt: skip

    lines = [
        LineRow(
            id=line.id, need=need_row(line.need_id), project_id=line.project_id,
            project_name=projects[line.project_id].name,
            organization=projects[line.project_id].organization.name, score=line.score,
            amount_fen=line.amount_fen or None, status=line.status, is_edited=line.edited,
            conflict_reason=line.conflict_reason, referral_id=line.referral_id,
        )
        for line in plan.lines
        if line.need_id in needs
    ]  # fmt: skip
    figures = plan.figures
    town_codes = list(figures.get("townships", {}))
    names |= region_names(db, [c for c in town_codes if c not in names])
    townships = [
        TownshipRow(names.get(code, code), row.get("needs", 0), row.get("plan", 0),
                    row.get("fcfs", 0))
        for code, row in sorted(figures.get("townships", {}).items())
    ]  # fmt: skip
    people = user_names(db, [plan.created_by_id, plan.approved_by_id])
    counts = {status.value: 0 for status in L}
    for line in plan.lines:
        counts[line.status.value] += 1
    return PlanView(
        plan=plan, region_name=names.get(plan.region_code, ""),
        created_by=people.get(plan.created_by_id or 0, ""),
        approved_by=people.get(plan.approved_by_id or 0, ""),
        figures=figures, townships=townships, lines=lines,
        unplaced=[need_row(i) for i in unplaced_ids if i in needs], counts=counts,
    )  # fmt: skip


def _all(options: dict[int, list[Any]], need_ids: set[int]) -> list[Any]:
    return [o for need_id in need_ids for o in options.get(need_id, [])]
