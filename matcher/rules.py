"""Hard rules: which projects a need may be matched with, and why the others may not."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from models.regions import ancestor_prefixes, covering_ledger_codes

from .index import ProjectIndex
from .records import NeedRecord
from .vocabulary import CATEGORIES, ILLNESS_KINDS, SCHOOL_STAGES

#: Rule codes in the order they are checked; the first failing one is the reason given.
RULES = (
    "ledger",
    "dates",
    "quota",
    "area",
    "age",
    "category",
    "income",
    "disability",
    "illness",
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
    for code in covering_ledger_codes(household.region_code):
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

    own = [CATEGORIES.index(c) for c in household.categories if c in CATEGORIES]
    category_ok = ~index.categories_restricted | (
        index.categories[:, own].any(axis=1) if own else np.zeros(n, dtype=bool)
    )
    income_ok = np.isnan(index.max_income) | (household.income_per_head_fen <= index.max_income)

    grades = [m.disability_grade for m in subjects if m.disability_grade is not None]
    disability_ok = np.isnan(index.max_disability_grade)
    if grades:
        disability_ok = disability_ok | (min(grades) <= index.max_disability_grade)

    kinds = [ILLNESS_KINDS.index(m.illness_kind) for m in subjects if m.illness_kind]
    illness_ok = ~index.illness_restricted | (
        index.illness_kinds[:, kinds].any(axis=1) if kinds else np.zeros(n, dtype=bool)
    )
    stages = [SCHOOL_STAGES.index(m.school_stage) for m in subjects if m.school_stage]
    school_ok = ~index.school_restricted | (
        index.school_stages[:, stages].any(axis=1) if stages else np.zeros(n, dtype=bool)
    )

    checks = np.vstack(
        [ledger_ok, dates_ok, quota_ok, area_ok, age_ok, category_ok, income_ok, disability_ok,
         illness_ok, school_ok]
    )  # fmt: skip
    eligible = np.all(checks, axis=0)
    failed = np.where(eligible, -1, np.argmin(checks, axis=0))
    return Eligibility(eligible, failed, locality)


def reason(rule: str, index: ProjectIndex, position: int, today: dt.date) -> str:
    """Why project ``position`` is excluded, in Chinese."""
    p = index.projects[position]
    if rule == "ledger":
        return "不在覆盖本地的省、市、县三级台账中"
    if rule == "dates":
        if p.ends_on < today:
            return f"项目已于 {p.ends_on.isoformat()} 结束"
        return f"项目 {p.starts_on.isoformat()} 才开始"
    if rule == "quota":
        return "名额已满"
    if rule == "area":
        return "服务区域不含本地"
    if rule == "age":
        low = "" if p.min_age is None else f"{p.min_age}"
        high = "" if p.max_age is None else f"{p.max_age}"
        return f"年龄不符（限 {low}–{high} 岁）"
    if rule == "category":
        return "家庭类别不符"
    if rule == "income":
        cap = (p.max_income_per_head_fen or 0) / 100
        return f"家庭月人均收入超过上限（{cap:.0f} 元）"
    if rule == "disability":
        return f"须为 {p.max_disability_grade} 级及以上残疾"
    if rule == "illness":
        return "疾病类型不符"
    return "就学阶段不符"
