"""Rank the projects of an index for a need: rules first, then the score, with reasons.

:func:`rank` ranks one need; :func:`match_many` ranks many in one pass and gives each the
same :class:`Ranking` :func:`rank` would: the rules of a place (ledgers, dates, places left,
service area) are checked once per region, the texts turned into vectors together, and the
needs of the same covering ledgers multiplied by those ledgers' columns of the text matrix
alone. Only the results shown get reasons.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy import sparse

from models.regions import supply_ledger_codes

from .index import ProjectIndex, bit_mask, need_text
from .reasons import Reason
from .records import NeedRecord, ProjectRecord
from .rules import RULES, Eligibility, Place, check, passing, reason
from .scoring import (
    FEATURES,
    LOW_MATCH_THRESHOLD,
    WeightedModel,
    features,
    household_groups,
    reasons,
    shared_concepts,
)
from .thesaurus import concepts
from .vectors import similarities
from .vocabulary import DOMAINS

#: From this many needs :func:`match_many` lays the text matrix out once more, one block per
#: ledger (about 50 ms for 30,000 projects), and multiplies each need by the blocks of its
#: covering ledgers alone, not by every project of the province (about 0.5 ms a need).
BLOCKS_MIN_NEEDS = 64


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


@dataclass(frozen=True)
class Scored:
    """One need's eligible projects scored: ``order`` picks the best ``limit`` of them."""

    need: NeedRecord
    eligibility: Eligibility | None  # None when only the eligible projects were found
    excluded_count: int  # projects the hard rules exclude
    positions: np.ndarray  # the eligible projects (those of the need's domain, if asked)
    matrix: np.ndarray  # their features
    scores: np.ndarray
    order: np.ndarray  # into positions, best first


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
    if explain:
        eligibility = check(index, need, today)
        positions = np.flatnonzero(eligibility.eligible)
        locality, excluded = eligibility.locality, None
    else:
        # Which projects pass, without finding the first rule each other one fails.
        place = Place(index, need.household.region_code, today)
        eligibility, positions, locality = None, passing(place, need), place.locality
        excluded = index.live_count() - len(positions)
    text = index.text_similarity(need) if len(positions) else np.zeros(len(index))
    scored = _score(index, need, today, eligibility, locality, positions, text, limit, model,
                    excluded)  # fmt: skip
    return _ranking(index, scored, today, explain, model)


def match_many(
    index: ProjectIndex,
    needs: list[NeedRecord],
    today: dt.date,
    *,
    limit: int = 10,
    explain: bool = False,
    model: Model | None = None,
) -> list[Ranking]:
    """:func:`rank` of each need, in order, in one pass (re-matching after a refresh, the
    candidates of an allocation plan)."""
    model = model or WeightedModel()
    return [_ranking(index, scored, today, explain, model)
            for scored in score_many(index, needs, today, limit=limit, model=model)]  # fmt: skip


def score_many(
    index: ProjectIndex,
    needs: list[NeedRecord],
    today: dt.date,
    *,
    limit: int = 10,
    model: Model | None = None,
    own_domain: bool = False,
) -> list[Scored]:
    """Each need's eligible projects scored, and the best ``limit`` picked, as :func:`rank`
    does; with ``own_domain`` only the projects that help in the need's domain count."""
    model = model or WeightedModel()
    n = len(index)
    live = index.live_count()
    places: dict[str, Place] = {}
    blocks = _LedgerBlocks(index) if len(needs) >= BLOCKS_MIN_NEEDS else None
    vectors = index.need_vectors(needs) if n and needs else None
    found = []
    for row, need in enumerate(needs):
        code = need.household.region_code
        place = places.get(code)
        if place is None:
            place = places[code] = Place(index, code, today)
        positions = passing(place, need)
        excluded = live - len(positions)
        if own_domain:
            positions = positions[(index.domains_bits[positions] & _domain_bit(need)) != 0]
        text = np.zeros(n, dtype=np.float32)
        if len(positions) and vectors is not None:
            if blocks is not None:
                blocks.similarities(code, vectors[row], out=text)
            else:
                text = similarities(index.text_t, vectors[row])[0]
        found.append(_score(index, need, today, None, place.locality, positions, text, limit,
                            model, excluded))  # fmt: skip
    return found


class _LedgerBlocks:
    """The text matrix cut by ledger, each block stored transposed (terms × its projects):
    a need is multiplied by its covering ledgers' blocks only. Each project's sum is of the
    same products in the same order as with the whole matrix."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self.by_project = index.text_t.T.tocsr()
        self.blocks: dict[str, tuple[np.ndarray, sparse.csr_matrix]] = {}

    def similarities(self, region_code: str, vector: sparse.csr_matrix, out: np.ndarray) -> None:
        """Write the need's similarity with each project of its covering ledgers to ``out``."""
        for code in supply_ledger_codes(region_code):
            block = self.blocks.get(code)
            if block is None:
                positions = self.index.ledger_index.get(code)
                if positions is None:
                    continue
                block = self.blocks[code] = (positions, self.by_project[positions].T.tocsr())
            out[block[0]] = similarities(block[1], vector)[0]


def _domain_bit(need: NeedRecord) -> np.uint64:
    return bit_mask([DOMAINS.index(need.domain)] if need.domain in DOMAINS else [])


def _score(
    index: ProjectIndex,
    need: NeedRecord,
    today: dt.date,
    eligibility: Eligibility | None,
    locality: np.ndarray,
    positions: np.ndarray,
    text: np.ndarray,
    limit: int,
    model: Model,
    excluded_count: int | None = None,
) -> Scored:
    matrix = features(index, need, positions, locality, text, today)
    scores = model.score(matrix) if len(positions) else np.zeros(0)
    order = _best(scores, index.id_rank[positions], limit)
    if excluded_count is None:
        assert eligibility is not None
        excluded_count = index.live_count() - int(np.count_nonzero(eligibility.eligible))
    return Scored(need, eligibility, excluded_count, positions, matrix, scores, order)


def _best(scores: np.ndarray, id_rank: np.ndarray, limit: int) -> np.ndarray:
    """The places of the best ``limit`` scores, best first.

    Equal scores go by project id, not by place in the index: projects are loaded in no
    promised order, and the same need must rank the same way after every rebuild. Scores
    are compared rounded, as a matrix product may round the last bit differently by row.
    Only the scores that can be among the best (ties with the last included) are sorted.
    """
    keys = -np.round(scores, 9)
    if 0 < limit < len(keys):
        last = np.partition(keys, limit - 1)[limit - 1]
        within = np.flatnonzero(keys <= last)
        return within[np.lexsort((id_rank[within], keys[within]))][:limit]
    return np.lexsort((id_rank, keys))[:limit]


def _ranking(
    index: ProjectIndex, scored: Scored, today: dt.date, explain: bool, model: Model
) -> Ranking:
    """The ranking of a scored need: reasons for the results shown, and with ``explain``
    the rule each excluded project failed."""
    need, positions, matrix, scores = scored.need, scored.positions, scored.matrix, scored.scores
    items = []
    if len(scored.order):
        need_concepts = concepts(need_text(need))
        groups = household_groups(need)
        shown = positions[scored.order]
        named = shared_concepts(index, need_concepts, shown)
        for i, shared in zip(scored.order, named, strict=True):
            position = int(positions[i])
            row = matrix[i]
            why = reasons(index, need, position, row, model.contributions(row), need_concepts,
                          groups=groups, shared=shared)  # fmt: skip
            items.append(
                Match(
                    project=index.projects[position],
                    score=float(scores[i]),
                    reasons=why,
                    low_match=bool(scores[i] < LOW_MATCH_THRESHOLD),
                    features=dict(zip(FEATURES, row.tolist(), strict=True)),
                )
            )
    ranking = Ranking(
        need_id=need.id,
        model=model.name,
        items=items,
        candidates=len(positions),
        excluded_count=scored.excluded_count,
    )
    if explain:
        eligibility = scored.eligibility or check(index, need, today)
        for position in np.flatnonzero(~eligibility.eligible & index.live).tolist():
            rule = RULES[int(eligibility.failed[position])]
            ranking.excluded.append(
                Exclusion(index.projects[position], rule, reason(rule, index, position, today))
            )
    return ranking
