"""Matching many needs in one pass gives each the ranking it gets alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

import numpy as np
import pytest

from matcher import LearnedModel, NeedRecord, Ranking, build_index, match_many, rank
from matcher.evaluation import load_cases
from matcher.index import need_text
from matcher.ranking import BLOCKS_MIN_NEEDS, score_many
from matcher.rules import check, check_many
from matcher.vocabulary import CATEGORIES, DOMAINS

EVAL = Path(__file__).resolve().parents[2] / "seed" / "eval"
CASE_FILES = sorted(EVAL.glob("*.json"))


def assert_same(alone: Ranking, together: Ranking) -> None:
    assert (together.need_id, together.model) == (alone.need_id, alone.model)
    assert together.candidates == alone.candidates
    assert together.excluded_count == alone.excluded_count
    assert [m.project.id for m in together.items] == [m.project.id for m in alone.items]
    for mine, theirs in zip(together.items, alone.items, strict=True):
        assert mine.score == pytest.approx(theirs.score, abs=1e-9)
        assert mine.low_match == theirs.low_match
        assert mine.features == pytest.approx(theirs.features, abs=1e-9)
        assert mine.reasons == theirs.reasons
        assert [(r.template, dict(r.params)) for r in mine.reasons] == [
            (r.template, dict(r.params)) for r in theirs.reasons
        ]
    assert [(e.project.id, e.rule, e.reason) for e in together.excluded] == [
        (e.project.id, e.rule, e.reason) for e in alone.excluded
    ]


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.name)
def test_every_need_of_a_case_file_ranks_as_it_does_alone(path: Path) -> None:
    cases = load_cases(path)
    index = build_index(cases.projects)
    together = match_many(index, cases.needs, cases.as_of, explain=True)
    assert len(together) == len(cases.needs)
    for need, ranking in zip(cases.needs, together, strict=True):
        assert_same(rank(index, need, cases.as_of, explain=True), ranking)


def variants(needs: list[NeedRecord], count: int, seed: int = 11) -> list[NeedRecord]:
    """Needs made up from the case file's: another place, age, category, domain, gap."""
    rng = random.Random(seed)  # noqa: S311 - test data
    regions = sorted({n.household.region_code for n in needs})
    made = []
    for number in range(count):
        need = rng.choice(needs)
        household = need.household
        members = tuple(
            dataclasses.replace(m, age=rng.choice((None, 6, 15, 40, 66, 85)))
            for m in household.members
        )
        household = dataclasses.replace(
            household,
            region_code=rng.choice(regions),
            categories=tuple(rng.sample(CATEGORIES, rng.randint(0, 2))),
            income_per_head_fen=rng.choice((0, 80_000, 150_000, 400_000)),
            members=members,
        )
        made.append(
            dataclasses.replace(
                need, id=f"made-{number}", household=household,
                domain=rng.choice((need.domain, need.domain, rng.choice(DOMAINS))),
                amount_gap_fen=rng.choice((None, 0, 300_000, 2_000_000)),
                urgency=rng.choice(("normal", "urgent")),
            )
        )  # fmt: skip
    return made


def test_made_up_needs_rank_as_they_do_alone_whether_or_not_they_share_a_place() -> None:
    cases = load_cases(EVAL / "rules_cases.json")
    index = build_index(cases.projects)
    made = variants(cases.needs, 60)
    # Many needs of one village: their candidates' columns are cut out of the text matrix.
    village = made[0].household.region_code
    crowd = [dataclasses.replace(n, id=f"crowd-{i}",
                                 household=dataclasses.replace(n.household, region_code=village))
             for i, n in enumerate(made[:BLOCKS_MIN_NEEDS + 4])]  # fmt: skip
    needs = made + crowd
    model = LearnedModel(coef=[1.2, 2.0, 0.8, 0.9, 0.7, 0.3, 0.2, 0.1, 0.1], intercept=-3.0)
    for chosen in (None, model):
        together = match_many(index, needs, cases.as_of, limit=5, explain=True, model=chosen)
        for need, ranking in zip(needs, together, strict=True):
            assert_same(rank(index, need, cases.as_of, limit=5, explain=True, model=chosen),
                        ranking)  # fmt: skip


def test_rules_checked_once_per_place_say_what_they_say_need_by_need() -> None:
    cases = load_cases(EVAL / "cases.json")
    index = build_index(cases.projects)
    needs = variants(cases.needs, 40, seed=3)
    for need, together in zip(needs, check_many(index, needs, cases.as_of), strict=True):
        alone = check(index, need, cases.as_of)
        assert np.array_equal(together.eligible, alone.eligible)
        assert np.array_equal(together.failed, alone.failed)
        assert np.array_equal(together.locality, alone.locality)


def test_own_domain_keeps_the_projects_of_the_need_s_domain_only() -> None:
    cases = load_cases(EVAL / "cases.json")
    index = build_index(cases.projects)
    for scored in score_many(index, cases.needs, cases.as_of, own_domain=True):
        for position in scored.positions:
            assert scored.need.domain in index.projects[int(position)].domains


def test_need_vectors_are_the_fitted_vectorizers_own_bit_for_bit() -> None:
    cases = load_cases(EVAL / "dev_cases.json")
    index = build_index(cases.projects)
    needs = [*cases.needs, *variants(cases.needs, 20)]
    texts = [need_text(n) for n in needs] + ["", "。", "洗肾 血癌 尿不湿 在牢里"]
    needs += [dataclasses.replace(needs[0], text=t, domain="none") for t in texts[-3:]]
    expected = index.need_vectors(needs)
    from matcher.index import _side_by_side

    texts = [need_text(n) for n in needs]
    transformed = _side_by_side(
        index.vectorizer.transform(texts), index.concept_vectorizer.transform(texts)
    )
    assert np.array_equal(expected.indptr, transformed.indptr)
    assert np.array_equal(expected.indices, transformed.indices)
    assert np.array_equal(expected.data, transformed.data)
    products = np.asarray((transformed @ index.text_t).todense())
    assert np.array_equal(index.text_similarities(needs), products)


def test_no_needs_and_no_projects_give_no_rankings() -> None:
    today = dt.date(2026, 12, 1)
    cases = load_cases(EVAL / "cases.json")
    assert match_many(build_index(cases.projects), [], today) == []
    empty = match_many(build_index([]), cases.needs[:3], today, explain=True)
    assert [r.items for r in empty] == [[], [], []]
    assert all(r.nothing_suitable for r in empty)


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.name)
def test_a_ranking_without_its_exclusions_is_the_same_ranking(path: Path) -> None:
    """Without ``explain`` the candidates are found without the rule each other project
    fails: the results are the same, score for score."""
    cases = load_cases(path)
    index = build_index(cases.projects)
    for need in [*cases.needs, *variants(cases.needs, 20)]:
        shown = rank(index, need, cases.as_of)
        explained = rank(index, need, cases.as_of, explain=True)
        assert shown.excluded == [] and shown.excluded_count == explained.excluded_count
        assert shown.candidates == explained.candidates
        assert [(m.project.id, m.score, m.features, m.reasons, m.low_match)
                for m in shown.items] == [(m.project.id, m.score, m.features, m.reasons,
                                            m.low_match) for m in explained.items]  # fmt: skip
