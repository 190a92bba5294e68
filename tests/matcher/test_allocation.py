"""The allocation solver on examples small enough to check by hand."""

from __future__ import annotations

import itertools

import pytest

from matcher.allocation import (
    PlanNeed,
    PlanOption,
    PlanProject,
    Weights,
    compare,
    first_come_first_served,
    solve,
    weight_of,
)

TOWN_A, TOWN_B = "440117103000", "440117107000"  # 温泉镇, 吕田镇


def need(need_id: int, *, urgent: bool = False, group: bool = False, town: str = TOWN_A,
         days: int = 0, gap: int | None = None) -> PlanNeed:  # fmt: skip
    return PlanNeed(need_id, town, urgent, group, days, gap, order=(need_id,))


def test_the_optimum_serves_the_urgent_priority_need_that_first_come_leaves_out() -> None:
    # Three needs for one project with two places. By hand, with the default weights (urgent
    # +1, priority group +0.5, no waiting, no money asked so the gap share term is +0.5):
    #   need 1 (first recorded):   0.8 × 1.5 = 1.20
    #   need 2:                    0.7 × 1.5 = 1.05
    #   need 3 (urgent, 残疾人):   0.6 × 3.0 = 1.80
    # First come first served gives the places to 1 and 2 (2.25); the optimum to 1 and 3 (3.00).
    needs = [need(1), need(2), need(3, urgent=True, group=True)]
    options = [PlanOption(1, 10, 0.8), PlanOption(2, 10, 0.7), PlanOption(3, 10, 0.6)]
    projects = [PlanProject(10, places=2)]

    plan = solve(needs, options, projects, Weights())
    fcfs = first_come_first_served(needs, options, projects, Weights())

    assert {line.need_id for line in plan.lines} == {1, 3}
    assert plan.objective == pytest.approx(3.0)
    assert {line.need_id for line in fcfs.lines} == {1, 2}
    assert fcfs.objective == pytest.approx(2.25)
    figures = compare(plan, fcfs, needs)
    assert figures["urgent"] == {"needs": 1, "plan": 1, "fcfs": 0}
    assert figures["priority_group"] == {"needs": 1, "plan": 1, "fcfs": 0}
    assert plan.places_used() == {10: 2}


def test_without_the_urgency_weight_the_plan_goes_back_to_the_best_scores() -> None:
    needs = [need(1), need(2), need(3, urgent=True, group=True)]
    options = [PlanOption(1, 10, 0.8), PlanOption(2, 10, 0.7), PlanOption(3, 10, 0.6)]
    weights = Weights(urgent=0, priority_group=0)
    plan = solve(needs, options, [PlanProject(10, places=2)], weights)
    assert {line.need_id for line in plan.lines} == {1, 2}


def brute_force(
    needs: list[PlanNeed], options: list[PlanOption], projects: list[PlanProject], weights: Weights
) -> float:
    """The best total over every way of giving each need one option or none."""
    per_need = {n.need_id: [None] + [o for o in options if o.need_id == n.need_id] for n in needs}
    by_need = {n.need_id: n for n in needs}
    places = {p.project_id: p for p in projects}
    best = 0.0
    for choice in itertools.product(*per_need.values()):
        chosen = [o for o in choice if o is not None]
        used: dict[int, list[PlanOption]] = {}
        for o in chosen:
            used.setdefault(o.project_id, []).append(o)
        if any(len(v) > places[k].places for k, v in used.items()):
            continue
        budgets = {k: places[k].budget_fen for k in used}
        if any(
            b is not None and sum(o.amount_fen for o in used[k]) > b for k, b in budgets.items()
        ):
            continue
        total = sum(o.score * weight_of(by_need[o.need_id], o, weights) for o in chosen)
        best = max(best, total)
    return best


def test_budgets_hold_and_the_milp_reaches_the_brute_force_optimum() -> None:
    # Project 10 has three places but money for two households' 3,000 元 each; project 11 gives
    # services (no money) with one place.
    needs = [need(1, gap=300_000), need(2, gap=300_000, urgent=True), need(3, gap=300_000),
             need(4, group=True)]  # fmt: skip
    options = [
        PlanOption(1, 10, 0.9, 300_000), PlanOption(2, 10, 0.5, 300_000),
        PlanOption(3, 10, 0.8, 300_000), PlanOption(4, 11, 0.7), PlanOption(3, 11, 0.6),
        PlanOption(2, 11, 0.4),
    ]  # fmt: skip
    projects = [PlanProject(10, places=3, budget_fen=600_000), PlanProject(11, places=1)]
    weights = Weights()
    plan = solve(needs, options, projects, weights)
    assert plan.method == "milp"
    assert plan.amount_used().get(10, 0) <= 600_000
    assert all(plan.places_used().get(p.project_id, 0) <= p.places for p in projects)
    assert len({line.need_id for line in plan.lines}) == len(plan.lines)
    assert plan.objective == pytest.approx(brute_force(needs, options, projects, weights), abs=1e-6)


def test_the_township_floor_keeps_a_township_from_being_left_out() -> None:
    # Two places; 温泉镇's needs all score better, but 吕田镇 has one servable need.
    needs = [need(1), need(2), need(3, town=TOWN_B)]
    options = [PlanOption(1, 10, 0.9), PlanOption(2, 10, 0.85), PlanOption(3, 10, 0.3)]
    projects = [PlanProject(10, places=2)]
    with_floor = solve(needs, options, projects, Weights(township_floor=True))
    without = solve(needs, options, projects, Weights(township_floor=False))
    assert {line.need_id for line in with_floor.lines} == {1, 3}
    assert {line.need_id for line in without.lines} == {1, 2}


def test_only_the_options_given_are_used_and_no_project_runs_over() -> None:
    # The caller passes only what the hard rules allow: a need with no option stays unplaced
    # even though places are left.
    needs = [need(1), need(2), need(3)]
    options = [PlanOption(1, 10, 0.5), PlanOption(2, 10, 0.6), PlanOption(2, 11, 0.4)]
    projects = [PlanProject(10, places=1), PlanProject(11, places=5)]
    plan = solve(needs, options, projects, Weights())
    # 1 → 10 (0.5 × 1.5) and 2 → 11 (0.4 × 1.5) make 1.35, more than 2 → 10 alone (0.9).
    assert {(line.need_id, line.project_id) for line in plan.lines} == {(1, 10), (2, 11)}
    allowed = {(o.need_id, o.project_id) for o in options}
    assert all((line.need_id, line.project_id) in allowed for line in plan.lines)
    assert plan.places_used()[10] == 1
    assert 3 not in {line.need_id for line in plan.lines}
    assert plan.objective == pytest.approx(brute_force(needs, options, projects, Weights()))


@pytest.mark.parametrize(
    ("values", "message"),
    [({"urgent": 11}, "between 0 and 10"), ({"speed": 1}, "unknown weight: speed"),
     ({"waiting": "a"}, "must be a number"), ({"township_floor": 1}, "true or false")],
)  # fmt: skip
def test_a_bad_weight_is_refused_by_name(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Weights.from_mapping(values)
