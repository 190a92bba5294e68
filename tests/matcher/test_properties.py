"""Properties of the ranking over random but valid needs and projects.

The hand-written cases in ``test_rules.py`` show each rule once; here the records are drawn at
random (a few Guangdong regions, dates around a fixed day, small quotas, eligibility rules,
amounts, and Chinese text from a small vocabulary) and the ranking must keep what a station
relies on: every project is either offered or excluded with a reason, scores are real numbers
in [0, 1], the order the projects were loaded in changes nothing (equal scores included), and
nothing offered breaks a hard rule. The hard rules are checked by code of their own here, not
by the matcher's.

The examples are derandomized so that CI sees the same ones on every run and a red build is a
regression, not a newly drawn case that blocks an unrelated change; ``MATCHER_EXAMPLES``
widens the search locally.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import os
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import (
    LOW_MATCH_THRESHOLD,
    HouseholdRecord,
    MemberRecord,
    NeedRecord,
    ProjectRecord,
    Ranking,
    build_index,
    rank,
)
from matcher.rules import RULES
from models.enums import (
    DisabilityType,
    Domain,
    HouseholdCategory,
    IllnessKind,
    SchoolStage,
    SelfCare,
    ServiceType,
    TargetGroup,
)

EXAMPLES = int(os.environ.get("MATCHER_EXAMPLES", "50"))
PROPERTIES = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)

T = TypeVar("T")

TODAY = dt.date(2026, 11, 23)

#: Villages of two counties (从化区, 乳源县) in two cities, where households live.
VILLAGES = ("440117103217", "440117103220", "440117107210", "440232113201", "440232109201")
#: Departments whose ledgers list projects: the province, two cities, two counties, and one
#: city and one county that cover none of the villages.
LEDGERS = (
    "440000000000", "440100000000", "440200000000", "440117000000", "440232000000",
    "441800000000", "441424000000",
)  # fmt: skip
#: Service areas at every level, some covering the villages and some not.
AREAS = (
    *LEDGERS, "440117103000", "440117107000", "440232113000", "441881129000", *VILLAGES,
)  # fmt: skip

WORDS = (
    "困难", "家庭", "老人", "儿童", "留守", "重病", "医疗", "救助", "助学", "学费", "康复",
    "训练", "心理", "慰藉", "住房", "修缮", "就业", "培训", "过冬", "物资", "探访", "照料",
    "资助", "残疾", "透析", "自付", "急难", "生活",
)  # fmt: skip

ages = st.none() | st.integers(0, 100)


def subset(values: list[str], max_size: int = 3) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(values), max_size=max_size, unique=True).map(tuple)


def chinese(max_words: int = 8) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(WORDS), max_size=max_words).map("".join)


def rarely(strategy: st.SearchStrategy[T], otherwise: T) -> st.SearchStrategy[T]:
    """``strategy`` now and then, else ``otherwise``: each project breaks few rules, so that
    a fair share of them are eligible and the ranking has something to order."""
    return st.integers(0, 4).flatmap(lambda n: strategy if n == 4 else st.just(otherwise))


members = st.builds(
    MemberRecord,
    relation=st.sampled_from(["head", "spouse", "child", "parent"]),
    age=ages,
    disability_type=st.none() | st.sampled_from(DisabilityType.codes()),
    disability_grade=st.none() | st.integers(1, 4),
    illness=st.none() | st.sampled_from(["尿毒症", "白血病", "高血压", "脑梗后遗症"]),
    illness_kind=st.none() | st.sampled_from(IllnessKind.codes()),
    self_care=st.sampled_from(SelfCare.codes()),
    school_stage=st.none() | st.sampled_from(SchoolStage.codes()),
)

needs = st.builds(
    NeedRecord,
    id=st.just("n"),
    domain=st.sampled_from(Domain.codes()),
    text=chinese(12),
    household=st.builds(
        HouseholdRecord,
        region_code=st.sampled_from(VILLAGES),
        categories=subset(HouseholdCategory.codes(), 2),
        income_per_head_fen=st.integers(0, 400_000),
        members=st.lists(members, max_size=4).map(tuple),
    ),
    member_index=st.none() | st.integers(0, 4),
    amount_gap_fen=st.none() | st.integers(0, 10_000_000),
    urgency=st.sampled_from(["urgent", "normal"]),
)


@st.composite
def project(draw: st.DrawFn, id: str, region: str) -> ProjectRecord:
    """A project that mostly suits a household in ``region`` and sometimes does not."""
    ancestors = [region[:n].ljust(12, "0") for n in (2, 4, 6, 9, 12)]
    running_days = draw(st.integers(0, 200))
    starts_on, ends_on = draw(
        rarely(
            st.sampled_from([
                (TODAY - dt.timedelta(days=running_days), TODAY - dt.timedelta(days=1)),
                (TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=running_days + 1)),
            ]),
            (TODAY - dt.timedelta(days=running_days), TODAY + dt.timedelta(days=running_days)),
        )
    )  # fmt: skip
    quota = draw(st.integers(1, 5))
    quota_used = draw(rarely(st.just(quota), draw(st.integers(0, quota - 1))))
    min_age, max_age = draw(rarely(st.tuples(ages, ages), (None, None)))
    if min_age is not None and max_age is not None and min_age > max_age:
        min_age, max_age = max_age, min_age
    return ProjectRecord(
        id=id,
        name=draw(chinese(4)) or "帮扶项目",
        organization_id=f"org{draw(st.integers(0, 2))}",
        organization_name="慈善会",
        ledger_level="county",
        ledger_region_code=draw(
            rarely(st.sampled_from(LEDGERS), draw(st.sampled_from(ancestors[:3])))
        ),
        description=draw(chinese()),
        domains=draw(subset(Domain.codes(), 2)),
        target_groups=draw(subset(TargetGroup.codes(), 2)),
        service_types=draw(subset(ServiceType.codes(), 2)),
        service_area=draw(
            rarely(st.sampled_from(AREAS), draw(st.sampled_from(ancestors))).map(lambda a: (a,))
        ),  # fmt: skip
        min_age=min_age,
        max_age=max_age,
        household_categories=draw(rarely(subset(HouseholdCategory.codes(), 2), ())),
        max_income_per_head_fen=draw(rarely(st.integers(0, 300_000), None)),
        max_disability_grade=draw(rarely(st.integers(1, 4), None)),
        illness_kinds=draw(rarely(subset(IllnessKind.codes(), 1), ())),
        school_stages=draw(rarely(subset(SchoolStage.codes(), 1), ())),
        amount_per_beneficiary_fen=draw(st.none() | st.integers(100, 5_000_000)),
        quota=quota,
        quota_used=quota_used,
        starts_on=starts_on,
        ends_on=ends_on,
        accepts_simplified=draw(st.booleans()),
        acceptance_rate=draw(st.none() | st.floats(0, 1)),
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[ProjectRecord], NeedRecord]:
    """A need and up to ten projects; some are copies of another under a new id (the same
    offer listed twice), so equal scores occur."""
    need = draw(needs)
    drawn: list[ProjectRecord] = []
    for i in range(draw(st.integers(0, 10))):
        if drawn and draw(st.integers(0, 4)) == 0:
            drawn.append(dataclasses.replace(draw(st.sampled_from(drawn)), id=f"p{i}"))
        else:
            drawn.append(draw(project(f"p{i}", need.household.region_code)))
    return drawn, need


def rank_all(projects: list[ProjectRecord], need: NeedRecord) -> Ranking:
    """Every eligible project (no cut-off), with the excluded ones explained."""
    return rank(build_index(projects), need, TODAY, limit=len(projects), explain=True)


# --- the hard rules, written out independently of matcher.rules ------------------------------


def covers(area: str, region: str) -> bool:
    """A region code covers itself and every region below it (trailing zeros are its level)."""
    digits = next(n for n in (2, 4, 6, 9, 12) if area[n:].strip("0") == "")
    return region.startswith(area[:digits])


def subjects(need: NeedRecord) -> tuple[MemberRecord, ...]:
    members = need.household.members
    if need.member_index is not None and need.member_index < len(members):
        return (members[need.member_index],)
    return members


CHECKED_HERE = ("ledger", "dates", "quota", "area", "age", "category", "income")


def broken_rules(project: ProjectRecord, need: NeedRecord) -> set[str]:
    """The rules (of those checked here) that ``project`` breaks for ``need`` today."""
    region = need.household.region_code
    broken = set()
    covering_ledgers = {region[:n].ljust(12, "0") for n in (2, 4, 6)}
    if project.ledger_region_code not in covering_ledgers:
        broken.add("ledger")
    if not project.starts_on <= TODAY <= project.ends_on:
        broken.add("dates")
    if project.quota_used >= project.quota:
        broken.add("quota")
    if not any(covers(area, region) for area in project.service_area):
        broken.add("area")
    known = [m.age for m in subjects(need) if m.age is not None]
    limited = project.min_age is not None or project.max_age is not None
    low = -math.inf if project.min_age is None else project.min_age
    high = math.inf if project.max_age is None else project.max_age
    if (limited and not known) or (known and not any(low <= age <= high for age in known)):
        broken.add("age")
    wanted = set(project.household_categories)
    if wanted and not wanted & set(need.household.categories):
        broken.add("category")
    cap = project.max_income_per_head_fen
    if cap is not None and need.household.income_per_head_fen > cap:
        broken.add("income")
    return broken


# --- the properties ------------------------------------------------------------------------


@PROPERTIES
@given(cases())
def test_every_project_is_either_offered_or_excluded_with_a_reason(
    case: tuple[list[ProjectRecord], NeedRecord],
) -> None:
    projects, need = case
    ranking = rank_all(projects, need)

    offered = [m.project.id for m in ranking.items]
    excluded = [e.project.id for e in ranking.excluded]
    assert sorted(offered + excluded) == sorted(p.id for p in projects)  # none lost, none twice
    assert ranking.candidates == len(offered)
    assert ranking.excluded_count == len(excluded)
    for exclusion in ranking.excluded:
        assert exclusion.rule in RULES
        assert exclusion.reason.strip(), exclusion


@PROPERTIES
@given(cases())
def test_every_score_is_a_real_number_between_zero_and_one(
    case: tuple[list[ProjectRecord], NeedRecord],
) -> None:
    projects, need = case
    ranking = rank_all(projects, need)

    for match in ranking.items:
        assert math.isfinite(match.score), match
        assert -1e-9 <= match.score <= 1 + 1e-9, match
        assert all(math.isfinite(v) and -1e-9 <= v <= 1 + 1e-9 for v in match.features.values())
        assert match.low_match == (match.score < LOW_MATCH_THRESHOLD)
        assert match.reasons and all(r.strip() for r in match.reasons)
    scores = [m.score for m in ranking.items]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(scores)), scores  # best first


@PROPERTIES
@given(cases(), st.data(), st.integers(1, 4))
def test_the_order_of_the_projects_handed_in_changes_nothing(
    case: tuple[list[ProjectRecord], NeedRecord], data: st.DataObject, limit: int
) -> None:
    projects, need = case
    shuffled = data.draw(st.permutations(projects))

    first, second = rank_all(projects, need), rank_all(shuffled, need)

    assert [m.project.id for m in second.items] == [m.project.id for m in first.items]
    for a, b in zip(first.items, second.items, strict=True):
        assert math.isclose(a.score, b.score, rel_tol=1e-9, abs_tol=1e-12), (a, b)
    assert {(e.project.id, e.rule) for e in second.excluded} == {
        (e.project.id, e.rule) for e in first.excluded
    }
    # A shorter list is the head of the full one, whatever the order handed in.
    top = rank(build_index(shuffled), need, TODAY, limit=limit)
    assert [m.project.id for m in top.items] == [m.project.id for m in first.items][:limit]


@PROPERTIES
@given(cases())
def test_no_offered_project_breaks_a_hard_rule_and_each_exclusion_is_true(
    case: tuple[list[ProjectRecord], NeedRecord],
) -> None:
    projects, need = case
    ranking = rank_all(projects, need)

    for match in ranking.items:
        assert not broken_rules(match.project, need), match.project
    for exclusion in ranking.excluded:
        broken = broken_rules(exclusion.project, need)
        if exclusion.rule in CHECKED_HERE:
            assert exclusion.rule in broken, (exclusion, broken)
        # Rules are checked in order and the first broken one is named.
        earlier = set(RULES[: RULES.index(exclusion.rule)])
        assert not broken & earlier, (exclusion, broken)
