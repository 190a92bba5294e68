"""Codes and Chinese labels the matcher needs, read from the shared vocabulary."""

from __future__ import annotations

from models.enums import (
    PRIORITY_GROUPS,
    Domain,
    HouseholdCategory,
    IllnessKind,
    SchoolStage,
    ServiceType,
    TargetGroup,
)

DOMAINS = Domain.codes()
TARGET_GROUPS = TargetGroup.codes()
CATEGORIES = HouseholdCategory.codes()
ILLNESS_KINDS = IllnessKind.codes()
SCHOOL_STAGES = SchoolStage.codes()
DOMAIN_LABELS = Domain.labels()
GROUP_LABELS = TargetGroup.labels()
CATEGORY_LABELS = HouseholdCategory.labels()
SERVICE_LABELS = ServiceType.labels()
PRIORITY = tuple(g.value for g in PRIORITY_GROUPS)

#: Code prefix length of each level; a code covers the codes that share its prefix.
PREFIX = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}
#: How local a service area is, by the level of the area code that covers the household.
LOCALITY = {12: 1.0, 9: 0.85, 6: 0.7, 4: 0.5, 2: 0.3}
LOCALITY_LABELS = {12: "服务范围精确到本村", 9: "服务范围覆盖本乡镇", 6: "本县（区）项目",
                   4: "本市项目", 2: "全省项目"}  # fmt: skip


def level_of(code: str) -> int:
    """The prefix length that identifies ``code`` (trailing zeros are below it)."""
    if code[2:] == "0" * 10:
        return 2
    if code[4:] == "0" * 8:
        return 4
    if code[6:] == "0" * 6:
        return 6
    if code[9:] == "000":
        return 9
    return 12


def ancestor_prefixes(code: str) -> list[str]:
    """The prefixes of ``code`` and every region above it, most general first."""
    level = level_of(code)
    return [code[:n] for n in (2, 4, 6, 9, 12) if n <= level]
