"""Learning from outcomes: one deciding feature is learned; a model worse at predicting the
charities' answers, or at ranking any case file, is not promoted."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from matcher import FEATURES, LearnedModel, WeightedModel
from matcher.evaluation import (
    CASE_DIR,
    Benchmark,
    evaluate,
    load_benchmarks,
    ndcg_by_model,
    shipped_case_files,
)
from matcher.rules import check
from matcher.scoring import features
from matcher.training import CaseFileCheck, train_and_compare


def outcomes(seed: int = 1, n: int = 400) -> np.ndarray:
    return np.random.default_rng(seed).random((n, len(FEATURES)))


def test_a_deciding_feature_is_learned_and_the_better_model_promoted() -> None:
    matrix = outcomes()
    quota = FEATURES.index("quota")
    labels = (matrix[:, quota] > 0.5).astype(int)  # charities accept only with places to spare
    result = train_and_compare(matrix, labels, WeightedModel(), name="candidate")
    assert result.promoted
    assert result.candidate_auc > 0.95 > result.active_auc
    coef = np.abs(result.model.coef)
    assert int(np.argmax(coef)) == quota
    # It ranks by that feature: more places left, higher score.
    probe = np.full((2, len(FEATURES)), 0.5)
    probe[0, quota], probe[1, quota] = 0.9, 0.1
    high, low = result.model.score(probe)
    assert high > low


class Oracle:
    """An active model that already knows the true (non-linear) rule."""

    name = "oracle"
    kind = "oracle"

    def __init__(self, column: int):
        self.column = column

    def score(self, matrix: np.ndarray) -> np.ndarray:
        return -np.abs(matrix[:, self.column] - 0.5)

    def contributions(self, row: np.ndarray) -> np.ndarray:
        return row


def test_a_worse_model_is_not_promoted() -> None:
    matrix = outcomes(seed=2)
    text = FEATURES.index("text")
    labels = (np.abs(matrix[:, text] - 0.5) < 0.25).astype(int)  # a rule no line can draw
    result = train_and_compare(matrix, labels, Oracle(text), name="candidate")
    assert result.model is not None
    assert not result.promoted
    assert result.candidate_auc < result.active_auc
    assert "不启用" in result.message


def test_too_few_outcomes_keep_the_active_model() -> None:
    matrix = outcomes(n=10)
    result = train_and_compare(matrix, np.array([0, 1] * 5), WeightedModel(), name="c")
    assert result.model is None and not result.promoted


# --- the case files guard promotion ---------------------------------------------------------


def case_file_outcomes(benchmarks: list[Benchmark]) -> tuple[np.ndarray, np.ndarray]:
    """The feature rows of every eligible (need, project) pair of the case files, and whether
    the project suits the need (graded 2 or 3)."""
    rows, suits = [], []
    for benchmark in benchmarks:
        cases, index = benchmark.cases, benchmark.index
        for need in cases.needs:
            eligibility = check(index, need, cases.as_of)
            positions = np.flatnonzero(eligibility.eligible)
            if len(positions) == 0:
                continue
            text = index.text_similarity(need)
            rows.append(features(index, need, positions, eligibility.locality, text, cases.as_of))
            grades = cases.judgments.get(str(need.id), {})
            suits += [grades.get(str(index.projects[p].id), 0) >= 2 for p in positions]
    return np.vstack(rows), np.array(suits, dtype=int)


def test_a_model_that_predicts_acceptance_better_but_ranks_worse_is_not_promoted() -> None:
    benchmarks = load_benchmarks()
    matrix, _suits = case_file_outcomes(benchmarks)
    # Scripted answers that reward the wrong thing: charities took what was not asked for
    # (a goods parcel for a chemotherapy need) and declined the projects of the need's domain.
    labels = (matrix[:, FEATURES.index("domain")] == 0).astype(int)
    result = train_and_compare(matrix, labels, WeightedModel(), "candidate", benchmarks=benchmarks)
    assert result.candidate_auc > 0.95 > result.active_auc  # it predicts the answers better
    assert not result.promoted
    assert [c.case_file for c in result.case_files] == [b.name for b in benchmarks]
    assert all(c.candidate < c.active - 0.01 for c in result.case_files)
    assert len(result.refusals) == len(benchmarks) == 5
    assert any(r.startswith("主评测集的 NDCG@5 比当前模型低") for r in result.refusals)
    assert "不启用" in result.message and "评测集 NDCG@5" in result.message


def test_a_model_better_at_both_replaces_one_that_ranked_by_places_alone() -> None:
    benchmarks = load_benchmarks()
    matrix, suits = case_file_outcomes(benchmarks)
    # The active model was learned when charities declined for want of places; now they
    # accept what suits the need.
    by_places = LearnedModel(
        coef=[4.0 if f == "quota" else 0.0 for f in FEATURES], intercept=-2.0, name="places"
    )
    result = train_and_compare(matrix, suits, by_places, "candidate", benchmarks=benchmarks)
    assert result.promoted, result.message
    assert result.candidate_auc > result.active_auc
    assert all(c.candidate >= c.active for c in result.case_files)
    assert result.refusals == [] and result.message.endswith("启用新模型。")


def test_a_candidate_may_rank_a_case_file_at_most_a_hundredth_worse() -> None:
    assert CaseFileCheck("a.json", candidate=0.900, active=0.910).passed
    assert not CaseFileCheck("a.json", candidate=0.8999, active=0.910).passed
    assert CaseFileCheck("a.json", candidate=0.950, active=0.910).passed


def test_scoring_several_models_at_once_ranks_as_the_evaluation_does() -> None:
    (dev,) = load_benchmarks([CASE_DIR / "dev_cases.json"])
    learned = LearnedModel(coef=[1.0, 0.5, 2.0, 0.1, 0.3, 0.0, 1.0, 0.0, 0.2], intercept=-1.0)
    weighted_ndcg, learned_ndcg = ndcg_by_model(dev, [WeightedModel(), learned])
    assert round(weighted_ndcg, 4) == evaluate(dev.cases)["model"]["ndcg@5"]
    assert round(learned_ndcg, 4) == evaluate(dev.cases, learned)["model"]["ndcg@5"]


def test_every_case_file_in_the_folder_guards_training(tmp_path: Path) -> None:
    names = [path.name for path in shipped_case_files()]
    assert {"cases.json", "dev_cases.json", "holdout_cases.json", "rules_cases.json"} <= set(names)
    for path in shipped_case_files():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "zz_fifth_cases.json").write_bytes((CASE_DIR / "dev_cases.json").read_bytes())
    (tmp_path / "README.md").write_text("not a case file", encoding="utf-8")
    found = load_benchmarks(shipped_case_files(tmp_path))
    assert [b.name for b in found] == [*names, "zz_fifth_cases.json"]
