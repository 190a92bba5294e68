"""What 低匹配度 and 暂无合适 say, calibrated on labelled cases.

A result is shown as 低匹配度 when its score is below ``LOW_MATCH_THRESHOLD``
(``scoring.py``), and a need is told 暂无合适的慈善帮扶项目 when every result it gets is. The
threshold is not chosen by eye: :func:`fit_low_match_threshold` fits a logistic curve
P(suitable | score) to the labelled (need, project) pairs of one case file, each pair being a
project the matcher ranks in a need's top ten, labelled suitable when graded 2 or 3. The two
classes are weighted to count equally (there are far more unsuitable pairs than suitable ones),
so the threshold is the score at which a result is as likely suitable as not. It is fitted on
``dev_cases.json`` and checked on the other files, which it never sees.

``evaluation.evaluate`` measures what the two statements are worth on a case file: the share
of needs with no suitable project that are told 暂无合适 (``told_nothing_suitable``), and the
share of the best projects (grade 3) in a top ten that are shown as 低匹配度
(``best_shown_low``), which should be none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from .evaluation import SUITABLE, CaseSet
from .index import ProjectIndex, build_index
from .ranking import Model, rank

#: How many ranked results of each need are labelled pairs (the results a station sees).
TOP = 10


@dataclass(frozen=True)
class LabelledPairs:
    """Scores of the matcher's top results and whether each is suitable (grade >= 2)."""

    scores: np.ndarray
    suitable: np.ndarray


def labelled_pairs(
    cases: CaseSet, model: Model | None = None, index: ProjectIndex | None = None
) -> LabelledPairs:
    """The top-``TOP`` results of every need of ``cases``, scored by ``model``."""
    index = index or build_index(cases.projects)
    scores: list[float] = []
    suitable: list[bool] = []
    for need in cases.needs:
        grades = cases.judgments.get(str(need.id), {})
        for match in rank(index, need, cases.as_of, limit=TOP, model=model).items:
            scores.append(match.score)
            suitable.append(grades.get(str(match.project.id), 0) >= SUITABLE)
    return LabelledPairs(np.array(scores, dtype=np.float64), np.array(suitable, dtype=bool))


def fit_low_match_threshold(pairs: LabelledPairs) -> float:
    """The score at which the class-balanced logistic fit of P(suitable | score) is 1/2.

    :raise ValueError: the pairs hold only one class, or suitability falls with the score.
    """
    if pairs.suitable.all() or not pairs.suitable.any():
        raise ValueError("calibration needs suitable and unsuitable pairs")
    fit = LogisticRegression(class_weight="balanced", max_iter=1000)
    fit.fit(pairs.scores.reshape(-1, 1), pairs.suitable)
    slope, intercept = float(fit.coef_[0][0]), float(fit.intercept_[0])
    if slope <= 0:
        raise ValueError("suitability does not rise with the score")
    return -intercept / slope
