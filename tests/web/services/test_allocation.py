"""Allocation plans on the demo: what an office plans never breaks a hard rule or runs a
project over its places; approving takes the places atomically, and a place taken meanwhile
becomes a conflict of its line; edits stay within the needs' own options; a plan is the
office's own."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from matcher.rules import check
from models import AllocationPlan, Need, Notification, Project, Referral
from models.enums import AllocationLineStatus, AllocationPlanStatus, ReferralStatus
from models.regions import CountySetting
from tests.helpers import get_user
from web.services.allocation import (
    add_line,
    approve_plan,
    change_line,
    create_plan,
    get_plan,
    options_of,
    places_used,
    set_weights,
    unplaced_need_ids,
)
from web.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from web.services.ledgers import build_edition
from web.services.matching import clear_cache, need_record, project_index

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
CONGHUA, WENQUAN = "440117000000", "440117103000"
EDITIONS = ("440000000000", "440100000000", CONGHUA, WENQUAN, "440117107000")


@pytest.fixture(autouse=True)
def published(db: Session) -> None:
    clear_cache()
    admin = get_user(db, "admin")
    for region in EDITIONS:
        build_edition(db, admin, region, "2026H2", NOW)


def plan_for(db: Session, **weights: object) -> AllocationPlan:
    return create_plan(db, get_user(db, "ca_conghua"), CONGHUA, weights, now=NOW)


def leave_places(db: Session, project_id: int, places: int) -> None:
    project = db.get(Project, project_id)
    assert project is not None
    project.quota_used = project.quota - places
    db.flush()
    clear_cache()


def test_every_line_passes_the_hard_rules_and_no_project_runs_over(db: Session) -> None:
    plan = plan_for(db)
    assert plan.status == AllocationPlanStatus.DRAFT
    assert plan.lines, "the demo's open needs should find projects"
    index = project_index(db, TODAY)
    position = {p.id: i for i, p in enumerate(index.projects)}
    for line in plan.lines:
        eligible = check(index, need_record(line.need, TODAY), TODAY).eligible
        assert eligible[position[line.project_id]], (line.need_id, line.project_id)
    for project_id, used in places_used(plan).items():
        project = db.get(Project, project_id)
        assert project is not None and used <= project.quota - project.quota_used
    assert len({line.need_id for line in plan.lines}) == len(plan.lines)


def test_a_scarce_place_goes_where_the_weights_say_and_fcfs_is_shown_beside(db: Session) -> None:
    first = plan_for(db)
    # The project two of the demo's needs were given: leave it one place.
    shared = next(p for p, n in places_used(first).items() if n >= 2)
    leave_places(db, shared, 1)
    plan = plan_for(db)
    assert places_used(plan).get(shared, 0) <= 1
    figures = plan.figures
    assert plan.objective >= plan.fcfs_objective
    assert set(figures["urgent"]) == {"needs", "plan", "fcfs"}
    assert figures["townships"], "each township's share is shown"


def test_approving_makes_approved_referrals_and_takes_the_places(db: Session) -> None:
    plan = plan_for(db)
    lines = list(plan.lines)
    used_before = {p.id: p.quota_used for p in db.scalars(
        sa.select(Project).where(Project.id.in_(places_used(plan))))}  # fmt: skip
    result = approve_plan(db, get_user(db, "ca_guangzhou"), plan.id, now=NOW)
    assert result.approved == len(lines) and result.conflicts == 0
    assert plan.status == AllocationPlanStatus.APPROVED
    referrals = db.scalars(sa.select(Referral).where(Referral.allocation_plan_id == plan.id)).all()
    assert len(referrals) == len(lines)
    assert {r.status for r in referrals} == {ReferralStatus.APPROVED}
    for project_id, used in places_used(plan).items():
        project = db.get(Project, project_id)
        assert project is not None and project.quota_used == used_before[project_id] + used
    inbox = db.scalars(
        sa.select(Notification.referral_id).where(
            Notification.referral_id.in_([r.id for r in referrals])
        )
    ).all()
    assert set(inbox) == {r.id for r in referrals}
    with pytest.raises(Conflict):
        approve_plan(db, get_user(db, "ca_guangzhou"), plan.id, now=NOW)


def test_a_place_taken_meanwhile_makes_a_conflict_not_an_over_allocation(db: Session) -> None:
    plan = plan_for(db)
    taken = plan.lines[0]
    leave_places(db, taken.project_id, 0)  # someone took the last places after planning
    others_on_it = sum(1 for x in plan.lines if x.project_id == taken.project_id)
    result = approve_plan(db, get_user(db, "ca_guangzhou"), plan.id, now=NOW)
    assert result.conflicts == others_on_it
    assert result.approved == len(plan.lines) - others_on_it
    assert taken.status == AllocationLineStatus.CONFLICT
    assert "名额" in (taken.conflict_reason or "")
    assert taken.referral_id is None
    project = db.get(Project, taken.project_id)
    assert project is not None and project.quota_used == project.quota
    assert (
        db.scalar(
            sa.select(sa.func.count())
            .select_from(Referral)
            .where(Referral.need_id == taken.need_id)
        )
        == 0
    )


def test_a_household_that_no_longer_qualifies_is_a_conflict_at_approval(db: Session) -> None:
    plan = plan_for(db)
    in_conghua = [
        x for x in plan.lines if all(c.startswith("440117") for c in x.project.service_area_codes)
    ]
    moved = in_conghua[0]
    # The household moved to 乳源 after the plan was made: 从化's ledgers no longer cover it.
    moved.need.household.region_code = "440232113201"
    db.flush()
    result = approve_plan(db, get_user(db, "ca_guangzhou"), plan.id, now=NOW)
    assert moved.status == AllocationLineStatus.CONFLICT
    assert "不再符合项目条件" in (moved.conflict_reason or "")
    assert moved.referral_id is None
    assert result.approved == len(plan.lines) - result.conflicts >= 1


def test_the_planner_does_not_approve_their_own_plan_unless_the_county_allows(db: Session) -> None:
    plan = plan_for(db)
    office = get_user(db, "ca_conghua")
    with pytest.raises(Forbidden, match="本县设置"):
        approve_plan(db, office, plan.id, now=NOW)
    db.add(CountySetting(region_code=CONGHUA, allows_self_approval=True))
    db.flush()
    assert approve_plan(db, office, plan.id, now=NOW).approved == len(plan.lines)


def test_edits_stay_within_the_needs_options_and_the_places(db: Session) -> None:
    plan = plan_for(db)
    line = plan.lines[0]
    choices = options_of(plan)[line.need_id]
    not_an_option = db.scalar(
        sa.select(Project.id).where(Project.id.not_in([o.project_id for o in choices]))
    )
    with pytest.raises(ValidationFailed) as refused:
        change_line(db, get_user(db, "ca_conghua"), plan.id, line.id, not_an_option)
    assert "project_id" in refused.value.fields

    solved = plan.objective
    change_line(db, get_user(db, "ca_conghua"), plan.id, line.id, None)
    assert line.status == AllocationLineStatus.REMOVED
    assert line.need_id in unplaced_need_ids(plan)
    assert plan.objective == pytest.approx(solved - line.benefit)
    add_line(db, get_user(db, "ca_conghua"), plan.id, line.need_id, choices[-1].project_id)
    assert line.status == AllocationLineStatus.PROPOSED and line.edited
    assert line.project_id == choices[-1].project_id
    assert plan.objective == pytest.approx(sum(x.benefit for x in plan.lines))
    assert plan.objective <= solved + 1e-9  # the solver's choice was the best

    # No more places than the project had when solved: a line moved onto a project whose
    # places the plan already gives out is refused.
    fresh = plan_for(db)
    moves = [
        (x, o.project_id)
        for x in fresh.lines
        for o in options_of(fresh)[x.need_id]
        if o.project_id != x.project_id and o.project_id in places_used(fresh)
    ]
    assert moves, "the demo should have a need that could move onto another line's project"
    line, full = moves[0]
    figures = dict(fresh.figures)
    candidates = dict(figures["candidates"])
    candidates["projects"] = [
        [p, places_used(fresh)[full] if p == full else n, b] for p, n, b in candidates["projects"]
    ]
    fresh.figures = {**figures, "candidates": candidates}
    with pytest.raises(Conflict, match="名额"):
        change_line(db, get_user(db, "ca_conghua"), fresh.id, line.id, full)


def test_new_weights_solve_the_same_needs_again(db: Session) -> None:
    plan = plan_for(db)
    needs = plan.figures["needs"]
    set_weights(db, get_user(db, "ca_conghua"), plan.id, {"urgent": 5})
    assert plan.weights["urgent"] == 5
    assert plan.weights["priority_group"] == 0.5  # the rest kept
    assert plan.figures["needs"] == needs
    assert plan.objective == pytest.approx(sum(x.benefit for x in plan.lines))
    with pytest.raises(ValidationFailed) as refused:
        set_weights(db, get_user(db, "ca_conghua"), plan.id, {"urgent": 11})
    assert "weights.urgent" in refused.value.fields


def test_a_plan_is_the_offices_own(db: Session) -> None:
    plan = plan_for(db)
    with pytest.raises(NotFound):
        get_plan(db, get_user(db, "ca_ruyuan"), plan.id)
    with pytest.raises(Forbidden):
        create_plan(db, get_user(db, "ca_ruyuan"), CONGHUA, None, now=NOW)
    with pytest.raises(Forbidden):
        create_plan(db, get_user(db, "station_a"), WENQUAN, None, now=NOW)
    with pytest.raises(ValidationFailed) as refused:
        create_plan(db, get_user(db, "ca_conghua"), "440117103217", None, now=NOW)  # a village
    assert "region_code" in refused.value.fields


def test_a_township_plan_covers_only_its_needs(db: Session) -> None:
    plan = create_plan(db, get_user(db, "ca_conghua"), WENQUAN, None, now=NOW)
    needs = db.scalars(sa.select(Need).where(Need.id.in_([x.need_id for x in plan.lines]))).all()
    assert needs and all(n.household.region_code.startswith("440117103") for n in needs)
    assert list(plan.figures["townships"]) == [WENQUAN]
    assert np.isfinite(plan.objective)
