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

Solved exactly with HiGHS (through SciPy, installed with scikit-learn, and its own
``highspy``): maintained, and both an LP and a MILP solver. Without budgets the problem is
a min-cost flow — source → township → need → project → sink — whose constraint matrix is
totally unimodular, so the simplex's vertex solution is integral and the LP *is* the
assignment (about 0.2 s for a county's 50,000 candidate lines). Money is a side constraint
that breaks that structure: when the flow overspends some projects' budgets, their budget
rows are added (only theirs, and again for any the next solution overspends) and the
problem is solved as a MILP in which only those projects' lines are integer, to
optimality (HiGHS's default 0.01 % gap); the rest is polished back to a 0/1 vertex.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import highspy
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


@dataclass
class _Problem:
    """The options as rows and columns: one column per option; rows per need, project
    and township."""

    benefit: np.ndarray
    amounts: np.ndarray
    need_of: np.ndarray
    project_of: np.ndarray
    town_of: np.ndarray
    places: np.ndarray
    budgets: list[int | None]
    n_needs: int
    n_towns: int

    def incidence(self, of: np.ndarray, rows: int, width: int, sign: float = 1.0) -> Any:
        n = len(self.benefit)
        return sparse.csr_matrix((np.full(n, sign), (of, np.arange(n))), shape=(rows, width))

    def flow_rows(self, width: int) -> tuple[list[Any], list[np.ndarray]]:
        """At most one line per need, and no more lines than places per project."""
        return (
            [self.incidence(self.need_of, self.n_needs, width),
             self.incidence(self.project_of, len(self.places), width)],
            [np.ones(self.n_needs), self.places.astype(float)],
        )  # fmt: skip

    def binding_budgets(self, among: set[int]) -> list[tuple[int, np.ndarray, float]]:
        """(project row, its columns, budget) for each project of ``among`` whose money
        could run out before its places do."""
        found = []
        for i, budget in enumerate(self.budgets):
            if budget is None or i not in among:
                continue
            mine = np.flatnonzero(self.project_of == i)
            dearest = np.sort(self.amounts[mine])[::-1][: int(self.places[i])]
            if dearest.sum() > budget:
                found.append((i, mine, float(budget)))
        return found


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
    need_row = {n: i for i, n in enumerate(sorted({o.need_id for o in usable}))}
    project_ids = sorted({o.project_id for o in usable})
    project_row = {p: i for i, p in enumerate(project_ids)}
    township_row = {t: i for i, t in enumerate(sorted({by_need[n].township for n in need_row}))}
    problem = _Problem(
        benefit=np.array([line.benefit for line in lines]),
        amounts=np.array([o.amount_fen for o in usable], dtype=float),
        need_of=np.array([need_row[o.need_id] for o in usable]),
        project_of=np.array([project_row[o.project_id] for o in usable]),
        town_of=np.array([township_row[by_need[o.need_id].township] for o in usable]),
        places=np.array([by_project[p].places for p in project_ids]),
        budgets=[by_project[p].budget_fen for p in project_ids],
        n_needs=len(need_row),
        n_towns=len(township_row),
    )
    x, floored = _flow(problem, weights.township_floor)
    method = "lp"
    # Budget rows are added only for projects a solution overspends, until none does.
    watched: set[int] = set()
    while overspent := _overspent(problem, x) - watched:
        # Once money binds anywhere, every budget that could run out is stated at once:
        # one MILP a little larger instead of one round per project the last one overspent.
        watched |= overspent | {i for i, b in enumerate(problem.budgets) if b is not None}
        x = _with_budgets(problem, floored, watched, time_limit)
        method = "milp"
    chosen = tuple(line for line, take in zip(lines, x, strict=True) if take)
    return Allocation(
        chosen, round(float(problem.benefit[x].sum()), 6), method, time.perf_counter() - started
    )


def _flow(problem: _Problem, floor: bool) -> tuple[np.ndarray, np.ndarray]:
    """The optimum without budgets, and the townships whose floor it meets.

    The floor is a bonus variable per township, y ≤ Σ x over its lines and y ≤ 1, worth
    more than every benefit together; the rows stay those of a network (needs nest in
    townships, projects partition the lines), so the simplex's vertex is 0/1.
    """
    n_x = len(problem.benefit)
    n_y = problem.n_towns if floor else 0
    blocks, upper = problem.flow_rows(n_x + n_y)
    if n_y:  # y_t − Σ x ≤ 0
        towns = problem.incidence(problem.town_of, n_y, n_x + n_y, sign=-1.0).tolil()
        towns[np.arange(n_y), n_x + np.arange(n_y)] = 1.0
        blocks.append(towns.tocsr())
        upper.append(np.zeros(n_y))
    bonus = float(problem.benefit.sum()) + 1.0
    cost = -np.concatenate([problem.benefit, np.full(n_y, bonus)])
    result = optimize.linprog(
        cost, A_ub=sparse.vstack(blocks, format="csr"), b_ub=np.concatenate(upper),
        bounds=(0, 1), method="highs-ds",
    )  # fmt: skip
    if result.status != 0:  # pragma: no cover - bounded, and x = 0 is feasible
        raise RuntimeError(f"allocation LP failed: {result.message}")
    x = np.rint(result.x[:n_x]).astype(bool)
    floored = np.unique(problem.town_of[x]) if n_y else np.array([], dtype=int)
    return x, floored


def _overspent(problem: _Problem, x: np.ndarray) -> set[int]:
    """The project rows whose budget the lines ``x`` exceed."""
    spent = np.bincount(
        problem.project_of[x], weights=problem.amounts[x], minlength=len(problem.places)
    )
    return {i for i, b in enumerate(problem.budgets) if b is not None and spent[i] > b}


def _with_budgets(
    problem: _Problem, floored: np.ndarray, watched: set[int], time_limit: float
) -> np.ndarray:
    """The optimum within every budget, keeping the floors the flow met.

    A MILP, but only the lines of projects whose budget can bind are integer: once those
    are fixed, what is left is again a network, so the remaining lines are solved as an LP
    whose vertex is 0/1. Floors become rows (Σ x ≥ 1 per floored township), so the MILP's
    gap is measured on the benefit alone.
    """
    n_x = len(problem.benefit)
    blocks, upper = problem.flow_rows(n_x)
    lower = [np.full(len(u), -np.inf) for u in upper]
    if len(floored):
        towns = problem.incidence(problem.town_of, problem.n_towns, n_x)[floored]
        blocks.append(towns)
        upper.append(np.full(len(floored), np.inf))
        lower.append(np.ones(len(floored)))
    binding = problem.binding_budgets(watched)
    integral = np.zeros(n_x)
    if binding:
        rows = np.concatenate([np.full(len(cols), r) for r, (_, cols, _) in enumerate(binding)])
        cols = np.concatenate([cols for _, cols, _ in binding])
        # Each row as shares of its budget (Σ amount / budget ≤ 1): money in fen would put
        # coefficients of millions beside the ones of the other rows.
        share = problem.amounts[cols] / np.concatenate([np.full(len(c), b) for _, c, b in binding])
        blocks.append(sparse.csr_matrix((share, (rows, cols)), shape=(len(binding), n_x)))
        upper.append(np.ones(len(binding)))
        lower.append(np.full(len(binding), -np.inf))
        integral[cols] = 1
    a = sparse.vstack(blocks, format="csr")
    lo, hi = np.concatenate(lower), np.concatenate(upper)
    solution = _milp(-problem.benefit, a, lo, hi, integral, time_limit)
    if solution is None:  # money leaves some floor unmet: keep the floors as bonuses
        return _with_budgets_and_bonus(problem, watched, time_limit)
    # Fix the integer lines; the rest is a network LP with a 0/1 vertex.
    fixed = integral.astype(bool)
    low = np.where(fixed, np.rint(solution), 0.0)
    high = np.where(fixed, np.rint(solution), 1.0)
    polish = optimize.linprog(
        -problem.benefit, A_ub=sparse.vstack([a, -a], format="csr")[np.isfinite(
            np.concatenate([hi, -lo]))],
        b_ub=np.concatenate([hi, -lo])[np.isfinite(np.concatenate([hi, -lo]))],
        bounds=np.column_stack([low, high]), method="highs-ds",
    )  # fmt: skip
    x = polish.x if polish.status == 0 else solution
    return np.rint(x).astype(bool)


def _with_budgets_and_bonus(problem: _Problem, watched: set[int], time_limit: float) -> np.ndarray:
    """The rare case where money makes some floors impossible together: every line
    integer, floors as bonuses (slower, but the floors met are then the most possible)."""
    n_x = len(problem.benefit)
    n_y = problem.n_towns
    blocks, upper = problem.flow_rows(n_x + n_y)
    towns = problem.incidence(problem.town_of, n_y, n_x + n_y, sign=-1.0).tolil()
    towns[np.arange(n_y), n_x + np.arange(n_y)] = 1.0
    blocks.append(towns.tocsr())
    upper.append(np.zeros(n_y))
    for _, cols, budget in problem.binding_budgets(watched):
        row = sparse.csr_matrix(
            (problem.amounts[cols] / budget, (np.zeros(len(cols), dtype=int), cols)),
            shape=(1, n_x + n_y),
        )
        blocks.append(row)
        upper.append(np.ones(1))
    bonus = float(problem.benefit.sum()) + 1.0
    upper_bounds = np.concatenate(upper)
    solution = _milp(
        -np.concatenate([problem.benefit, np.full(n_y, bonus)]),
        sparse.vstack(blocks, format="csr"),
        np.full(len(upper_bounds), -np.inf),
        upper_bounds,
        np.ones(n_x + n_y),
        time_limit,
    )
    if solution is None:  # pragma: no cover - x = 0 is always feasible
        raise RuntimeError("allocation MILP found no solution")
    return np.rint(solution[:n_x]).astype(bool)


#: HiGHS's root heuristics that search a sub-MIP (RINS, RENS, reduced-cost fixing) take
#: seconds on a county's 50,000 lines, while cuts alone close the gap at the root here.
_MILP_OPTIONS: dict[str, bool | float | str] = {
    "presolve": "off",
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "output_flag": False,
}


def _milp(
    cost: np.ndarray,
    a: Any,
    lower: np.ndarray,
    upper: np.ndarray,
    integral: np.ndarray,
    time_limit: float,
) -> np.ndarray | None:
    """min cost·x with lower ≤ a·x ≤ upper, 0 ≤ x ≤ 1 and ``integral`` columns 0/1, with
    HiGHS through ``highspy`` (SciPy's ``milp`` runs the same solver but cannot set the
    options above); ``None`` when infeasible."""
    matrix = sparse.csc_matrix(a)
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = matrix.shape[1], matrix.shape[0]
    model.col_cost_ = np.asarray(cost, dtype=float)
    model.col_lower_ = np.zeros(matrix.shape[1])
    model.col_upper_ = np.ones(matrix.shape[1])
    model.row_lower_ = np.where(np.isinf(lower), -highspy.kHighsInf, lower)
    model.row_upper_ = np.where(np.isinf(upper), highspy.kHighsInf, upper)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = matrix.indptr
    model.a_matrix_.index_ = matrix.indices
    model.a_matrix_.value_ = matrix.data
    model.integrality_ = [
        highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integral
    ]
    solver = highspy.Highs()
    for name, value in {**_MILP_OPTIONS, "time_limit": float(time_limit)}.items():
        solver.setOptionValue(name, value)
    solver.passModel(model)
    solver.run()
    status = solver.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return None
    if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit):
        raise RuntimeError(f"allocation MILP failed: {solver.modelStatusToString(status)}")
    values = np.array(solver.getSolution().col_value)
    if status == highspy.HighsModelStatus.kTimeLimit and not len(values):  # pragma: no cover
        raise RuntimeError("allocation MILP found no solution in its time limit")
    return values


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
