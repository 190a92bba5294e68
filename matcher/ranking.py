"""Rank the projects of an index for one need: rules first, then the score, with reasons."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .index import ProjectIndex, need_text
from .reasons import Reason
from .records import NeedRecord, ProjectRecord
from .rules import RULES, check, reason
from .scoring import FEATURES, LOW_MATCH_THRESHOLD, WeightedModel, features, reasons
from .thesaurus import concepts


class Model(Protocol):
    name: str
    kind: str

    def score(self, matrix: np.ndarray) -> np.ndarray: ...

    def contributions(self, row: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Match:
    project: ProjectRecord
    score: float
    reasons: list[Reason]
    low_match: bool
    features: dict[str, float]


@dataclass(frozen=True)
class Exclusion:
    project: ProjectRecord
    rule: str
    reason: Reason


@dataclass
class Ranking:
    need_id: int | str
    model: str
    items: list[Match]
    candidates: int
    excluded: list[Exclusion] = field(default_factory=list)
    excluded_count: int = 0

    @property
    def nothing_suitable(self) -> bool:
        """No eligible project, or only weak ones: the page suggests other help instead."""
        return not self.items or all(item.low_match for item in self.items)


def rank(
    index: ProjectIndex,
    need: NeedRecord,
    today: dt.date,
    *,
    limit: int = 10,
    explain: bool = False,
    model: Model | None = None,
) -> Ranking:
    """The eligible projects for ``need``, best first, each with its reasons.

    With ``explain`` the excluded projects come too, each with the rule it failed.
    """
    model = model or WeightedModel()
    eligibility = check(index, need, today)
    positions = np.flatnonzero(eligibility.eligible)
    text = index.text_similarity(need) if len(positions) else np.zeros(len(index))
    matrix = features(index, need, positions, eligibility.locality, text, today)
    scores = model.score(matrix) if len(positions) else np.zeros(0)
    # Equal scores go by project id, not by place in the index: projects are loaded in no
    # promised order, and the same need must rank the same way after every rebuild. Scores
    # are compared rounded, as a matrix product may round the last bit differently by row.
    order = np.lexsort((index.id_rank[positions], -np.round(scores, 9)))[:limit]
    items = []
    need_concepts = concepts(need_text(need)) if len(order) else []
    for i in order:
        position = int(positions[i])
        row = matrix[i]
        why = reasons(index, need, position, row, model.contributions(row), need_concepts)
        items.append(
            Match(
                project=index.projects[position],
                score=float(scores[i]),
                reasons=why,
                low_match=bool(scores[i] < LOW_MATCH_THRESHOLD),
                features=dict(zip(FEATURES, (float(v) for v in row), strict=True)),
            )
        )
    excluded_positions = np.flatnonzero(~eligibility.eligible)
    ranking = Ranking(
        need_id=need.id,
        model=model.name,
        items=items,
        candidates=len(positions),
        excluded_count=len(excluded_positions),
    )
    if explain:
        for position in excluded_positions.tolist():
            rule = RULES[int(eligibility.failed[position])]
            ranking.excluded.append(
                Exclusion(index.projects[int(position)], rule,
                          reason(rule, index, int(position), today))
            )  # fmt: skip
    return ranking
