"""What an allocation plan is solved over: a region's open needs, each with the projects the
hard rules allow it and their match scores, and the places and money those projects have left.

A need takes part when it is open or 部分满足, its household is active and has consent on
record (an approved referral needs it), and no referral of it is under way. Its options are
the projects of the ledgers in effect that pass every hard rule and help in its domain, scored
by the active model; only the :data:`MAX_OPTIONS_PER_NEED` best are kept, as nobody would
give a need its eleventh choice while ten better ones have places. Needs are loaded in chunks
with their households, members and aid, and scored a chunk at a time against the one cached
project index (``matcher.ranking.score_many``: the rules of a place once, the texts together).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from matcher.allocation import PlanNeed, PlanOption, PlanProject
from matcher.ranking import score_many
from matcher.scoring import household_groups
from matcher.vocabulary import PRIORITY
from models import Household, Need, Project, Referral
from models.enums import AWAITING_NEED_STATES, OPEN_REFERRAL_STATES, HouseholdStatus, Urgency
from models.regions import descendant_range, township_code

from .matching import active_model, need_record, project_index
from .referrals.places import reserve_amount

#: Options kept per need, best scored first.
MAX_OPTIONS_PER_NEED = 10

#: Needs loaded and scored per round trip.
CHUNK = 500

_PRIORITY = frozenset(PRIORITY)


def waiting_need_ids(db: Session, region_code: str) -> list[int]:
    """The needs of ``region_code`` (and below) that a plan may give a place, oldest first."""
    low, high = descendant_range(region_code)
    under_way = sa.select(Referral.need_id).where(Referral.status.in_(OPEN_REFERRAL_STATES))
    return list(
        db.scalars(
            sa.select(Need.id)
            .join(Household, Household.id == Need.household_id)
            .where(
                Household.status == HouseholdStatus.ACTIVE,
                Household.region_code.between(low, high),
                Household.consent_on.is_not(None),
                Household.consent_withdrawn_at.is_(None),
                Need.status.in_(AWAITING_NEED_STATES),
                Need.id.not_in(under_way),
            )
            .order_by(Need.created_at, Need.id)
        )
    )


def plan_candidates(
    db: Session, region_code: str, today: dt.date
) -> tuple[list[PlanNeed], list[PlanOption], list[PlanProject]]:
    """The open needs of ``region_code``, their options and the projects those options
    name, as of ``today``."""
    index = project_index(db, today)
    model = active_model(db)
    # What approving a line would hold of each project's money (``reserve_place``).
    per_person = [None if np.isnan(a) else int(a) for a in index.amount.tolist()]
    need_ids = waiting_need_ids(db, region_code)
    needs: list[PlanNeed] = []
    options: list[PlanOption] = []
    for start in range(0, len(need_ids), CHUNK):
        loaded = db.scalars(
            sa.select(Need)
            .where(Need.id.in_(need_ids[start : start + CHUNK]))
            .options(
                selectinload(Need.household).selectinload(Household.members),
                selectinload(Need.household).selectinload(Household.gov_aid),
            )
            .order_by(Need.created_at, Need.id)
        ).all()
        records = [need_record(need, today) for need in loaded]
        # Rules of a place once, the texts together: see ``matcher.ranking.score_many``.
        scored = score_many(index, records, today, limit=MAX_OPTIONS_PER_NEED, model=model,
                            own_domain=True)  # fmt: skip
        for need, record, found in zip(loaded, records, scored, strict=True):
            household = need.household
            needs.append(
                PlanNeed(
                    need_id=need.id,
                    township=township_code(household.region_code) or household.region_code,
                    urgent=need.urgency == Urgency.URGENT,
                    priority_group=bool(household_groups(record) & _PRIORITY),
                    days_waiting=(today - need.created_at.date()).days,
                    remaining_gap_fen=need.remaining_gap_fen,
                    order=(need.created_at.isoformat(), need.id),
                )
            )
            for i in found.order:
                position = int(found.positions[i])
                options.append(
                    PlanOption(
                        need_id=need.id,
                        project_id=int(index.ids[position]),
                        score=round(float(found.scores[i]), 6),
                        amount_fen=reserve_amount(per_person[position], need.remaining_gap_fen),
                    )
                )
    projects = project_places(db, {o.project_id for o in options})
    return needs, options, projects


def project_places(db: Session, project_ids: set[int]) -> list[PlanProject]:
    """Places and money left, now, of each of ``project_ids``."""
    rows: list[Any] = []
    ids = sorted(project_ids)
    for start in range(0, len(ids), CHUNK):
        rows += db.execute(
            sa.select(Project.id, Project.quota, Project.quota_used, Project.budget_fen,
                      Project.reserved_fen)
            .where(Project.id.in_(ids[start : start + CHUNK]))
        ).all()  # fmt: skip
    return [
        PlanProject(
            project_id=row.id,
            places=max(row.quota - row.quota_used, 0),
            budget_fen=None
            if row.budget_fen is None
            else max(row.budget_fen - row.reserved_fen, 0),
        )
        for row in sorted(rows, key=lambda r: r.id)
    ]


# --- stored with the plan, so that weights and edits need no second look at the ledgers ----


def dump_candidates(
    needs: Sequence[PlanNeed], options: Sequence[PlanOption], projects: Sequence[PlanProject]
) -> dict[str, Any]:
    return {
        "needs": [[n.need_id, n.township, n.urgent, n.priority_group, n.days_waiting,
                   n.remaining_gap_fen, list(n.order)] for n in needs],
        "options": [[o.need_id, o.project_id, o.score, o.amount_fen] for o in options],
        "projects": [[p.project_id, p.places, p.budget_fen] for p in projects],
    }  # fmt: skip


def load_candidates(
    stored: Mapping[str, Any],
) -> tuple[list[PlanNeed], list[PlanOption], list[PlanProject]]:
    needs = [PlanNeed(n[0], n[1], bool(n[2]), bool(n[3]), int(n[4]), n[5], tuple(n[6]))
             for n in stored.get("needs", [])]  # fmt: skip
    options = [PlanOption(int(o[0]), int(o[1]), float(o[2]), int(o[3]))
               for o in stored.get("options", [])]  # fmt: skip
    projects = [PlanProject(int(p[0]), int(p[1]), p[2]) for p in stored.get("projects", [])]
    return needs, options, projects
