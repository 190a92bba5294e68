"""Joint allocation of scarce places (联合分配): which project takes each open need.

First come first served gives the last place to whoever asks first, whatever the urgency.
An allocation plan instead maximises, over all of a region's open needs at once,

    Σ match score × priority weight

subject to each project's remaining places and budget, at most one line per need, and only
the options the hard rules allow (the caller passes no others). The weight of a line adds,
to 1, a term for an urgent (急难) need, one for a household in one of the guidance's
priority groups, one for days waiting (full at :data:`WAITING_FULL_DAYS`) and one for the
share of the need's remaining gap the line covers. A *township floor* makes sure no
township with a servable need is left out entirely: each township's first line earns a
bonus larger than every possible benefit together, so the floors are met first whenever
the places allow and the benefit is maximised among the plans that meet them.

Solved exactly with SciPy's HiGHS (already installed with scikit-learn, maintained, and
both an LP and a MILP solver behind one interface). Without budgets the problem is a
min-cost flow — source → township → need → project → sink — whose constraint matrix is
totally unimodular, so the simplex's vertex solution is integral and the LP *is* the
assignment. Money is a side constraint that breaks that structure: only when the flow
solution overspends some project's budget is the problem solved again as a MILP with
those projects' budget rows, to optimality.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from scipy import optimize, sparse

#: Days waiting at which the waiting term reaches its full weight.
WAITING_FULL_DAYS = 90


@dataclass(frozen=True)
class Weights:
    """The priority weights an office sees and may change (each term is added to 1)."""

    urgent: float = 1.0
    priority_group: float = 0.5
    waiting: float = 0.5
    gap_share: float = 0.5
    township_floor: bool = True

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> Weights:
        """Weights from ``values`` (missing keys keep their defaults); a number out of
        0–10 or an unknown key is a ``ValueError`` naming it."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown weight: {', '.join(unknown)}")
        for name, value in values.items():
            if name == "township_floor":
                if not isinstance(value, bool):
                    raise ValueError("township_floor must be true or false")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
            elif not 0 <= value <= 10:
                raise ValueError(f"{name} must be between 0 and 10")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PlanNeed:
    """An open need as the plan weighs it. ``order`` sorts needs first come first."""

    need_id: int
    township: str
    urgent: bool
    priority_group: bool
    days_waiting: int
    remaining_gap_fen: int | None
    order: tuple[Any, ...] = ()


@dataclass(frozen=True)
class PlanOption:
    """A project the hard rules allow for a need, its match score (0–1) and the money a
    line would hold of the project's budget."""

    need_id: int
    project_id: int
    score: float
    amount_fen: int = 0


@dataclass(frozen=True)
class PlanProject:
    """What is left of a project: places, and money (``None``: no budget limit)."""

    project_id: int
    places: int
    budget_fen: int | None = None


@dataclass(frozen=True)
class PlanLine:
    need_id: int
    project_id: int
    score: float
    weight: float
    benefit: float
    amount_fen: int


@dataclass(frozen=True)
class Allocation:
    lines: tuple[PlanLine, ...]
    objective: float
    #: ``lp`` (the flow solution was within every budget), ``milp`` or ``fcfs``.
    method: str
    seconds: float

    def places_used(self) -> dict[int, int]:
        used: dict[int, int] = defaultdict(int)
        for line in self.lines:
            used[line.project_id] += 1
        return dict(used)

    def amount_used(self) -> dict[int, int]:
        used: dict[int, int] = defaultdict(int)
        for line in self.lines:
            used[line.project_id] += line.amount_fen
        return dict(used)


def weight_of(need: PlanNeed, option: PlanOption, weights: Weights) -> float:
    """1 plus the need's urgency, priority-group, waiting and gap-share terms."""
    waiting = min(max(need.days_waiting, 0) / WAITING_FULL_DAYS, 1.0)
    # No amount asked: a service or goods meets the need as asked.
    gap = need.remaining_gap_fen
    share = min(option.amount_fen / gap, 1.0) if gap else 1.0
    return (
        1.0
        + weights.urgent * need.urgent
        + weights.priority_group * need.priority_group
        + weights.waiting * waiting
        + weights.gap_share * share
    )


def _line(need: PlanNeed, option: PlanOption, weights: Weights) -> PlanLine:
    weight = weight_of(need, option, weights)
    return PlanLine(
        need.need_id,
        option.project_id,
        option.score,
        round(weight, 6),
        round(option.score * weight, 6),
        option.amount_fen,
    )


def _usable(
    needs: Sequence[PlanNeed], options: Iterable[PlanOption], projects: Sequence[PlanProject]
) -> tuple[dict[int, PlanNeed], dict[int, PlanProject], list[PlanOption]]:
    by_need = {n.need_id: n for n in needs}
    by_project = {p.project_id: p for p in projects if p.places > 0}
    usable = [
        o
        for o in options
        if o.need_id in by_need
        and o.project_id in by_project
        and o.score > 0
        and (by_project[o.project_id].budget_fen is None
             or o.amount_fen <= by_project[o.project_id].budget_fen)  # type: ignore[operator]
    ]  # fmt: skip
    return by_need, by_project, usable


def solve(
    needs: Sequence[PlanNeed],
    options: Iterable[PlanOption],
    projects: Sequence[PlanProject],
    weights: Weights | None = None,
    *,
    time_limit: float = 120.0,
) -> Allocation:
    """The plan of greatest total benefit (see the module's description)."""
    started = time.perf_counter()
    weights = weights or Weights()
    by_need, by_project, usable = _usable(needs, options, projects)
    if not usable:
        return Allocation((), 0.0, "lp", time.perf_counter() - started)

    lines = [_line(by_need[o.need_id], o, weights) for o in usable]
    benefit = np.array([line.benefit for line in lines])
    n_x = len(lines)
    need_row = {n: i for i, n in enumerate(sorted({o.need_id for o in usable}))}
    project_ids = sorted({o.project_id for o in usable})
    project_row = {p: i for i, p in enumerate(project_ids)}
    townships = sorted({by_need[n].township for n in need_row})
    township_row = {t: i for i, t in enumerate(townships)}
    n_y = len(townships) if weights.township_floor else 0
    # A township's first line is worth more than every benefit together.
    bonus = float(benefit.sum()) + 1.0

    cols = np.arange(n_x)
    need_of = np.array([need_row[o.need_id] for o in usable])
    project_of = np.array([project_row[o.project_id] for o in usable])
    blocks = [
        sparse.csr_matrix((np.ones(n_x), (need_of, cols)), shape=(len(need_row), n_x + n_y)),
        sparse.csr_matrix((np.ones(n_x), (project_of, cols)), shape=(len(project_ids), n_x + n_y)),
    ]
    upper = [np.ones(len(need_row)), np.array([by_project[p].places for p in project_ids])]
    if n_y:
        # y_t ≤ Σ x over the township's lines  ⇔  y_t − Σ x ≤ 0
        town_of = np.array([township_row[by_need[o.need_id].township] for o in usable])
        rows = np.concatenate([town_of, np.arange(n_y)])
        columns = np.concatenate([cols, n_x + np.arange(n_y)])
        values = np.concatenate([-np.ones(n_x), np.ones(n_y)])
        blocks.append(sparse.csr_matrix((values, (rows, columns)), shape=(n_y, n_x + n_y)))
        upper.append(np.zeros(n_y))
    cost = -np.concatenate([benefit, np.full(n_y, bonus)])

    a_flow = sparse.vstack(blocks, format="csr")
    b_flow = np.concatenate(upper).astype(float)
    result = optimize.linprog(cost, A_ub=a_flow, b_ub=b_flow, bounds=(0, 1), method="highs-ds")
    if result.status != 0:  # pragma: no cover - a bounded, feasible LP (x = 0 fits)
        raise RuntimeError(f"allocation LP failed: {result.message}")
    x = np.rint(result.x[:n_x]).astype(bool)
    method = "lp"

    amounts = np.array([o.amount_fen for o in usable], dtype=float)
    overspent = _overspent(x, amounts, project_of, project_ids, by_project)
    if overspent:
        x = _solve_with_budgets(
            cost, a_flow, b_flow, amounts, project_of, project_ids, by_project, n_x, time_limit
        )
        method = "milp"
    chosen = tuple(line for line, take in zip(lines, x, strict=True) if take)
    return Allocation(
        chosen, round(float(benefit[x].sum()), 6), method, time.perf_counter() - started
    )


def _overspent(
    x: np.ndarray,
    amounts: np.ndarray,
    project_of: np.ndarray,
    project_ids: list[int],
    by_project: dict[int, PlanProject],
) -> list[int]:
    spent = np.bincount(project_of[x], weights=amounts[x], minlength=len(project_ids))
    return [
        i
        for i, p in enumerate(project_ids)
        if by_project[p].budget_fen is not None and spent[i] > by_project[p].budget_fen
    ]


def _solve_with_budgets(
    cost: np.ndarray,
    a_flow: sparse.csr_matrix,
    b_flow: np.ndarray,
    amounts: np.ndarray,
    project_of: np.ndarray,
    project_ids: list[int],
    by_project: dict[int, PlanProject],
    n_x: int,
    time_limit: float,
) -> np.ndarray:
    """The same problem with a budget row for each project whose money could run out
    before its places do, as a MILP over the line variables."""
    n = len(cost)
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    limits: list[float] = []
    for i, p in enumerate(project_ids):
        budget = by_project[p].budget_fen
        if budget is None:
            continue
        mine = np.flatnonzero(project_of == i)
        top = np.sort(amounts[mine])[::-1][: by_project[p].places]
        if top.sum() <= budget:  # even its dearest lines fit: the budget cannot bind
            continue
        row = len(limits)
        rows.extend([row] * len(mine))
        cols.extend(mine.tolist())
        values.extend(amounts[mine].tolist())
        limits.append(float(budget))
    a_budget = sparse.csr_matrix((values, (rows, cols)), shape=(len(limits), n))
    constraints = [
        optimize.LinearConstraint(a_flow, -np.inf, b_flow),
        optimize.LinearConstraint(a_budget, -np.inf, np.array(limits)),
    ]
    integrality = np.ones(n)
    result = optimize.milp(
        cost,
        constraints=constraints,
        integrality=integrality,
        bounds=optimize.Bounds(0, 1),
        options={"time_limit": time_limit},
    )
    if result.x is None:  # pragma: no cover - x = 0 is always feasible
        raise RuntimeError(f"allocation MILP failed: {result.message}")
    return np.rint(result.x[:n_x]).astype(bool)


def first_come_first_served(
    needs: Sequence[PlanNeed],
    options: Iterable[PlanOption],
    projects: Sequence[PlanProject],
    weights: Weights | None = None,
) -> Allocation:
    """What the same needs would get one at a time in the order they were recorded, each
    taking its best-scored project that still has a place and the money."""
    started = time.perf_counter()
    weights = weights or Weights()
    by_need, by_project, usable = _usable(needs, options, projects)
    places = {p: project.places for p, project in by_project.items()}
    money = {p: project.budget_fen for p, project in by_project.items()}
    per_need: dict[int, list[PlanOption]] = defaultdict(list)
    for option in usable:
        per_need[option.need_id].append(option)
    chosen = []
    for need in sorted(needs, key=lambda n: (n.order, n.need_id)):
        for option in sorted(per_need.get(need.need_id, ()), key=lambda o: -o.score):
            budget = money[option.project_id]
            if places[option.project_id] > 0 and (budget is None or option.amount_fen <= budget):
                places[option.project_id] -= 1
                if budget is not None:
                    money[option.project_id] = budget - option.amount_fen
                chosen.append(_line(need, option, weights))
                break
    objective = round(sum(line.benefit for line in chosen), 6)
    return Allocation(tuple(chosen), objective, "fcfs", time.perf_counter() - started)


def compare(plan: Allocation, fcfs: Allocation, needs: Sequence[PlanNeed]) -> dict[str, Any]:
    """The figures shown beside a plan: total weighted benefit, lines, urgent and
    priority-group needs served, and each township's needs served, by both ways."""
    served = {"plan": {line.need_id for line in plan.lines},
              "fcfs": {line.need_id for line in fcfs.lines}}  # fmt: skip

    def count(which: str, keep: Iterable[PlanNeed]) -> int:
        return sum(1 for n in keep if n.need_id in served[which])

    urgent = [n for n in needs if n.urgent]
    grouped = [n for n in needs if n.priority_group]
    by_township: dict[str, list[PlanNeed]] = defaultdict(list)
    for need in needs:
        by_township[need.township].append(need)
    return {
        "objective": plan.objective,
        "fcfs_objective": fcfs.objective,
        "needs": len(needs),
        "lines": len(plan.lines),
        "fcfs_lines": len(fcfs.lines),
        "urgent": {"needs": len(urgent), "plan": count("plan", urgent),
                   "fcfs": count("fcfs", urgent)},
        "priority_group": {"needs": len(grouped), "plan": count("plan", grouped),
                           "fcfs": count("fcfs", grouped)},
        "townships": {
            code: {"needs": len(group), "plan": count("plan", group),
                   "fcfs": count("fcfs", group)}
            for code, group in sorted(by_township.items())
        },
    }  # fmt: skip
