"""The shipped evaluation set: the model beats both keyword baselines and breaks no rule."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from matcher import FEATURES, LOW_MATCH_THRESHOLD, LearnedModel
from matcher.calibration import fit_low_match_threshold, labelled_pairs
from matcher.evaluation import evaluate, load_cases, ndcg_at, recall_at
from models import ModelVersion, utcnow
from tests.helpers import TEST_DATA_KEY, TEST_SECRET_KEY
from web import create_app

EVAL = Path(__file__).resolve().parents[2] / "seed" / "eval"
CASES = EVAL / "cases.json"
DEV_CASES = EVAL / "dev_cases.json"
HOLDOUT_CASES = EVAL / "holdout_cases.json"
RULES_CASES = EVAL / "rules_cases.json"
BLIND_CASES = EVAL / "blind_cases.json"


def test_metrics_by_hand() -> None:
    grades = {"a": 3, "b": 1}
    assert ndcg_at(["a", "b", "x"], grades) == 1.0
    assert 0 < ndcg_at(["x", "b", "a"], grades) < 1
    assert recall_at(["x", "a"], {"a": 3, "c": 2}) == 0.5


def test_the_model_beats_both_keyword_baselines_and_breaks_no_rule() -> None:
    cases = load_cases(CASES)
    assert len(cases.projects) >= 50 and len(cases.needs) >= 40
    results = evaluate(cases)
    model, bm25, eligible = results["model"], results["bm25"], results["bm25_eligible"]
    # Measured 0.914 against 0.297 and 0.447; this guards against regressions.
    assert model["ndcg@5"] >= 0.90
    assert model["ndcg@5"] >= bm25["ndcg@5"] + 0.15
    assert model["ndcg@5"] >= eligible["ndcg@5"] + 0.05
    assert model["violations@10"] == 0
    assert bm25["violations@10"] > 0  # the keyword search does offer ineligible projects


def test_the_model_beats_the_eligible_keyword_baseline_on_the_second_set() -> None:
    cases = load_cases(DEV_CASES)
    results = evaluate(cases)
    model, eligible = results["model"], results["bm25_eligible"]
    # Measured 0.962 against 0.898 (bm25 0.839).
    assert model["ndcg@5"] >= 0.93
    assert model["ndcg@5"] >= eligible["ndcg@5"] + 0.05
    assert model["violations@10"] == 0


def test_the_model_beats_both_keyword_baselines_on_the_holdout_set() -> None:
    results = evaluate(load_cases(HOLDOUT_CASES))
    model, bm25, eligible = results["model"], results["bm25"], results["bm25_eligible"]
    # Measured once, after the settings were chosen: 0.890 against 0.724 and 0.844; with the
    # second language's keys added (no setting changed), 0.893 against 0.724 and 0.844.
    assert model["ndcg@5"] >= bm25["ndcg@5"] + 0.15
    assert model["ndcg@5"] > eligible["ndcg@5"]
    assert model["violations@10"] == 0


def test_the_new_rules_keep_every_tempting_negative_of_the_rules_set_out() -> None:
    results = evaluate(load_cases(RULES_CASES))
    model, bm25, eligible = results["model"], results["bm25"], results["bm25_eligible"]
    # First measured with the new rules, no setting changed for it: 0.923 against 0.684 and
    # 0.892 (0.773 and 0.796 before the rules, which then let the tempting negatives through).
    assert model["ndcg@5"] >= 0.90
    assert model["ndcg@5"] >= eligible["ndcg@5"]
    assert model["violations@10"] == 0
    assert bm25["violations@10"] > 0.4  # a keyword search offers what the rules exclude


def test_the_blind_set_is_ranked_as_first_measured() -> None:
    results = evaluate(load_cases(BLIND_CASES))
    model, bm25, eligible = results["model"], results["bm25"], results["bm25_eligible"]
    # First run, no setting changed for it: 0.948 against 0.758 and 0.936; 暂无合适 for 4 of 6.
    assert model["ndcg@5"] >= 0.94
    assert bm25["violations@10"] > 0.5  # a keyword search offers what the rules exclude
    assert model["ndcg@5"] >= eligible["ndcg@5"]
    assert model["violations@10"] == 0
    assert model["told_nothing_suitable"] >= 4 / 6
    assert model["best_shown_low"] == 0


def test_low_match_never_hides_the_best_project_and_nothing_suitable_is_said_where_measured() -> (
    None
):
    # Told 暂无合适 on the needs with no suitable project: 50% of 6 (cases), 100% of 2 (dev),
    # 50% of 2 (holdout), 40% of 5 (rules), 67% of 6 (blind); the rest are led by a project
    # of the need's domain whose words match but whose help does not. Never a grade-3 project
    # shown as 低匹配度.
    told = {CASES: 0.5, DEV_CASES: 1.0, HOLDOUT_CASES: 0.5, RULES_CASES: 0.4, BLIND_CASES: 0.66}
    for path, share in told.items():
        model = evaluate(load_cases(path))["model"]
        assert model["best_shown_low"] == 0, path.name
        assert model["told_nothing_suitable"] >= share, path.name


def test_the_low_match_threshold_is_the_one_fitted_on_the_dev_set() -> None:
    fitted = fit_low_match_threshold(labelled_pairs(load_cases(DEV_CASES)))
    assert abs(fitted - LOW_MATCH_THRESHOLD) < 0.001


def test_evaluate_command_prints_json_for_any_case_file(tmp_path: Path) -> None:
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": TEST_SECRET_KEY,
         "DATA_KEY": TEST_DATA_KEY}
    )  # fmt: skip
    runner: FlaskCliRunner = app.test_cli_runner()
    result = runner.invoke(args=["matcher", "evaluate", "--json", "--cases", str(CASES)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) == {"model", "bm25", "bm25_eligible"}
    assert set(payload["model"]) == {"ndcg@5", "recall@10", "violations@10",
                                     "told_nothing_suitable", "best_shown_low"}  # fmt: skip
    table = runner.invoke(args=["matcher", "evaluate", "--cases", str(RULES_CASES)])
    assert "提示“暂无合适”的占 40%" in table.output
    assert "被标为低匹配度的占 0%" in table.output
    calibrated = runner.invoke(args=["matcher", "calibrate"])
    assert f"当前使用 {LOW_MATCH_THRESHOLD:.3f}" in calibrated.output


def test_evaluate_active_scores_the_model_in_use_beside_the_default(
    app: Flask, db: Session
) -> None:
    places = [4.0 if f == "quota" else 0.0 for f in FEATURES]
    db.add(
        ModelVersion(
            name="logistic-places", kind="logistic", created_at=utcnow(), is_active=True,
            feature_names=list(FEATURES), params={"coef": places, "intercept": -2.0},
        )
    )  # fmt: skip
    db.flush()
    runner = app.test_cli_runner()
    args = ["matcher", "evaluate", "--active", "--cases", str(DEV_CASES)]
    result = runner.invoke(args=[*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert list(payload) == ["model", "active", "bm25", "bm25_eligible"]
    active = payload["active"]
    assert active["name"] == "logistic-places"
    in_use = LearnedModel(coef=places, intercept=-2.0)
    assert active["ndcg@5"] == evaluate(load_cases(DEV_CASES), in_use)["model"]["ndcg@5"]
    assert active["ndcg@5"] < payload["model"]["ndcg@5"]  # places alone rank worse
    table = runner.invoke(args=args)
    assert "active" in table.output and "logistic-places" in table.output
