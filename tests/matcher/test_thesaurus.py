"""Needs worded the way households talk still find the projects written in official terms."""

from __future__ import annotations

import dataclasses

import pytest

from matcher import HouseholdRecord, MemberRecord, build_index, rank
from matcher import index as index_module
from matcher.index import need_text
from matcher.thesaurus import CONCEPTS, concepts
from tests.matcher.test_rules import BASE, NEED, TODAY

DIALYSIS = dataclasses.replace(
    BASE,
    id="dialysis",
    name="尿毒症透析患者专项补助",
    description="资助低收入家庭尿毒症患者的血液透析、腹膜透析自付费用。",
    target_groups=(),
)
# Shares the need's everyday words, but is about something else.
ESCORT = dataclasses.replace(
    BASE,
    id="escort",
    name="区里医院陪诊陪护",
    description="一个礼拜三趟，志愿者陪老人跑区里医院看病、拿药，报完销送回家。",
    target_groups=(),
)
COLLOQUIAL = dataclasses.replace(
    NEED,
    text="老钟肾坏了好几年，一个礼拜要跑三趟区里洗血，报完以后自己还要出好几万。",
    household=dataclasses.replace(NEED.household, members=(MemberRecord(relation="head", age=48),)),
)


def test_a_word_can_mean_several_concepts_and_each_is_named_once() -> None:
    found = concepts("她查出血癌，做了化疗，又要做骨髓移植，血癌病房的押金还没交")
    assert found.count("白血病") == 1
    assert {"白血病", "癌症", "医疗费用"} <= set(found)
    assert concepts("一厘米的玉米") == []  # no single characters that mean everything


@pytest.mark.parametrize(
    ("text", "means"),
    [
        ("渐冻症患者", {"罕见病"}),  # not 取暖过冬
        ("孤独症儿童康复", {"孤独症", "康复训练"}),  # not 心理疏导
        ("初一新生", set()),  # not 大学
        ("大病保险报销后", {"医疗费用"}),  # not the accident insurance
        ("孩子发烧了", set()),  # not a fire
        ("牵线搭桥", set()),  # not heart surgery
        ("医疗费用资助", {"医疗费用"}),  # not school fees
    ],
)
def test_words_that_only_look_alike_mean_nothing_extra(text: str, means: set[str]) -> None:
    assert set(concepts(text)) == means


def test_every_concept_has_words_and_no_word_is_listed_twice_in_one_concept() -> None:
    for name, words in CONCEPTS.items():
        assert words, name
        assert len(words) == len(set(words)), name


def test_a_colloquial_need_finds_the_project_in_official_terms() -> None:
    index = build_index([ESCORT, DIALYSIS])
    ranking = rank(index, COLLOQUIAL, TODAY)
    assert [m.project.id for m in ranking.items] == ["dialysis", "escort"]
    assert any("都涉及尿毒症透析" in r for r in ranking.items[0].reasons)


def test_without_the_thesaurus_shared_characters_would_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index_module, "CONCEPT_SHARE", 0.0)
    ranking = rank(build_index([ESCORT, DIALYSIS]), COLLOQUIAL, TODAY)
    assert [m.project.id for m in ranking.items] == ["escort", "dialysis"]


def test_the_need_text_carries_the_household_profile() -> None:
    need = dataclasses.replace(
        NEED,
        text="想找人上门帮忙。",
        household=HouseholdRecord(
            region_code=NEED.household.region_code,
            categories=("tekun",),
            members=(
                MemberRecord(
                    relation="head", age=86, self_care="dependent", disability_type="physical"
                ),
            ),
        ),
    )
    text = need_text(need)
    assert "特困人员" in text and "失能" in text and "肢体残疾" in text
    assert "生活照料" in concepts(text)
