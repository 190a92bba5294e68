"""The scoring model: eligibility filters, features, ranking, training and evaluation.

Works on plain records (``matcher.records``) and numpy/scipy arrays; never imports Flask or
touches a database session. The web layer and jobs load the data and call :func:`rank`, or
:func:`match_many` for many needs at once.
"""

from .index import ProjectIndex, build_index
from .ranking import Exclusion, Match, Ranking, match_many, rank
from .reasons import Reason
from .records import HouseholdRecord, MemberRecord, NeedRecord, ProjectRecord
from .scoring import FEATURES, LOW_MATCH_THRESHOLD, LearnedModel, WeightedModel

__all__ = [
    "FEATURES",
    "LOW_MATCH_THRESHOLD",
    "Exclusion",
    "HouseholdRecord",
    "LearnedModel",
    "Match",
    "MemberRecord",
    "NeedRecord",
    "ProjectIndex",
    "ProjectRecord",
    "Reason",
    "Ranking",
    "WeightedModel",
    "build_index",
    "match_many",
    "rank",
]
