"""Chinese labels of every vocabulary, by code, as the templates look them up."""

from __future__ import annotations

from matcher.conditions import shipped_catalogue
from models.enums import (
    ChildStatus,
    DeclineReason,
    DisabilityType,
    Domain,
    GovAidType,
    HouseholdCategory,
    HouseholdSituation,
    IllnessKind,
    NeedStatus,
    ReferralStatus,
    Relation,
    SchoolStage,
    SelfCare,
    ServiceType,
    Sex,
    TargetGroup,
)

LABELS: dict[str, dict[str, str]] = {
    "category": HouseholdCategory.labels(),
    "relation": Relation.labels(),
    "sex": Sex.labels(),
    "disability": DisabilityType.labels(),
    "illness_kind": IllnessKind.labels(),
    "self_care": SelfCare.labels(),
    "school_stage": SchoolStage.labels(),
    "aid": GovAidType.labels(),
    "domain": Domain.labels(),
    "group": TargetGroup.labels(),
    "target": TargetGroup.labels(),
    "service": ServiceType.labels(),
    "need_status": NeedStatus.labels(),
    "referral_status": ReferralStatus.labels(),
    "decline": DeclineReason.labels(),
    "child_status": ChildStatus.labels(),
    "situation": HouseholdSituation.labels(),
    "condition": {entry.code: entry.name for entry in shipped_catalogue()},
}
