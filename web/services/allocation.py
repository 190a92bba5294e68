"""Allocation plans (联合分配方案): a county or township office's proposal of which project or
local resource takes each of its open needs, solved jointly (:mod:`matcher.allocation`), shown
beside first come first served, edited by the office and approved as a batch.

A plan keeps what it was solved over (the needs, their options and the places, see
:mod:`.allocation_candidates`) so that a change of weights re-solves the same problem and an
edit is checked against the same hard rules: a line may only name a project the rules allowed
for its need, and no project may be given more places or money than it had. Approving turns
each line into an approved referral of the plan, one savepoint each: a place taken meanwhile
(or a need settled, a project gone) makes that line a *conflict* with its reason, never an
over-allocation, and the rest are approved.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from matcher.allocation import (
    Allocation,
    PlanNeed,
    PlanOption,
    PlanProject,
    Weights,
    compare,
    first_come_first_served,
    solve,
    weight_of,
)
from matcher.rules import RULES, check, reason
from models import (
    AllocationPlan,
    AllocationPlanLine,
    Household,
    Need,
    Project,
    Region,
    User,
    clock,
)
from models.base import utcnow
from models.enums import AllocationLineStatus, AllocationPlanStatus, RegionLevel, Role
from models.regions import descendant_range, is_within

from .allocation_candidates import dump_candidates, load_candidates, plan_candidates
from .audit import write_audit
from .county_settings import allows_self_approval
from .errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from .matching import active_model, need_record, project_index
from .scoping import require_role

L = AllocationLineStatus

#: Levels an office may plan for.
PLAN_LEVELS = (RegionLevel.COUNTY, RegionLevel.TOWNSHIP)


def parse_weights(values: Mapping[str, Any] | None) -> Weights:
    """Weights from ``values``, or a :class:`ValidationFailed` naming the bad one."""
    try:
        return Weights.from_mapping(values)
    except (TypeError, ValueError) as error:
        text = str(error)
        name = text.split(":")[-1].strip() if text.startswith("unknown") else text.split()[0]
        reason = ("未知的权重。" if text.startswith("unknown")
                  else "须为 0 至 10 之间的数。" if "between" in text or "number" in text
                  else "须为是或否。")  # fmt: skip
        raise ValidationFailed(fields={f"weights.{name}": [reason]}) from None


def plan_region(db: Session, actor: User | None, region_code: str | None) -> Region:
    """The county or township a plan of ``actor`` covers (default: the actor's own region;
    ``actor`` None is the command line, which names the region).

    :raise Forbidden: not civil-affairs staff, or a region outside the actor's.
    :raise ValidationFailed: no such region, or not a county or township.
    """
    if actor is not None:
        require_office(actor)
    code = region_code or (actor.region_code if actor else None)
    region = db.get(Region, code) if code else None
    if region is None:
        raise ValidationFailed(fields={"region_code": ["区划不存在。"]})
    if region.level not in PLAN_LEVELS:
        raise ValidationFailed(fields={"region_code": ["请选择一个县（区）或乡镇（街道）。"]})
    if actor is not None and not (actor.region_code and is_within(region.code, actor.region_code)):
        raise Forbidden("只能为本辖区的需求制定分配方案。")
    return region


def require_office(actor: User) -> None:
    """Plans are made, edited and approved by civil-affairs staff only (an administrator
    reads them, like referrals, but takes no step in them).

    :raise Forbidden: another role.
    """
    if actor.role != Role.CIVIL_AFFAIRS:
        raise Forbidden("只有民政部门工作人员可以制定、修改和批准分配方案。")


def _visible(actor: User) -> Any:
    require_role(actor, Role.CIVIL_AFFAIRS)
    low, high = descendant_range(actor.region_code or "")
    return AllocationPlan.region_code.between(low, high)


def list_plans(db: Session, actor: User) -> list[AllocationPlan]:
    """The plans of the actor's region and below, newest first."""
    return list(
        db.scalars(
            sa.select(AllocationPlan)
            .where(_visible(actor))
            .order_by(AllocationPlan.created_at.desc(), AllocationPlan.id.desc())
        )
    )


def get_plan(db: Session, actor: User, plan_id: int) -> AllocationPlan:
    """:raise NotFound: no such plan in the actor's region."""
    plan = db.scalar(
        sa.select(AllocationPlan)
        .where(AllocationPlan.id == plan_id, _visible(actor))
        .options(
            selectinload(AllocationPlan.lines).selectinload(AllocationPlanLine.need),
            selectinload(AllocationPlan.lines).selectinload(AllocationPlanLine.project),
        )
    )
    if plan is None:
        raise NotFound("分配方案不存在或不在您的辖区。")
    return plan


# --- solving ------------------------------------------------------------------------------


def _solved(
    needs: list[PlanNeed],
    options: list[PlanOption],
    projects: list[PlanProject],
    weights: Weights,
) -> tuple[Allocation, dict[str, Any]]:
    plan = solve(needs, options, projects, weights)
    fcfs = first_come_first_served(needs, options, projects, weights)
    figures = compare(plan, fcfs, needs)
    figures.update(
        method=plan.method,
        solve_seconds=round(plan.seconds, 3),
        options=len(options),
        places=sum(p.places for p in projects),
        projects=len(projects),
        fcfs_places_used={str(k): v for k, v in sorted(fcfs.places_used().items())},
    )
    return plan, figures


def _fill(plan: AllocationPlan, solved: Allocation) -> None:
    plan.lines = [
        AllocationPlanLine(
            need_id=line.need_id, project_id=line.project_id, score=line.score,
            weight=line.weight, benefit=line.benefit, amount_fen=line.amount_fen,
        )
        for line in solved.lines
    ]  # fmt: skip
    plan.objective = solved.objective


def create_plan(
    db: Session,
    actor: User | None,
    region_code: str | None,
    weights: Mapping[str, Any] | None,
    *,
    now: dt.datetime | None = None,
) -> AllocationPlan:
    """Solve and save a draft plan for the open needs of ``region_code`` (default: the
    actor's region) with ``weights`` (missing ones keep their defaults); ``actor`` None is
    the command line. Flushes.

    :raise Forbidden: not civil-affairs staff, or a region outside the actor's.
    :raise ValidationFailed: a bad region or weight.
    """
    chosen = parse_weights(weights)
    region = plan_region(db, actor, region_code)
    now = now or utcnow()
    today = clock.local_date(now)
    needs, options, projects = plan_candidates(db, region.code, today)
    solved, figures = _solved(needs, options, projects, chosen)
    figures["candidates"] = dump_candidates(needs, options, projects)
    plan = AllocationPlan(
        region_code=region.code, weights=chosen.to_dict(), as_of=today,
        fcfs_objective=figures["fcfs_objective"], figures=figures,
        created_by_id=actor.id if actor else None,
        created_at=now,
    )  # fmt: skip
    _fill(plan, solved)
    db.add(plan)
    db.flush()
    write_audit(
        db, actor, "allocation_plan.create", plan, region_code=region.code,
        actor_name=None if actor else "system",
        detail={"needs": figures["needs"], "lines": figures["lines"],
                "objective": plan.objective, "fcfs_objective": plan.fcfs_objective},
    )  # fmt: skip
    return plan


def _draft(db: Session, actor: User, plan_id: int) -> AllocationPlan:
    require_office(actor)
    plan = get_plan(db, actor, plan_id)
    if plan.status != AllocationPlanStatus.DRAFT:
        raise Conflict(f"该方案已{plan.status.label}，不能再修改。")
    return plan


def set_weights(
    db: Session, actor: User, plan_id: int, weights: Mapping[str, Any]
) -> AllocationPlan:
    """Solve a draft plan again, over the same needs and places, with new weights; lines
    edited by hand are replaced by the new solution."""
    plan = _draft(db, actor, plan_id)
    chosen = parse_weights({**plan.weights, **dict(weights)})
    stored = plan.figures.get("candidates", {})
    needs, options, projects = load_candidates(stored)
    solved, figures = _solved(needs, options, projects, chosen)
    figures["candidates"] = stored
    plan.lines.clear()
    db.flush()
    _fill(plan, solved)
    plan.weights = chosen.to_dict()
    plan.fcfs_objective = figures["fcfs_objective"]
    plan.figures = figures
    db.flush()
    write_audit(db, actor, "allocation_plan.weights", plan, region_code=plan.region_code,
                detail={"weights": plan.weights, "objective": plan.objective})  # fmt: skip
    return plan


# --- editing lines ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stored:
    needs: dict[int, PlanNeed]
    options: dict[tuple[int, int], PlanOption]
    projects: dict[int, PlanProject]


def _stored(plan: AllocationPlan) -> _Stored:
    """What the plan was solved over, read from its figures once per loaded plan: a page and
    an edit ask for it several times, and a county's plan holds some 50,000 options."""
    raw = plan.figures.get("candidates", {})
    cached = plan.__dict__.get("_stored_candidates")
    if cached is not None and cached[0] is raw:
        return cast(_Stored, cached[1])
    needs, options, projects = load_candidates(raw)
    stored = _Stored(
        {n.need_id: n for n in needs},
        {(o.need_id, o.project_id): o for o in options},
        {p.project_id: p for p in projects},
    )
    plan.__dict__["_stored_candidates"] = (raw, stored)
    return stored


def _live(plan: AllocationPlan) -> list[AllocationPlanLine]:
    return [line for line in plan.lines if line.status == L.PROPOSED]


def _check_room(plan: AllocationPlan, stored: _Stored, project_id: int, amount: int) -> None:
    """Refuse a line that would give ``project_id`` more places or money than it had."""
    project = stored.projects[project_id]
    lines = [line for line in _live(plan) if line.project_id == project_id]
    if len(lines) + 1 > project.places:
        raise Conflict(
            f"该项目在方案中只有 {project.places} 个名额，已全部分配。请先移除其中一行。",
            fields={"project_id": ["名额已在方案中分配完。"]},
        )
    if project.budget_fen is not None:
        held = sum(line.amount_fen or 0 for line in lines)
        if held + amount > project.budget_fen:
            raise Conflict("该项目剩余资金不足以再分配一户。",
                           fields={"project_id": ["剩余资金不足。"]})  # fmt: skip


def _option(stored: _Stored, need_id: int, project_id: int) -> PlanOption:
    option = stored.options.get((need_id, project_id))
    if option is None or project_id not in stored.projects:
        raise ValidationFailed(
            fields={"project_id": ["该项目不符合这项需求的硬性条件，或不在本方案的可选项目中。"]}
        )
    return option


def _set_line(
    line: AllocationPlanLine, need: PlanNeed, option: PlanOption, weights: Weights
) -> None:
    weight = weight_of(need, option, weights)
    line.project_id = option.project_id
    line.score = option.score
    line.weight = round(weight, 6)
    line.benefit = round(option.score * weight, 6)
    line.amount_fen = option.amount_fen
    line.edited = True


def _objective(plan: AllocationPlan) -> None:
    """The plan's total and the needs it serves (all, urgent, priority-group, per township)
    again after an edit."""
    live = _live(plan)
    plan.objective = round(sum(line.benefit for line in live), 6)
    served = {line.need_id for line in live}
    needs = [n for n in _stored(plan).needs.values() if n.need_id in served]
    figures = dict(plan.figures)
    figures["objective"] = plan.objective
    figures["lines"] = len(served)
    figures["urgent"] = {**figures.get("urgent", {}), "plan": sum(n.urgent for n in needs)}
    figures["priority_group"] = {
        **figures.get("priority_group", {}),
        "plan": sum(n.priority_group for n in needs),
    }
    by_township = Counter(n.township for n in needs)
    figures["townships"] = {
        code: {**counts, "plan": by_township.get(code, 0)}
        for code, counts in figures.get("townships", {}).items()
    }
    plan.figures = figures


def change_line(
    db: Session, actor: User, plan_id: int, line_id: int, project_id: int | None
) -> AllocationPlan:
    """Give a line's need another project (one the hard rules allowed it), or remove the line
    (``project_id`` None)."""
    plan = _draft(db, actor, plan_id)
    line = next((x for x in plan.lines if x.id == line_id), None)
    if line is None:
        raise NotFound("方案中没有这一行。")
    if line.status != L.PROPOSED:
        raise Conflict("这一行已移除。")
    if project_id is None:
        line.status = L.REMOVED
        line.edited = True
        action = "allocation_plan.remove_line"
    elif project_id != line.project_id:
        stored = _stored(plan)
        option = _option(stored, line.need_id, project_id)
        _check_room(plan, stored, project_id, option.amount_fen)
        _set_line(line, stored.needs[line.need_id], option, Weights.from_mapping(plan.weights))
        action = "allocation_plan.change_line"
    else:
        return plan
    _objective(plan)
    db.flush()
    detail = {"line_id": line.id, "need_id": line.need_id, "project_id": project_id}
    write_audit(db, actor, action, plan, region_code=plan.region_code, detail=detail)
    return plan


def add_line(
    db: Session, actor: User, plan_id: int, need_id: int, project_id: int
) -> AllocationPlan:
    """Give a need the plan left out one of its projects."""
    plan = _draft(db, actor, plan_id)
    stored = _stored(plan)
    if need_id not in stored.needs:
        raise ValidationFailed(fields={"need_id": ["这项需求不在本方案的待分配需求中。"]})
    existing = next((x for x in plan.lines if x.need_id == need_id), None)
    if existing is not None and existing.status == L.PROPOSED:
        raise Conflict("这项需求在方案中已有一行，请修改那一行。",
                       fields={"need_id": ["已在方案中。"]})  # fmt: skip
    option = _option(stored, need_id, project_id)
    _check_room(plan, stored, project_id, option.amount_fen)
    line = existing or AllocationPlanLine(need_id=need_id)
    line.status = L.PROPOSED
    _set_line(line, stored.needs[need_id], option, Weights.from_mapping(plan.weights))
    if existing is None:
        plan.lines.append(line)
    _objective(plan)
    db.flush()
    write_audit(db, actor, "allocation_plan.add_line", plan, region_code=plan.region_code,
                detail={"need_id": need_id, "project_id": project_id})  # fmt: skip
    return plan


# --- approving ----------------------------------------------------------------------------


def _broken_rules(
    db: Session, lines: list[AllocationPlanLine], needs: dict[int, Need], today: dt.date
) -> dict[int, str]:
    """The lines whose need no longer passes a hard rule of its project (the household moved,
    a member's age or circumstances changed since the plan was made), each with the reason.
    Places are left to the approval itself, which takes them atomically."""
    index = project_index(db, today)
    position = index.positions()
    broken: dict[int, str] = {}
    for line in lines:
        at = position.get(line.project_id)
        if at is None:
            continue  # left the ledgers: the approval says so
        eligibility = check(index, need_record(needs[line.need_id], today), today)
        rule = RULES[int(eligibility.failed[at])]
        if not eligibility.eligible[at] and rule != "quota":
            broken[line.id] = (
                f"该户情况已有变化，不再符合项目条件：{reason(rule, index, at, today)}。"
            )
    return broken


@dataclass(frozen=True)
class ApprovalResult:
    plan: AllocationPlan
    approved: int
    conflicts: int


def approve_plan(
    db: Session, actor: User, plan_id: int, *, now: dt.datetime | None = None
) -> ApprovalResult:
    """Approve a draft plan: each proposed line becomes an approved referral of the plan,
    taking its place, in a savepoint of its own; a line whose place was taken meanwhile (or
    whose need was settled, or whose project left the ledger) is marked a conflict with its
    reason and takes nothing.

    The person who made the plan may not approve it, unless the county allows one person to
    create and approve (本县设置).

    :raise Forbidden: the actor made the plan and the county does not allow that.
    :raise Conflict: the plan is not a draft, or has no line to approve.
    """
    from .referrals.planned import create_approved_referral

    now = now or utcnow()
    plan = _draft(db, actor, plan_id)
    if plan.created_by_id == actor.id and not allows_self_approval(db, plan.region_code):
        raise Forbidden(
            "您制定了这份方案，不能再由您批准，请由本部门其他工作人员批准"
            "（县民政部门可在“本县设置”中允许同一人制定并批准）。"
        )
    lines = _live(plan)
    if not lines:
        raise Conflict("方案中没有待批准的行。")
    model_version = active_model(db).name
    needs = {n.id: n for n in db.scalars(
        sa.select(Need).where(Need.id.in_([x.need_id for x in lines]))
        .options(selectinload(Need.household).selectinload(Household.members),
                 selectinload(Need.household).selectinload(Household.gov_aid)))}  # fmt: skip
    projects = {p.id: p for p in db.scalars(
        sa.select(Project).where(Project.id.in_({x.project_id for x in lines}))
        .options(selectinload(Project.organization)))}  # fmt: skip
    broken = _broken_rules(db, lines, needs, clock.local_date(now))
    approved = conflicts = 0
    for line in lines:
        if line.id in broken:
            line.status = L.CONFLICT
            line.conflict_reason = broken[line.id]
            conflicts += 1
            continue
        savepoint = db.begin_nested()
        try:
            referral = create_approved_referral(
                db, actor, needs[line.need_id], projects[line.project_id], plan_id=plan.id,
                score=line.score, model_version=model_version, now=now,
            )  # fmt: skip
        except ServiceError as error:
            savepoint.rollback()
            line.status = L.CONFLICT
            line.conflict_reason = error.message
            conflicts += 1
        else:
            savepoint.commit()
            line.status = L.APPROVED
            line.referral_id = referral.id
            approved += 1
    plan.status = AllocationPlanStatus.APPROVED
    plan.approved_by_id = actor.id
    plan.approved_at = now
    db.flush()
    write_audit(db, actor, "allocation_plan.approve", plan, region_code=plan.region_code,
                detail={"approved": approved, "conflicts": conflicts,
                        "self_approved": plan.created_by_id == actor.id})  # fmt: skip
    return ApprovalResult(plan, approved, conflicts)


# --- what a plan looks like to the office -------------------------------------------------


def places_used(plan: AllocationPlan) -> dict[int, int]:
    """Places each project gives in the plan (proposed or approved lines)."""
    used: Counter[int] = Counter(
        line.project_id for line in plan.lines if line.status in (L.PROPOSED, L.APPROVED)
    )
    return dict(sorted(used.items()))


def unplaced_need_ids(plan: AllocationPlan) -> list[int]:
    """Needs of the plan with options but no live line, first come first."""
    stored = _stored(plan)
    placed = {x.need_id for x in plan.lines if x.status in (L.PROPOSED, L.APPROVED)}
    with_options = {need_id for need_id, _ in stored.options}
    return [n.need_id for n in sorted(stored.needs.values(), key=lambda n: (n.order, n.need_id))
            if n.need_id in with_options and n.need_id not in placed]  # fmt: skip


def options_of(plan: AllocationPlan) -> dict[int, list[PlanOption]]:
    """Each need's options in the plan, best first."""
    found: dict[int, list[PlanOption]] = defaultdict(list)
    for option in _stored(plan).options.values():
        found[option.need_id].append(option)
    return {k: sorted(v, key=lambda o: (-o.score, o.project_id)) for k, v in found.items()}


def plan_needs(plan: AllocationPlan) -> dict[int, PlanNeed]:
    """The needs the plan was solved over, as it weighed them, by id."""
    return _stored(plan).needs


def plan_places(plan: AllocationPlan) -> dict[int, PlanProject]:
    return _stored(plan).projects
