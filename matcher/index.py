"""The project side, built once per set of ledger editions: arrays, not objects.

Everything a request needs is precomputed here: the TF-IDF matrix of project texts stored
transposed (features × projects, so one need is a sparse row times a matrix), the eligibility
columns as numpy arrays, and an inverted index from service-area prefixes to projects.

A text is represented twice, side by side in one vector: by its character n-grams, and by the
concepts of the thesaurus it speaks of (``thesaurus.py``), so that "洗肾" finds "透析".
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from models.regions import significant_prefix

from .conditions import shipped_catalogue
from .records import NeedRecord, ProjectRecord
from .thesaurus import CONCEPTS, concepts
from .vectors import similarities, tfidf_rows
from .vocabulary import (
    CATEGORIES,
    CATEGORY_LABELS,
    CHILD_STATUSES,
    DISABILITY_LABELS,
    DISABILITY_TYPES,
    DOMAIN_LABELS,
    DOMAINS,
    GROUP_LABELS,
    ILLNESS_KINDS,
    SCHOOL_LABELS,
    SCHOOL_STAGES,
    SELF_CARE_LABELS,
    SERVICE_LABELS,
    SEXES,
    SITUATIONS,
    TARGET_GROUPS,
)

#: The share of text similarity that comes from shared concepts rather than shared characters.
CONCEPT_SHARE = 0.5


def project_text(project: ProjectRecord) -> str:
    labels = [DOMAIN_LABELS.get(d, d) for d in project.domains]
    labels += [GROUP_LABELS.get(g, g) for g in project.target_groups]
    labels += [SERVICE_LABELS.get(s, s) for s in project.service_types]
    return " ".join([project.name, project.description, *labels])


def make_vectorizer() -> TfidfVectorizer:
    # Character n-grams: Chinese needs no word segmenter for this kind of similarity.
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1, dtype=np.float32
    )


def make_concept_vectorizer() -> TfidfVectorizer:
    # A fixed vocabulary: fitting only learns how rare each concept is among the projects.
    return TfidfVectorizer(analyzer=concepts, vocabulary=list(CONCEPTS), dtype=np.float32)


def _flags(values: list[tuple[str, ...]], vocabulary: list[str]) -> np.ndarray:
    position = {code: i for i, code in enumerate(vocabulary)}
    matrix = np.zeros((len(values), len(vocabulary)), dtype=bool)
    for row, codes in enumerate(values):
        for code in codes:
            if code in position:
                matrix[row, position[code]] = True
    return matrix


def _optional(values: list[int | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _bits(flags: np.ndarray) -> np.ndarray:
    """Each row of a projects × codes boolean matrix as one integer (bit i: code i)."""
    if flags.shape[1] > 64:
        raise ValueError("a vocabulary of more than 64 codes does not fit in the bit columns")
    weights = np.left_shift(np.uint64(1), np.arange(flags.shape[1], dtype=np.uint64))
    return (flags * weights).sum(axis=1, dtype=np.uint64)


def bit_mask(codes: list[int]) -> np.uint64:
    """The bits of some codes' positions in their vocabulary, to test a ``*_bits`` column."""
    mask = 0
    for code in codes:
        mask |= 1 << code
    return np.uint64(mask)


def _no_bits() -> np.ndarray:
    return np.zeros(0, dtype=np.uint64)


#: The acceptance of a charity with fewer than three answered referrals.
DEFAULT_ACCEPTANCE = 0.7


@dataclass
class ProjectIndex:
    """Arrays over the projects, in ``projects`` order."""

    projects: list[ProjectRecord]
    vectorizer: TfidfVectorizer
    concept_vectorizer: TfidfVectorizer
    text_t: sparse.csr_matrix  # (n-grams + concepts) × projects
    ledger: np.ndarray  # ledger region code per project (str objects)
    ledger_index: dict[str, np.ndarray]  # ledger region code → project positions
    starts: np.ndarray  # date ordinals
    ends: np.ndarray
    quota_left: np.ndarray
    area_index: dict[str, np.ndarray]  # area code prefix → project positions
    min_age: np.ndarray
    max_age: np.ndarray
    categories: np.ndarray  # projects × categories (bool)
    categories_restricted: np.ndarray
    max_income: np.ndarray
    max_disability_grade: np.ndarray
    illness_kinds: np.ndarray
    illness_restricted: np.ndarray
    school_stages: np.ndarray
    school_restricted: np.ndarray
    sexes: np.ndarray  # projects × sexes (bool)
    sexes_restricted: np.ndarray
    disability_types: np.ndarray  # projects × disability types (bool)
    disability_types_restricted: np.ndarray
    condition_index: dict[str, np.ndarray]  # condition code → projects whose rule covers it
    conditions_restricted: np.ndarray
    child_statuses: np.ndarray  # projects × child statuses (bool)
    child_statuses_restricted: np.ndarray
    situations: np.ndarray  # projects × household situations (bool)
    situations_restricted: np.ndarray
    domains: np.ndarray  # projects × domains (bool)
    groups: np.ndarray  # projects × target groups (bool)
    amount: np.ndarray
    simplified: np.ndarray
    quota: np.ndarray
    acceptance: np.ndarray
    id_rank: np.ndarray  # each project's place in id order, to break equal scores
    ids: np.ndarray  # each project's id, so finding a project reads no record
    #: Verified now. A project withdrawn, ended or full since the build stays in the arrays
    #: but out of every ranking and exclusion list, until it takes offers again.
    live: np.ndarray
    organizations: np.ndarray  # each project's charity, so its acceptance can be refreshed
    key: object = None  # what the index was built from (for cache invalidation)
    # The list columns again as one integer per project, bit i for the vocabulary's code i:
    # a rule then gathers one number per project, not a row of booleans (see ``bit_mask``).
    sexes_bits: np.ndarray = field(default_factory=_no_bits)
    categories_bits: np.ndarray = field(default_factory=_no_bits)
    situations_bits: np.ndarray = field(default_factory=_no_bits)
    disability_types_bits: np.ndarray = field(default_factory=_no_bits)
    illness_kinds_bits: np.ndarray = field(default_factory=_no_bits)
    child_statuses_bits: np.ndarray = field(default_factory=_no_bits)
    school_stages_bits: np.ndarray = field(default_factory=_no_bits)
    domains_bits: np.ndarray = field(default_factory=_no_bits)
    groups_bits: np.ndarray = field(default_factory=_no_bits)

    def __len__(self) -> int:
        return len(self.projects)

    def update_standing(self, standing: Mapping[int, tuple[bool, int, int]]) -> None:
        """Patch some projects in place, id → (verified now, quota, places left): a project
        withdrawn or ended, its quota changed, a place taken or given back changes no text or
        rule, so the index need not be rebuilt (ids not in the index are ignored)."""
        every = self._every_position
        for project_id, (live, quota, left) in standing.items():
            at = every.get(project_id)
            if at is not None:
                self.live[at] = live
                self.quota[at] = quota
                self.quota_left[at] = left

    def update_acceptance(self, rates: Mapping[Any, float]) -> None:
        """Set each project's acceptance to its charity's share of referrals accepted now
        (``DEFAULT_ACCEPTANCE`` for a charity with too few answers): answers come in between
        editions, and the index is built once per edition."""
        charities, at = np.unique(self.organizations, return_inverse=True)
        values = [rates.get(c, DEFAULT_ACCEPTANCE) for c in charities.tolist()]
        self.acceptance[:] = np.array(values, dtype=np.float64)[at]

    def positions(self) -> dict[int | str, int]:
        """Each live project's position, by id."""
        return {pid: at for pid, at in self._every_position.items() if self.live[at]}

    def live_count(self) -> int:
        return int(np.count_nonzero(self.live))

    @functools.cached_property
    def _every_position(self) -> dict[int | str, int]:
        return dict(zip(self.ids.tolist(), range(len(self.ids)), strict=True))

    def need_vector(self, need: NeedRecord) -> sparse.csr_matrix:
        return self.need_vectors([need])

    def need_vectors(self, needs: list[NeedRecord]) -> sparse.csr_matrix:
        """The needs' texts as rows in the projects' text space (``_side_by_side``)."""
        ngram_scale, concept_scale = _scales()
        return tfidf_rows(
            [(self.vectorizer, ngram_scale), (self.concept_vectorizer, concept_scale)],
            [need_text(need) for need in needs],
        )

    def text_similarities(self, needs: list[NeedRecord]) -> np.ndarray:
        """:meth:`text_similarity` of several needs at once (one row each): one sparse
        product for the lot, as an allocation plan scores thousands of needs."""
        if len(self) == 0 or not needs:
            return np.zeros((len(needs), len(self)), dtype=np.float32)
        return similarities(self.text_t, self.need_vectors(needs))

    def text_similarity(self, need: NeedRecord) -> np.ndarray:
        """Cosine similarity of the need's text with every project (one sparse product)."""
        if len(self) == 0:
            return np.zeros(0, dtype=np.float32)
        return similarities(self.text_t, self.need_vector(need))[0]


def need_text(need: NeedRecord) -> str:
    """The need's own words and the household's profile: categories, and the illness,
    disability, care needs and schooling of the people the need concerns."""
    parts = [need.text, DOMAIN_LABELS.get(need.domain, need.domain)]
    parts += [CATEGORY_LABELS.get(c, "") for c in need.household.categories]
    for member in need.subjects:
        if member.illness:
            parts.append(member.illness)
        if member.disability_type:
            parts.append(DISABILITY_LABELS.get(member.disability_type, ""))
        if member.self_care != "independent":
            parts.append(SELF_CARE_LABELS.get(member.self_care, ""))
        if member.school_stage:
            parts.append(SCHOOL_LABELS.get(member.school_stage, ""))
    return " ".join(part for part in parts if part)


def _scales() -> tuple[np.float32, np.float32]:
    """The weights of the n-gram and the concept vectors in ``_side_by_side``."""
    return np.float32(np.sqrt(1 - CONCEPT_SHARE)), np.float32(np.sqrt(CONCEPT_SHARE))


def _side_by_side(ngrams: sparse.spmatrix, concept: sparse.spmatrix) -> sparse.csr_matrix:
    """One row per text: its n-gram and concept vectors (each of unit length) weighted so
    that a dot product is the blend of the two cosines."""
    ngram_scale, concept_scale = _scales()
    return sparse.hstack([ngrams * ngram_scale, concept * concept_scale], format="csr")


def _positions(values: list[str]) -> dict[str, np.ndarray]:
    found: dict[str, list[int]] = {}
    for position, value in enumerate(values):
        found.setdefault(value, []).append(position)
    return {k: np.array(v, dtype=np.int64) for k, v in found.items()}


def _id_rank(projects: list[ProjectRecord]) -> np.ndarray:
    by_id = sorted(range(len(projects)), key=lambda position: projects[position].id)
    ranks = np.empty(len(projects), dtype=np.int64)
    ranks[by_id] = np.arange(len(projects))
    return ranks


def _condition_index(projects: list[ProjectRecord]) -> dict[str, np.ndarray]:
    """For each catalogue code, the projects whose condition rule admits a person with it:
    the rule names the code or one of its ancestors."""
    catalogue = shipped_catalogue()
    covered: dict[str, list[int]] = {}
    for position, project in enumerate(projects):
        codes: set[str] = set()
        for code in project.conditions:
            codes.add(code)
            codes.update(catalogue.descendants(code))
        for code in codes:
            covered.setdefault(code, []).append(position)
    return {k: np.array(v, dtype=np.int64) for k, v in covered.items()}


def _restricted(values: list[tuple[str, ...]]) -> np.ndarray:
    return np.array([bool(v) for v in values], dtype=bool)


def build_index(projects: list[ProjectRecord], key: object = None) -> ProjectIndex:
    """Fit the text model and lay the projects out as arrays (once per set of editions)."""
    vectorizer = make_vectorizer()
    concept_vectorizer = make_concept_vectorizer()
    texts = [project_text(p) for p in projects]
    if projects:
        matrix = _side_by_side(vectorizer.fit_transform(texts),
                               concept_vectorizer.fit_transform(texts))  # fmt: skip
        text_t = matrix.T.tocsr()
    else:
        text_t = sparse.csr_matrix((0, 0), dtype=np.float32)
    area_lists: dict[str, list[int]] = {}
    for position, project in enumerate(projects):
        for code in set(project.service_area):
            prefix = significant_prefix(code)
            area_lists.setdefault(prefix, []).append(position)
    index = ProjectIndex(
        projects=projects,
        vectorizer=vectorizer,
        concept_vectorizer=concept_vectorizer,
        text_t=text_t,
        ledger=np.array([p.ledger_region_code for p in projects], dtype=object),
        ledger_index=_positions([p.ledger_region_code for p in projects]),
        starts=np.array([p.starts_on.toordinal() for p in projects], dtype=np.int64),
        ends=np.array([p.ends_on.toordinal() for p in projects], dtype=np.int64),
        quota_left=np.array([p.quota - p.quota_used for p in projects], dtype=np.int64),
        area_index={k: np.array(v, dtype=np.int64) for k, v in area_lists.items()},
        min_age=_optional([p.min_age for p in projects]),
        max_age=_optional([p.max_age for p in projects]),
        categories=_flags([p.household_categories for p in projects], CATEGORIES),
        categories_restricted=np.array([bool(p.household_categories) for p in projects], bool),
        max_income=_optional([p.max_income_per_head_fen for p in projects]),
        max_disability_grade=_optional([p.max_disability_grade for p in projects]),
        illness_kinds=_flags([p.illness_kinds for p in projects], ILLNESS_KINDS),
        illness_restricted=np.array([bool(p.illness_kinds) for p in projects], bool),
        school_stages=_flags([p.school_stages for p in projects], SCHOOL_STAGES),
        school_restricted=np.array([bool(p.school_stages) for p in projects], bool),
        sexes=_flags([p.sexes for p in projects], SEXES),
        sexes_restricted=_restricted([p.sexes for p in projects]),
        disability_types=_flags([p.disability_types for p in projects], DISABILITY_TYPES),
        disability_types_restricted=_restricted([p.disability_types for p in projects]),
        condition_index=_condition_index(projects),
        conditions_restricted=_restricted([p.conditions for p in projects]),
        child_statuses=_flags([p.child_statuses for p in projects], CHILD_STATUSES),
        child_statuses_restricted=_restricted([p.child_statuses for p in projects]),
        situations=_flags([p.household_situations for p in projects], SITUATIONS),
        situations_restricted=_restricted([p.household_situations for p in projects]),
        domains=_flags([p.domains for p in projects], DOMAINS),
        groups=_flags([p.target_groups for p in projects], TARGET_GROUPS),
        amount=_optional([p.amount_per_beneficiary_fen for p in projects]),
        simplified=np.array([p.accepts_simplified for p in projects], dtype=bool),
        quota=np.array([p.quota for p in projects], dtype=np.int64),
        acceptance=np.array(
            [
                DEFAULT_ACCEPTANCE if p.acceptance_rate is None else p.acceptance_rate
                for p in projects
            ],
            dtype=np.float64,
        ),
        id_rank=_id_rank(projects),
        ids=np.array([p.id for p in projects]),
        live=np.array([p.active for p in projects], dtype=bool),
        organizations=np.array([p.organization_id for p in projects]),
        key=key,
    )
    for name in ("sexes", "categories", "situations", "disability_types", "illness_kinds",
                 "child_statuses", "school_stages", "domains", "groups"):  # fmt: skip
        setattr(index, f"{name}_bits", _bits(getattr(index, name)))
    return index
