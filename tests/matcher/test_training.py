"""Learning from outcomes: one deciding feature is learned; a worse model is not promoted."""

from __future__ import annotations

import numpy as np

from matcher import FEATURES, WeightedModel
from matcher.training import train_and_compare


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
