"""An allocation plan as plain data: the API's body and ``flask allocation plan --json``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from models import AllocationPlan, AllocationPlanLine, Household, Need, Project, Region
from models.regions import township_code

from .allocation import places_used, plan_needs, plan_places


def _names(db: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(codes))).all())


def plan_summary(
    db: Session, plan: AllocationPlan, names: dict[str, str] | None = None
) -> dict[str, Any]:
    names = names if names is not None else _names(db, {plan.region_code})
    return {
        "id": plan.id,
        "region_code": plan.region_code,
        "region_name": names.get(plan.region_code, plan.region_code),
        "status": plan.status.value,
        "as_of": plan.as_of,
        "objective": plan.objective,
        "fcfs_objective": plan.fcfs_objective,
        "needs": plan.figures.get("needs", 0),
        "line_count": plan.figures.get("lines", 0),
        "created_at": plan.created_at,
        "approved_at": plan.approved_at,
    }


def plan_document(db: Session, plan: AllocationPlan) -> dict[str, Any]:
    """The plan, its comparison with first come first served, the places it gives each
    project and its lines (ids and codes, no household names)."""
    figures = plan.figures
    lines: list[AllocationPlanLine] = list(plan.lines)
    needs = {
        n.id: n
        for n in db.scalars(
            sa.select(Need)
            .where(Need.id.in_({x.need_id for x in lines}))
            .options(selectinload(Need.household).load_only(Household.region_code))
        )
    }
    projects = {
        p.id: p
        for p in db.scalars(
            sa.select(Project)
            .where(Project.id.in_(set(places_used(plan)) | {x.project_id for x in lines}))
            .options(selectinload(Project.organization))
        )
    }
    stored = plan_places(plan)
    townships = figures.get("townships", {})
    names = _names(db, set(townships) | {plan.region_code})
    weighed = plan_needs(plan)
    return {
        **plan_summary(db, plan, names),
        "weights": plan.weights,
        "method": figures.get("method"),
        "fcfs_line_count": figures.get("fcfs_lines", 0),
        "urgent": figures.get("urgent", {}),
        "priority_group": figures.get("priority_group", {}),
        "townships": [
            {"code": code, "name": names.get(code, code), **counts}
            for code, counts in sorted(townships.items())
        ],
        "places_used": [
            {
                "project_id": project_id,
                "project_name": projects[project_id].name,
                "places": count,
                "places_left": stored[project_id].places if project_id in stored else 0,
            }
            for project_id, count in places_used(plan).items()
        ],
        "lines": [
            {
                "id": line.id,
                "need_id": line.need_id,
                "project_id": line.project_id,
                "project_name": projects[line.project_id].name,
                "provider_name": projects[line.project_id].organization.name,
                "township_code": township_code(needs[line.need_id].household.region_code),
                "domain": needs[line.need_id].domain.value,
                "urgent": needs[line.need_id].urgency.value == "urgent",
                "priority_group": line.need_id in weighed and weighed[line.need_id].priority_group,
                "status": line.status.value,
                "score": line.score,
                "weight": line.weight,
                "benefit": line.benefit,
                "amount_fen": line.amount_fen,
                "edited": line.edited,
                "conflict_reason": line.conflict_reason,
                "referral_id": line.referral_id,
            }
            for line in lines
        ],
    }
