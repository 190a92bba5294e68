"""Learning the score from referral outcomes, and deciding whether a new model is better.

Outcomes are (feature row, accepted?) pairs: a referral the charity accepted or completed is a
positive, one it declined a negative. A new model is promoted only if it beats the active one
on outcomes held out from its training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from .ranking import Model
from .scoring import LearnedModel

#: Fewest outcomes (and of each class) worth fitting a model on.
MIN_OUTCOMES = 30


@dataclass(frozen=True)
class TrainingResult:
    model: LearnedModel | None
    candidate_auc: float | None
    active_auc: float | None
    promoted: bool
    outcomes: int
    message: str


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


def train_and_compare(
    matrix: np.ndarray, labels: np.ndarray, active: Model, name: str, seed: int = 7
) -> TrainingResult:
    """Fit on part of the outcomes; promote only if it beats ``active`` on the rest."""
    labels = np.asarray(labels, dtype=int)
    n = len(labels)
    if n < MIN_OUTCOMES or labels.sum() < 5 or (n - labels.sum()) < 5:
        return TrainingResult(
            None, None, None, False, n,
            f"转介结果不足（{n} 条，接收 {int(labels.sum())} 条），继续使用当前模型。",
        )  # fmt: skip
    train_x, hold_x, train_y, hold_y = train_test_split(
        matrix, labels, test_size=0.3, random_state=seed, stratify=labels
    )
    candidate = fit(train_x, train_y, name)
    candidate_auc = auc(candidate, hold_x, hold_y)
    active_auc = auc(active, hold_x, hold_y)
    promoted = candidate_auc > active_auc
    candidate.metrics = {
        "auc_holdout": round(candidate_auc, 4),
        "active_auc_holdout": round(active_auc, 4),
        "outcomes": n,
    }
    verdict = "启用新模型" if promoted else "新模型未优于当前模型，不启用"
    return TrainingResult(
        candidate, candidate_auc, active_auc, promoted, n,
        f"留出集 AUC：新模型 {candidate_auc:.3f}，当前模型 {active_auc:.3f}；{verdict}。",
    )  # fmt: skip


__all__ = ["MIN_OUTCOMES", "TrainingResult", "auc", "fit", "train_and_compare"]
