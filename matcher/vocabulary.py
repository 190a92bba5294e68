"""Codes and Chinese labels the matcher needs, read from the shared vocabulary."""

from __future__ import annotations

from models.enums import (
    PRIORITY_GROUPS,
    ChildStatus,
    DisabilityType,
    Domain,
    HouseholdCategory,
    HouseholdSituation,
    IllnessKind,
    SchoolStage,
    SelfCare,
    ServiceType,
    Sex,
    TargetGroup,
)

DOMAINS = Domain.codes()
TARGET_GROUPS = TargetGroup.codes()
CATEGORIES = HouseholdCategory.codes()
ILLNESS_KINDS = IllnessKind.codes()
SCHOOL_STAGES = SchoolStage.codes()
SEXES = Sex.codes()
DISABILITY_TYPES = DisabilityType.codes()
CHILD_STATUSES = ChildStatus.codes()
SITUATIONS = HouseholdSituation.codes()
SEX_LABELS = Sex.labels()
CHILD_STATUS_LABELS = ChildStatus.labels()
SITUATION_LABELS = HouseholdSituation.labels()
DOMAIN_LABELS = Domain.labels()
GROUP_LABELS = TargetGroup.labels()
CATEGORY_LABELS = HouseholdCategory.labels()
SERVICE_LABELS = ServiceType.labels()
DISABILITY_LABELS = DisabilityType.labels()
SELF_CARE_LABELS = SelfCare.labels()
SCHOOL_LABELS = SchoolStage.labels()
PRIORITY = tuple(g.value for g in PRIORITY_GROUPS)

#: How local a service area is, by the level of the area code that covers the household.
LOCALITY = {12: 1.0, 9: 0.85, 6: 0.7, 4: 0.5, 2: 0.3}
LOCALITY_LABELS = {12: "服务范围精确到本村", 9: "服务范围覆盖本乡镇", 6: "本县（区）项目",
                   4: "本市项目", 2: "全省项目"}  # fmt: skip
