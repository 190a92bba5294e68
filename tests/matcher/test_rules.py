"""Each hard rule excludes a project that breaks it, and says why in Chinese."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from matcher import HouseholdRecord, MemberRecord, NeedRecord, ProjectRecord, build_index, rank

TODAY = dt.date(2026, 11, 23)

BASE = ProjectRecord(
    id="base",
    name="重特大疾病医疗救助",
    organization_id="org",
    organization_name="广东省慈善帮扶联合会",
    ledger_level="province",
    ledger_region_code="440000000000",
    description="面向低收入家庭的重病患者，按自付医疗费用给予资助。",
    domains=("medical",),
    target_groups=("serious_illness",),
    service_area=("440000000000",),
    quota=100,
    quota_used=10,
    amount_per_beneficiary_fen=2_000_000,
    starts_on=dt.date(2026, 1, 1),
    ends_on=dt.date(2026, 12, 31),
)

NEED = NeedRecord(
    id="n1",
    domain="medical",
    text="户主尿毒症每周透析三次，报销后自付仍有六万多元。",
    household=HouseholdRecord(
        region_code="440117103217",
        categories=("dibao",),
        income_per_head_fen=80_000,
        members=(
            MemberRecord(
                relation="head", age=48, sex="male", illness="尿毒症", illness_kind="serious"
            ),
            MemberRecord(relation="child", age=15, school_stage="junior"),
        ),
    ),
    member_index=0,
    amount_gap_fen=4_000_000,
    urgency="urgent",
)

CASES = [
    ("ledger", {"ledger_region_code": "440232000000"}, "不在覆盖本地的省、市、县三级台账中"),
    ("dates", {"ends_on": dt.date(2026, 6, 30)}, "项目已于 2026-06-30 结束"),
    ("dates", {"starts_on": dt.date(2027, 1, 1), "ends_on": dt.date(2027, 12, 31)}, "才开始"),
    ("quota", {"quota_used": 100}, "名额已满"),
    ("area", {"service_area": ("440232000000",)}, "服务区域不含本地"),
    ("age", {"max_age": 17}, "年龄不符"),
    ("category", {"household_categories": ("tekun",)}, "家庭类别不符"),
    ("income", {"max_income_per_head_fen": 50_000}, "超过上限"),
    ("disability", {"max_disability_grade": 2}, "级及以上残疾"),
    ("illness", {"illness_kinds": ("rare",)}, "疾病类型不符"),
    ("school", {"school_stages": ("college",)}, "就学阶段不符"),
    ("sex", {"sexes": ("female",)}, "限女性"),
    ("situation", {"household_situations": ("living_alone",)}, "限独居"),
    ("disability_type", {"disability_types": ("visual",)}, "限视力残疾"),
    ("condition", {"conditions": ("breast_cancer", "cervical_cancer")}, "限乳腺癌、宫颈癌患者"),
    ("child_status", {"child_statuses": ("de_facto_orphan",)}, "限事实无人抚养儿童"),
]


def test_the_base_project_is_eligible() -> None:
    ranking = rank(build_index([BASE]), NEED, TODAY)
    assert [m.project.id for m in ranking.items] == ["base"]
    assert "帮扶领域相符（医疗/大病）" in ranking.items[0].reasons


@pytest.mark.parametrize(("rule", "change", "why"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_excludes_and_says_why(rule: str, change: dict, why: str) -> None:
    broken = dataclasses.replace(BASE, id=f"broken-{rule}", **change)
    ranking = rank(build_index([BASE, broken]), NEED, TODAY, explain=True)
    assert [m.project.id for m in ranking.items] == ["base"]
    assert [(e.project.id, e.rule) for e in ranking.excluded] == [(broken.id, rule)]
    assert why in ranking.excluded[0].reason


def test_a_village_area_covers_only_that_village() -> None:
    village = dataclasses.replace(BASE, id="village", service_area=("440117103217",))
    other = dataclasses.replace(BASE, id="other", service_area=("440117103220",))
    ranking = rank(build_index([village, other]), NEED, TODAY, explain=True)
    assert [m.project.id for m in ranking.items] == ["village"]
    assert (
        "服务范围精确到本村" in ranking.items[0].reasons
        or ranking.items[0].features["locality"] == 1.0
    )


def test_nothing_suitable_is_said_so() -> None:
    housing = dataclasses.replace(
        BASE, id="housing", domains=("housing",), target_groups=("elderly",),
        name="困难老人住房修缮", description="为农村困难老人修缮危房。",
    )  # fmt: skip
    ranking = rank(build_index([housing]), NEED, TODAY)
    assert ranking.items and ranking.items[0].low_match
    assert ranking.nothing_suitable
    assert rank(build_index([]), NEED, TODAY).nothing_suitable


def test_ranking_is_stable_under_reordering_of_projects() -> None:
    projects = [dataclasses.replace(BASE, id=f"p{i}", quota=100 + i) for i in range(8)]
    first = [m.project.id for m in rank(build_index(projects), NEED, TODAY).items]
    second = [m.project.id for m in rank(build_index(projects[::-1]), NEED, TODAY).items]
    assert first == second


def _need_of(member: MemberRecord, situations: tuple[str, ...] = ()) -> NeedRecord:
    household = dataclasses.replace(NEED.household, members=(member,), situations=situations)
    return dataclasses.replace(NEED, household=household, member_index=0)


def _eligible(project: ProjectRecord, need: NeedRecord) -> bool:
    return [m.project.id for m in rank(build_index([project]), need, TODAY).items] == [project.id]


def test_a_rule_naming_a_parent_condition_admits_its_children() -> None:
    cancer_fund = dataclasses.replace(BASE, conditions=("malignant_tumour",))
    leukaemia = MemberRecord(relation="child", age=9, conditions=("leukaemia",))
    assert _eligible(cancer_fund, _need_of(leukaemia))
    named_child = dataclasses.replace(BASE, conditions=("leukaemia",))
    only_parent = MemberRecord(relation="head", age=50, conditions=("malignant_tumour",))
    assert not _eligible(named_child, _need_of(only_parent))


def test_illness_text_in_everyday_words_counts_until_conditions_are_recorded() -> None:
    dialysis_fund = dataclasses.replace(BASE, conditions=("uraemia",))
    assert _eligible(dialysis_fund, _need_of(MemberRecord(relation="head", illness="每周洗血")))
    # Once the station has confirmed the conditions, they are what counts.
    confirmed = MemberRecord(relation="head", illness="每周洗血", conditions=("diabetes",))
    assert not _eligible(dialysis_fund, _need_of(confirmed))


def test_a_type_and_a_grade_rule_ask_for_one_disability_that_is_both() -> None:
    severe_sight_loss = dataclasses.replace(
        BASE, disability_types=("visual",), max_disability_grade=2
    )
    blind = MemberRecord(relation="head", disability_type="visual", disability_grade=1)
    assert _eligible(severe_sight_loss, _need_of(blind))
    physical = MemberRecord(relation="head", disability_type="physical", disability_grade=1)
    ranking = rank(build_index([severe_sight_loss]), _need_of(physical), TODAY, explain=True)
    assert ranking.excluded[0].reason == "限视力残疾"
    mild = MemberRecord(relation="head", disability_type="visual", disability_grade=4)
    ranking = rank(build_index([severe_sight_loss]), _need_of(mild), TODAY, explain=True)
    assert ranking.excluded[0].reason == "须为 2 级及以上视力残疾"


def test_child_status_and_household_situation_admit_those_who_have_them() -> None:
    orphan_fund = dataclasses.replace(BASE, child_statuses=("orphan", "de_facto_orphan"))
    orphan = MemberRecord(relation="grandchild", age=10, child_status="orphan")
    left_behind = MemberRecord(relation="child", age=10, child_status="left_behind")
    assert _eligible(orphan_fund, _need_of(orphan))
    assert not _eligible(orphan_fund, _need_of(left_behind))
    visits = dataclasses.replace(BASE, household_situations=("living_alone",))
    old = MemberRecord(relation="head", age=80)
    assert _eligible(visits, _need_of(old, situations=("living_alone",)))
    assert not _eligible(visits, _need_of(old, situations=("elderly_only",)))
