"""Hard rules: which projects a need may be matched with, and why the others may not."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from models.regions import ancestor_prefixes, supply_ledger_codes

from .conditions import recorded_conditions, shipped_catalogue
from .index import ProjectIndex
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


@dataclass(frozen=True)
class Eligibility:
    eligible: np.ndarray  # bool per project
    failed: np.ndarray  # index into RULES of the first failing rule, -1 when eligible
    locality: np.ndarray  # prefix length of the most local area code covering the household


def check(index: ProjectIndex, need: NeedRecord, today: dt.date) -> Eligibility:
    n = len(index)
    household = need.household
    subjects = need.subjects
    day = today.toordinal()

    ledger_ok = np.zeros(n, dtype=bool)
    for code in supply_ledger_codes(household.region_code):
        positions = index.ledger_index.get(code)
        if positions is not None:
            ledger_ok[positions] = True
    dates_ok = (index.starts <= day) & (day <= index.ends)
    quota_ok = index.quota_left > 0

    locality = np.zeros(n, dtype=np.int64)
    for prefix in ancestor_prefixes(household.region_code):
        positions = index.area_index.get(prefix)
        if positions is not None:
            locality[positions] = np.maximum(locality[positions], len(prefix))
    area_ok = locality > 0

    ages = [m.age for m in subjects if m.age is not None]
    if ages:
        age_ok = np.zeros(n, dtype=bool)
        for age in ages:
            low_ok = np.isnan(index.min_age) | (index.min_age <= age)
            high_ok = np.isnan(index.max_age) | (age <= index.max_age)
            age_ok |= low_ok & high_ok
    else:
        age_ok = np.isnan(index.min_age) & np.isnan(index.max_age)

    sexes = [SEXES.index(m.sex) for m in subjects if m.sex in SEXES]
    sex_ok = _any_of(index.sexes_restricted, index.sexes, sexes)

    own = [CATEGORIES.index(c) for c in household.categories if c in CATEGORIES]
    category_ok = _any_of(index.categories_restricted, index.categories, own)
    situations = [SITUATIONS.index(c) for c in household.situations if c in SITUATIONS]
    situation_ok = _any_of(index.situations_restricted, index.situations, situations)
    income_ok = np.isnan(index.max_income) | (household.income_per_head_fen <= index.max_income)

    # A disability type and a grade rule together ask for one disability that is both.
    types = [DISABILITY_TYPES.index(m.disability_type) for m in subjects
             if m.disability_type in DISABILITY_TYPES]  # fmt: skip
    disability_type_ok = _any_of(index.disability_types_restricted, index.disability_types, types)
    disability_ok = np.isnan(index.max_disability_grade)
    for m in subjects:
        if m.disability_grade is None:
            continue
        grade_ok = m.disability_grade <= index.max_disability_grade
        if m.disability_type in DISABILITY_TYPES:
            own_type = index.disability_types[:, DISABILITY_TYPES.index(m.disability_type)]
            grade_ok &= ~index.disability_types_restricted | own_type
        else:
            grade_ok &= ~index.disability_types_restricted
        disability_ok = disability_ok | grade_ok

    kinds = [ILLNESS_KINDS.index(m.illness_kind) for m in subjects if m.illness_kind]
    illness_ok = _any_of(index.illness_restricted, index.illness_kinds, kinds)
    condition_ok = ~index.conditions_restricted
    for m in subjects:
        for code in recorded_conditions(m.conditions, m.illness):
            positions = index.condition_index.get(code)
            if positions is not None:
                condition_ok[positions] = True
    statuses = [CHILD_STATUSES.index(m.child_status) for m in subjects
                if m.child_status in CHILD_STATUSES]  # fmt: skip
    child_status_ok = _any_of(index.child_statuses_restricted, index.child_statuses, statuses)
    stages = [SCHOOL_STAGES.index(m.school_stage) for m in subjects if m.school_stage]
    school_ok = _any_of(index.school_restricted, index.school_stages, stages)

    checks = np.vstack(
        [ledger_ok, dates_ok, quota_ok, area_ok, age_ok, sex_ok, category_ok, situation_ok,
         income_ok, disability_type_ok, disability_ok, illness_ok, condition_ok,
         child_status_ok, school_ok]
    )  # fmt: skip
    eligible = np.all(checks, axis=0)
    failed = np.where(eligible, -1, np.argmin(checks, axis=0))
    return Eligibility(eligible, failed, locality)


def _any_of(restricted: np.ndarray, allowed: np.ndarray, own: list[int]) -> np.ndarray:
    """A list rule: no list, or the list names one of the person's (or household's) codes."""
    if not own:
        return ~restricted
    return ~restricted | allowed[:, own].any(axis=1)


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
