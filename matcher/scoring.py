"""Features of (need, project) pairs, the transparent weighted score, and reasons in Chinese."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from models.enums import member_groups

from .index import ProjectIndex, bit_mask, project_text
from .reasons import Labels, Names, Param, Reason
from .records import NeedRecord
from .thesaurus import concepts
from .vocabulary import (
    DOMAIN_LABELS,
    DOMAINS,
    GROUP_LABELS,
    LOCALITY,
    LOCALITY_LABELS,
    PRIORITY,
    TARGET_GROUPS,
)

FEATURES = (
    "text",
    "domain",
    "groups",
    "locality",
    "coverage",
    "urgent_simplified",
    "quota",
    "acceptance",
    "time_left",
)

#: The transparent model's weights (they sum to 1, so scores lie in [0, 1]).
DEFAULT_WEIGHTS: dict[str, float] = {
    "text": 0.20,
    "domain": 0.26,
    "groups": 0.13,
    "locality": 0.18,
    "coverage": 0.15,
    "urgent_simplified": 0.04,
    "quota": 0.02,
    "acceptance": 0.01,
    "time_left": 0.01,
}

_LOCALITY_LOOKUP = np.array([LOCALITY.get(n, 0.0) for n in range(13)])

#: Results scoring below this are shown as 低匹配度 (weak matches), not as answers, and a need
#: whose results all are is told 暂无合适. Fitted on ``seed/eval/dev_cases.json`` by
#: ``calibration.fit_low_match_threshold`` (the score at which a result is as likely suitable
#: as not); ``flask matcher calibrate`` fits it again.
LOW_MATCH_THRESHOLD = 0.545

#: Cosine similarity treated as "as similar as texts get" for the text feature.
TEXT_SATURATION = 0.35


def household_groups(need: NeedRecord) -> set[str]:
    """The target groups of the member the need concerns (or of the household as a whole)."""
    groups: set[str] = set()
    for m in need.subjects:
        groups |= member_groups(
            m.age, m.self_care, m.disability_type, m.illness_kind, m.school_stage
        )
    return groups


def features(
    index: ProjectIndex,
    need: NeedRecord,
    positions: np.ndarray,
    locality: np.ndarray,
    text: np.ndarray,
    today: dt.date,
) -> np.ndarray:
    """The feature matrix (len(positions) × len(FEATURES)), each feature in [0, 1]."""
    k = len(positions)
    out = np.zeros((k, len(FEATURES)), dtype=np.float64)
    if k == 0:
        return out
    out[:, 0] = np.minimum(1.0, text[positions] / TEXT_SATURATION)
    if need.domain in DOMAINS:
        out[:, 1] = (index.domains_bits[positions] & bit_mask([DOMAINS.index(need.domain)])) != 0
    groups = household_groups(need)
    project_groups = index.groups_bits[positions]
    has_groups = project_groups != 0
    # A project aimed at one of the guidance's priority groups the household belongs to fits
    # better than one aimed at a broad group (elderly, students) it also belongs to.
    priority = [TARGET_GROUPS.index(g) for g in groups if g in PRIORITY]
    broad = [TARGET_GROUPS.index(g) for g in groups if g in TARGET_GROUPS and g not in PRIORITY]
    hits_priority = (project_groups & bit_mask(priority)) != 0
    hits_broad = (project_groups & bit_mask(broad)) != 0
    overlap = np.where(hits_priority, 1.0, np.where(hits_broad, 0.6, 0.0))
    out[:, 2] = np.where(has_groups, overlap, 0.4)
    out[:, 3] = _LOCALITY_LOOKUP[locality[positions]]
    amount = index.amount[positions]
    gap = need.amount_gap_fen or 0
    if gap > 0:
        # A money gap is covered by money: a pure service covers none of it.
        missing = np.isnan(amount)
        out[:, 4] = np.where(missing, 0.0, np.minimum(1.0, np.where(missing, 0.0, amount) / gap))
    else:
        out[:, 4] = 0.5
    if need.urgency == "urgent":
        out[:, 5] = index.simplified[positions]
    quota = np.maximum(index.quota[positions], 1)
    # np.minimum(np.maximum(...)) is np.clip without its per-call checks.
    out[:, 6] = np.minimum(np.maximum(index.quota_left[positions] / quota, 0), 1)
    out[:, 7] = index.acceptance[positions]
    days = index.ends[positions] - today.toordinal()
    out[:, 8] = np.minimum(np.maximum(days / 180.0, 0), 1)
    return out


#: A learned model's name: ``logistic-<its number among the models trained>-<day trained>``.
_LEARNED_NAME = re.compile(r"logistic-(?P<number>\d+)-(?P<day>\d{8})")
#: The hand-set weights' name: ``weighted-v<version>``.
_WEIGHTED_NAME = re.compile(r"weighted-v(?P<version>\d+)")


def learned_model_name(number: int, day: dt.date) -> str:
    """``logistic-3-20261207``: the third model trained, on 7 December 2026."""
    return f"logistic-{number}-{day:%Y%m%d}"


@dataclass(frozen=True)
class ModelName:
    """What a model's name says: the weights' version, or a learned model's number and the day
    it was trained (None for the weights)."""

    number: int
    trained_on: dt.date | None = None


def read_model_name(name: str) -> ModelName | None:
    """``weighted-v2`` or a :func:`learned_model_name`, read back; None for another name."""
    if found := _WEIGHTED_NAME.fullmatch(name):
        return ModelName(int(found["version"]))
    if found := _LEARNED_NAME.fullmatch(name):
        day = dt.datetime.strptime(found["day"], "%Y%m%d").date()  # noqa: DTZ007 - a date
        return ModelName(int(found["number"]), day)
    return None


class WeightedModel:
    """The transparent model: a weighted sum of the features."""

    kind = "weighted"

    # Referrals keep the model version they were scored with: give the weights a new name
    # whenever they change (v1: text 0.10, before the thesaurus).
    def __init__(self, weights: dict[str, float] | None = None, name: str = "weighted-v2"):
        self.weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        self.vector = np.array([self.weights.get(f, 0.0) for f in FEATURES])
        self.name = name

    def score(self, matrix: np.ndarray) -> np.ndarray:
        return matrix @ self.vector

    def contributions(self, row: np.ndarray) -> np.ndarray:
        return row * self.vector


@dataclass
class LearnedModel:
    """A logistic regression on the features, stored as plain numbers (no pickles)."""

    coef: list[float]
    intercept: float
    name: str = "learned"
    kind: str = "logistic"
    metrics: dict[str, float] = field(default_factory=dict)

    def score(self, matrix: np.ndarray) -> np.ndarray:
        z = matrix @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def contributions(self, row: np.ndarray) -> np.ndarray:
        return row * np.asarray(self.coef)


#: The ledger level of a township's own edition of local resources.
LOCAL_LEDGER_LEVEL = "township"


def shared_concepts(
    index: ProjectIndex, need_concepts: list[str], positions: np.ndarray
) -> list[list[str]]:
    """For each project of ``positions``, the concepts of ``need_concepts`` its text names too,
    in the need's order: read from the stored matrix's concept rows (a weight not zero), one
    look-up per concept for all the projects, not by reading their texts again."""
    if not index.text_t.has_sorted_indices:
        found = [set(concepts(project_text(index.projects[int(p)]))) for p in positions]
        return [[c for c in need_concepts if c in own] for own in found]
    text_t = index.text_t
    offset = len(index.vectorizer.vocabulary_)
    named: dict[str, list[bool]] = {}
    for concept in dict.fromkeys(need_concepts):
        column = index.concept_vectorizer.vocabulary_.get(concept)
        if column is None:
            named[concept] = [False] * len(positions)
            continue
        row = offset + column
        postings = text_t.indices[text_t.indptr[row] : text_t.indptr[row + 1]]
        at = np.minimum(np.searchsorted(postings, positions), max(len(postings) - 1, 0))
        named[concept] = (
            (postings[at] == positions).tolist() if len(postings) else [False] * len(positions)
        )
    return [[c for c in need_concepts if named[c][i]] for i in range(len(positions))]


_ALIKE = Reason("需求描述与项目内容相近")

#: Reasons already put into words, by template and parameter (a Reason is never changed, so
#: results saying the same share one); emptied when it grows past this many.
_SAID_MAX = 4096
_said: dict[tuple[str, str, Param], Reason] = {}


def _say(template: str, name: str, value: Param) -> Reason:
    """``Reason(template, name=value)``, made once."""
    key = (template, name, value)
    found = _said.get(key)
    if found is None:
        if len(_said) >= _SAID_MAX:
            _said.clear()
        found = _said[key] = Reason(template, **{name: value})
    return found


def _text_reason(index: ProjectIndex, shared: list[str]) -> Reason:
    """Name the rarest concepts need and project share, or say only that the texts are alike."""
    if not shared:
        return _ALIKE
    rarity = index.concept_vectorizer.idf_
    place = index.concept_vectorizer.vocabulary_
    shared = sorted(shared, key=lambda c: -rarity[place[c]])
    return _say("需求与项目都涉及%(names)s", "names", Names(shared[:2]))


_AT = {name: i for i, name in enumerate(FEATURES)}
_LOCALITY_LEVELS = tuple(LOCALITY.items())
# Reasons that say the same for every result are made once (a Reason is never changed).
_LOCALITY_REASONS = {level: Reason(label) for level, label in LOCALITY_LABELS.items()}
_SIMPLIFIED = Reason("接受简化程序，适合急难需求")
_ELIGIBLE = Reason("符合项目的帮扶条件")
_LOCAL = Reason("本地资源")


def reasons(
    index: ProjectIndex,
    need: NeedRecord,
    position: int,
    row: np.ndarray,
    contributions: np.ndarray,
    need_concepts: list[str],
    limit: int = 3,
    groups: set[str] | None = None,
    shared: list[str] | None = None,
) -> list[Reason]:
    """The top reasons for a result, in Chinese, strongest first. ``need_concepts`` are the
    thesaurus concepts of the need's text and ``groups`` its :func:`household_groups`, found
    once for all its results; ``shared`` the concepts of the need the project names too
    (:func:`shared_concepts`). ``groups`` or ``shared`` None: found here. Only the reasons
    given are put into words."""
    project = index.projects[position]
    values = row.tolist()
    weights = contributions.tolist()
    said: list[tuple[float, Callable[[], Reason]]] = []
    if values[_AT["domain"]] > 0:
        domain = Labels([DOMAIN_LABELS.get(need.domain, need.domain)])
        said.append((weights[_AT["domain"]],
                     lambda: _say("帮扶领域相符（%(labels)s）", "labels", domain)))  # fmt: skip
    if values[_AT["groups"]] >= 0.6:
        own = household_groups(need) if groups is None else groups
        in_common = [g for g in project.target_groups if g in own]
        in_common.sort(key=lambda g: g not in PRIORITY)
        labels = Labels(GROUP_LABELS.get(g, g) for g in in_common[:2])
        said.append((weights[_AT["groups"]], lambda: _say("面向%(labels)s", "labels", labels)))
    if values[_AT["text"]] >= 0.3:
        if shared is None:
            shared = shared_concepts(index, need_concepts, np.array([position]))[0]
        named = shared
        said.append((weights[_AT["text"]], lambda: _text_reason(index, named)))
    locality = values[_AT["locality"]]
    locality_level = next((n for n, v in _LOCALITY_LEVELS if abs(v - locality) < 1e-9), None)
    if locality_level is not None and locality_level >= 9:
        why = _LOCALITY_REASONS[locality_level]
        said.append((weights[_AT["locality"]], lambda: why))
    gap = need.amount_gap_fen or 0
    if gap > 0 and project.amount_per_beneficiary_fen:
        share = min(100, round(project.amount_per_beneficiary_fen / gap * 100))
        said.append((weights[_AT["coverage"]],
                     lambda: _say("可覆盖缺口的%(share)s%%", "share", share)))  # fmt: skip
    if values[_AT["urgent_simplified"]] > 0:
        said.append((weights[_AT["urgent_simplified"]], lambda: _SIMPLIFIED))
    left = int(index.quota_left[position])  # kept current as places are taken
    if left > 0 and values[_AT["quota"]] >= 0.5:
        said.append((weights[_AT["quota"]],
                     lambda: _say("名额充足（剩余%(left)s个）", "left", left)))  # fmt: skip
    said.sort(key=lambda item: -item[0])
    found = [say() for _, say in said[:limit]] or [_ELIGIBLE]
    if project.ledger_level == LOCAL_LEDGER_LEVEL:
        # Said first, whatever it weighs: the help comes from the township itself.
        found.insert(0, _LOCAL)
    return found
