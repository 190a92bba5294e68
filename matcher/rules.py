"""Hard rules: which projects a need may be matched with, and why the others may not."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from models.regions import ancestor_prefixes, supply_ledger_codes

from .conditions import recorded_conditions, shipped_catalogue
from .index import ProjectIndex, bit_mask
from .reasons import Labels, Names, Reason
from .records import NeedRecord
from .vocabulary import (
    CATEGORIES,
    CHILD_STATUS_LABELS,
    CHILD_STATUSES,
    DISABILITY_LABELS,
    DISABILITY_TYPES,
    ILLNESS_KINDS,
    SCHOOL_STAGES,
    SEX_LABELS,
    SEXES,
    SITUATION_LABELS,
    SITUATIONS,
)

#: Rule codes in the order they are checked; the first failing one is the reason given.
RULES = (
    "ledger",
    "dates",
    "quota",
    "area",
    "age",
    "sex",
    "category",
    "situation",
    "income",
    "disability_type",
    "disability",
    "illness",
    "condition",
    "child_status",
    "school",
)


#: Where the rules that look only at the place and the day end, in ``RULES``.
PLACE_RULES = 4


@dataclass(frozen=True)
class Eligibility:
    eligible: np.ndarray  # bool per project
    failed: np.ndarray  # index into RULES of the first failing rule, -1 when eligible
    locality: np.ndarray  # prefix length of the most local area code covering the household


class Place:
    """What the first rules (ledger, dates, places left, service area) say for every need of
    one region on one day: they look at nothing else, so needs of one village share them.

    The person's rules are then checked only on the projects these leave (``open``), with
    their columns gathered once per place (:meth:`column`). Places left are read when the
    place is made: do not keep one across taking a place.
    """

    def __init__(self, index: ProjectIndex, region_code: str, today: dt.date) -> None:
        self.index = index
        self.region_code = region_code
        self.today = today
        in_ledger = np.zeros(len(index), dtype=bool)
        for code in supply_ledger_codes(region_code):
            positions = index.ledger_index.get(code)
            if positions is not None:
                in_ledger[positions] = True
        in_ledger &= index.live  # one no longer verified is as if unpublished
        #: Live projects of a ledger covering the region, in index order.
        self.covered = np.flatnonzero(in_ledger)
        # The length of the longest prefix of the region a project's area names (at most 12):
        # a byte each, as a place is kept for each region of a batch.
        locality = np.zeros(len(index), dtype=np.uint8)
        for prefix in ancestor_prefixes(region_code):
            positions = index.area_index.get(prefix)
            if positions is not None:
                locality[positions] = np.maximum(locality[positions], len(prefix))
        self.locality = locality
        day = today.toordinal()
        at = self.covered
        checks = (
            (index.starts[at] <= day) & (day <= index.ends[at]),
            index.quota_left[at] > 0,
            locality[at] > 0,
        )
        #: Per covered project, the first of these rules it fails (-1: none).
        self.failed = np.full(len(at), -1, dtype=np.int64)
        for rule in range(len(checks), 0, -1):  # the first failing one written last
            self.failed[~checks[rule - 1]] = rule
        #: The covered projects that pass them, in index order.
        self.open = at[self.failed < 0]
        self._columns: dict[str, np.ndarray] = {}

    def column(self, name: str) -> np.ndarray:
        """The index's array ``name`` at the open projects (rows, for a matrix)."""
        found = self._columns.get(name)
        if found is None:
            found = self._columns[name] = getattr(self.index, name)[self.open]
        return found

    def free(self, restricted: str) -> np.ndarray:
        """Per open project: the boolean column ``restricted`` is false (no such rule)."""
        found = self._columns.get(f"~{restricted}")
        if found is None:
            found = self._columns[f"~{restricted}"] = ~self.column(restricted)
        return found


def check(
    index: ProjectIndex, need: NeedRecord, today: dt.date, place: Place | None = None
) -> Eligibility:
    """Which projects ``need`` may be matched with, and the first rule each other one fails.

    ``place``, made for the need's region and ``today``, is shared by the needs of one region
    (:func:`check_many`); without it one is made.
    """
    if place is None:
        place = Place(index, need.household.region_code, today)
    n = len(index)
    failed = np.zeros(n, dtype=np.int64)  # outside every covering ledger: RULES[0]
    failed[place.covered] = place.failed
    checks = _person_checks(place, need)
    if checks:
        stack = np.vstack(checks)
        passed = stack.all(axis=0)
        first = np.full(len(place.open), -1, dtype=np.int64)
        first[~passed] = PLACE_RULES + np.argmin(stack[:, ~passed], axis=0)
        failed[place.open] = first
    eligible = failed < 0
    return Eligibility(eligible, failed, place.locality)


def passing(place: Place, need: NeedRecord) -> np.ndarray:
    """The projects (positions in the index) ``need`` may be matched with: those
    ``check(...).eligible`` marks, found without saying why the others fail."""
    checks = _person_checks(place, need)
    if not checks:
        return place.open
    return place.open[np.logical_and.reduce(checks)]


def check_many(index: ProjectIndex, needs: list[NeedRecord], today: dt.date) -> list[Eligibility]:
    """:func:`check` of each need, the place rules checked once per region."""
    places: dict[str, Place] = {}
    found = []
    for need in needs:
        code = need.household.region_code
        place = places.get(code)
        if place is None:
            place = places[code] = Place(index, code, today)
        found.append(check(index, need, today, place))
    return found


def _person_checks(place: Place, need: NeedRecord) -> list[np.ndarray]:
    """The rules after the place's, in ``RULES`` order, each a mask over ``place.open``."""
    k = len(place.open)
    if k == 0:
        return []
    column = place.column
    household = need.household
    subjects = need.subjects

    min_age, max_age = column("min_age"), column("max_age")
    ages = [m.age for m in subjects if m.age is not None]
    if ages:
        age_ok = np.zeros(k, dtype=bool)
        for age in ages:
            low_ok = np.isnan(min_age) | (min_age <= age)
            high_ok = np.isnan(max_age) | (age <= max_age)
            age_ok |= low_ok & high_ok
    else:
        age_ok = np.isnan(min_age) & np.isnan(max_age)

    sexes = [SEXES.index(m.sex) for m in subjects if m.sex in SEXES]
    sex_ok = _any_of(place, "sexes", sexes)

    own = [CATEGORIES.index(c) for c in household.categories if c in CATEGORIES]
    category_ok = _any_of(place, "categories", own)
    situations = [SITUATIONS.index(c) for c in household.situations if c in SITUATIONS]
    situation_ok = _any_of(place, "situations", situations)
    max_income = column("max_income")
    income_ok = np.isnan(max_income) | (household.income_per_head_fen <= max_income)

    # A disability type and a grade rule together ask for one disability that is both.
    types = [DISABILITY_TYPES.index(m.disability_type) for m in subjects
             if m.disability_type in DISABILITY_TYPES]  # fmt: skip
    disability_type_ok = _any_of(place, "disability_types", types)
    max_grade = column("max_disability_grade")
    disability_ok = np.isnan(max_grade)
    for m in subjects:
        if m.disability_grade is None:
            continue
        grade_ok = m.disability_grade <= max_grade
        types_free = place.free("disability_types_restricted")
        if m.disability_type in DISABILITY_TYPES:
            type_bit = bit_mask([DISABILITY_TYPES.index(m.disability_type)])
            own_type = (column("disability_types_bits") & type_bit) != 0
            grade_ok &= types_free | own_type
        else:
            grade_ok &= types_free
        disability_ok = disability_ok | grade_ok

    kinds = [ILLNESS_KINDS.index(m.illness_kind) for m in subjects if m.illness_kind]
    illness_ok = _any_of(place, "illness_kinds", kinds, "illness_restricted")
    condition_ok = place.free("conditions_restricted")
    covering = [place.index.condition_index.get(code) for m in subjects
                for code in recorded_conditions(m.conditions, m.illness)]  # fmt: skip
    covering = [positions for positions in covering if positions is not None]
    if covering:
        admitted = np.zeros(len(place.index), dtype=bool)
        for positions in covering:
            admitted[positions] = True
        condition_ok = condition_ok | admitted[place.open]
    statuses = [CHILD_STATUSES.index(m.child_status) for m in subjects
                if m.child_status in CHILD_STATUSES]  # fmt: skip
    child_status_ok = _any_of(place, "child_statuses", statuses)
    stages = [SCHOOL_STAGES.index(m.school_stage) for m in subjects if m.school_stage]
    school_ok = _any_of(place, "school_stages", stages, "school_restricted")

    return [age_ok, sex_ok, category_ok, situation_ok, income_ok, disability_type_ok,
            disability_ok, illness_ok, condition_ok, child_status_ok, school_ok]  # fmt: skip


def _any_of(place: Place, name: str, own: list[int], restricted: str = "") -> np.ndarray:
    """A list rule: no list, or the list names one of the person's (or household's) codes."""
    unrestricted = place.free(restricted or f"{name}_restricted")
    if not own:
        return unrestricted
    return unrestricted | ((place.column(f"{name}_bits") & bit_mask(own)) != 0)


def reason(rule: str, index: ProjectIndex, position: int, today: dt.date) -> Reason:
    """Why project ``position`` is excluded, in Chinese (with its template, for other languages)."""
    p = index.projects[position]
    if rule == "ledger":
        if p.ledger_level == "township":
            return Reason("其他乡镇的本地资源")
        return Reason("不在覆盖本地的省、市、县三级台账中")
    if rule == "dates":
        if p.ends_on < today:
            return Reason("项目已于 %(date)s 结束", date=p.ends_on.isoformat())
        return Reason("项目 %(date)s 才开始", date=p.starts_on.isoformat())
    if rule == "quota":
        return Reason("名额已满")
    if rule == "area":
        return Reason("服务区域不含本地")
    if rule == "age":
        if p.min_age is None:
            return Reason("年龄不符（限 %(high)s 岁及以下）", high=p.max_age or 0)
        if p.max_age is None:
            return Reason("年龄不符（限 %(low)s 岁及以上）", low=p.min_age)
        return Reason("年龄不符（限 %(low)s–%(high)s 岁）", low=p.min_age, high=p.max_age)
    if rule == "sex":
        return Reason("限%(labels)s", labels=Labels(SEX_LABELS[c] + "性" for c in p.sexes))
    if rule == "category":
        return Reason("家庭类别不符")
    if rule == "situation":
        situations = Labels(SITUATION_LABELS[c] for c in p.household_situations)
        return Reason("限%(labels)s", labels=situations)
    if rule == "income":
        cap = f"{(p.max_income_per_head_fen or 0) / 100:.0f}"
        return Reason("家庭月人均收入超过上限（%(cap)s 元）", cap=cap)
    if rule == "disability_type":
        types = Labels(DISABILITY_LABELS[c] for c in p.disability_types)
        return Reason("限%(labels)s", labels=types)
    if rule == "disability":
        grade = p.max_disability_grade or 0
        if p.disability_types:
            kinds = Labels(DISABILITY_LABELS[c] for c in p.disability_types)
            return Reason("须为 %(grade)s 级及以上%(labels)s", grade=grade, labels=kinds)
        return Reason("须为 %(grade)s 级及以上残疾", grade=grade)
    if rule == "illness":
        return Reason("疾病类型不符")
    if rule == "condition":
        conditions = Names(shipped_catalogue().label(c) for c in p.conditions)
        return Reason("限%(names)s患者", names=conditions)
    if rule == "child_status":
        statuses = Labels(CHILD_STATUS_LABELS[c] for c in p.child_statuses)
        return Reason("限%(labels)s", labels=statuses)
    return Reason("就学阶段不符")
