"""Learning the score from referral outcomes, and deciding whether a new model is better.

Outcomes are (feature row, accepted?) pairs: a referral the charity accepted or completed is a
positive, one it declined a negative. A new model is promoted only if it beats the active one
on outcomes held out from its training *and* ranks the labelled case files (``seed/eval``)
about as well: charities' answers reward what they reward (places to spare, a nearby office),
and a model that learns only that can rank a goods parcel first for a chemotherapy need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from .evaluation import CASE_FILE_LABELS, Benchmark, case_file_label, ndcg_by_model
from .ranking import Model
from .reasons import Labels, Names, Reason
from .scoring import LearnedModel

#: Fewest outcomes (and of each class) worth fitting a model on.
MIN_OUTCOMES = 30

#: How far below the active model's NDCG@5 a candidate may fall on any case file.
NDCG_TOLERANCE = 0.01


@dataclass(frozen=True)
class CaseFileCheck:
    """NDCG@5 of the candidate and of the active model on one case file."""

    case_file: str
    candidate: float
    active: float

    @property
    def drop(self) -> float:
        return self.active - self.candidate

    @property
    def passed(self) -> bool:
        # Compared as printed (four places), so a tie is never lost to the last bit.
        return round(self.drop, 4) <= NDCG_TOLERANCE


@dataclass(frozen=True)
class TrainingResult:
    model: LearnedModel | None
    candidate_auc: float | None
    active_auc: float | None
    promoted: bool
    outcomes: int
    message: str
    case_files: list[CaseFileCheck] = field(default_factory=list)
    #: Why the candidate was not promoted (empty when it was).
    refusals: list[Reason] = field(default_factory=list)
    #: Why no candidate was fitted (None when one was).
    not_fitted: Reason | None = None


def ndcg_refusal(check: CaseFileCheck) -> Reason:
    """Why a candidate that ranks a case file worse is refused."""
    label = CASE_FILE_LABELS.get(check.case_file)
    case_file = Labels([label]) if label else Names([case_file_label(check.case_file)])
    return Reason(
        "%(case_file)s的 NDCG@5 比当前模型低 %(drop)s（%(candidate)s，当前模型 %(active)s；至多可低 %(tolerance)s）",  # noqa: E501  (one literal: the catalogue's message id)
        case_file=case_file, drop=f"{check.drop:.3f}", candidate=f"{check.candidate:.3f}",
        active=f"{check.active:.3f}", tolerance=f"{NDCG_TOLERANCE:.2f}",
    )  # fmt: skip


def auc_refusal(candidate: float, active: float) -> Reason:
    """Why a candidate that predicts acceptance no better is refused."""
    return Reason(
        "预测接收的效果未优于当前模型（留出集 AUC %(candidate)s，当前模型 %(active)s）",
        candidate=f"{candidate:.3f}", active=f"{active:.3f}",
    )  # fmt: skip


def too_few_outcomes(n: int, accepted: int) -> Reason:
    """Why no model was fitted."""
    return Reason("转介结果不足（%(n)s 条，接收 %(accepted)s 条），继续使用当前模型。",
                  n=n, accepted=accepted)  # fmt: skip


def enough_outcomes(labels: np.ndarray) -> bool:
    """Whether there are outcomes enough, of each kind, to fit a model on."""
    labels = np.asarray(labels, dtype=int)
    accepted = int(labels.sum())
    return len(labels) >= MIN_OUTCOMES and accepted >= 5 and len(labels) - accepted >= 5


def fit(matrix: np.ndarray, labels: np.ndarray, name: str) -> LearnedModel:
    classifier = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    classifier.fit(matrix, labels)
    return LearnedModel(
        coef=[float(c) for c in classifier.coef_[0]],
        intercept=float(classifier.intercept_[0]),
        name=name,
    )


def auc(model: Model, matrix: np.ndarray, labels: np.ndarray) -> float:
    """How well the model's scores separate accepted from declined (ROC AUC)."""
    return float(roc_auc_score(labels, model.score(matrix)))


def compare_on_case_files(
    candidate: Model, active: Model, benchmarks: Sequence[Benchmark]
) -> list[CaseFileCheck]:
    """NDCG@5 of both models on every case file."""
    checks = []
    for benchmark in benchmarks:
        mine, theirs = ndcg_by_model(benchmark, [candidate, active])
        checks.append(CaseFileCheck(benchmark.name, round(mine, 4), round(theirs, 4)))
    return checks


def train_and_compare(
    matrix: np.ndarray,
    labels: np.ndarray,
    active: Model,
    name: str,
    seed: int = 7,
    benchmarks: Sequence[Benchmark] = (),
) -> TrainingResult:
    """Fit on part of the outcomes; promote only if it beats ``active`` on the rest (ROC AUC)
    and its NDCG@5 on each of ``benchmarks`` is at most ``NDCG_TOLERANCE`` below the active
    model's. Both measures are taken whatever the first one says, so every run can show them.
    """
    labels = np.asarray(labels, dtype=int)
    n = len(labels)
    if not enough_outcomes(labels):
        why = too_few_outcomes(n, int(labels.sum()))
        return TrainingResult(None, None, None, False, n, str(why), not_fitted=why)
    train_x, hold_x, train_y, hold_y = train_test_split(
        matrix, labels, test_size=0.3, random_state=seed, stratify=labels
    )
    candidate = fit(train_x, train_y, name)
    candidate_auc = auc(candidate, hold_x, hold_y)
    active_auc = auc(active, hold_x, hold_y)
    checks = compare_on_case_files(candidate, active, benchmarks)
    refusals = []
    if not candidate_auc > active_auc:
        refusals.append(auc_refusal(candidate_auc, active_auc))
    refusals += [ndcg_refusal(check) for check in checks if not check.passed]
    promoted = not refusals
    candidate.metrics = {
        "auc_holdout": round(candidate_auc, 4),
        "active_auc_holdout": round(active_auc, 4),
        "outcomes": n,
    }
    ranking = "；".join(f"{c.case_file} {c.candidate:.3f}（当前 {c.active:.3f}）" for c in checks)
    message = f"留出集 AUC：新模型 {candidate_auc:.3f}，当前模型 {active_auc:.3f}"
    if ranking:
        message += f"；评测集 NDCG@5：{ranking}"
    message += "；启用新模型。" if promoted else f"；不启用：{'；'.join(refusals)}。"
    return TrainingResult(
        candidate, candidate_auc, active_auc, promoted, n, message, checks, refusals
    )


__all__ = [
    "MIN_OUTCOMES",
    "NDCG_TOLERANCE",
    "CaseFileCheck",
    "TrainingResult",
    "auc",
    "compare_on_case_files",
    "enough_outcomes",
    "fit",
    "ndcg_refusal",
    "train_and_compare",
]
