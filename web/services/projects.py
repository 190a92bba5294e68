"""Charity help projects (慈善帮扶项目): registration by the charity that runs them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from models import Organization, Project, ProjectArea, Region, User
from models.enums import (
    Domain,
    HouseholdCategory,
    IllnessKind,
    SchoolStage,
    ServiceForm,
    ServiceType,
    TargetGroup,
)

from .audit import write_audit
from .errors import ValidationFailed


@dataclass
class ProjectInput:
    name: str
    starts_on: dt.date
    ends_on: dt.date
    description: str = ""
    domains: list[str] = field(default_factory=list)
    target_groups: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)
    service_types: list[str] = field(default_factory=list)
    service_area: list[str] = field(default_factory=list)
    min_age: int | None = None
    max_age: int | None = None
    household_categories: list[str] = field(default_factory=list)
    max_income_per_head_fen: int | None = None
    max_disability_grade: int | None = None
    illness_kinds: list[str] = field(default_factory=list)
    school_stages: list[str] = field(default_factory=list)
    amount_per_beneficiary_fen: int | None = None
    budget_fen: int | None = None
    quota: int = 0
    accepts_simplified: bool = False
    response_days: int = 7
    contact_name: str | None = None
    contact_phone: str | None = None


_VOCABULARIES = {
    "domains": Domain,
    "target_groups": TargetGroup,
    "forms": ServiceForm,
    "service_types": ServiceType,
    "household_categories": HouseholdCategory,
    "illness_kinds": IllnessKind,
    "school_stages": SchoolStage,
}


def validate_project(db: Session, data: ProjectInput) -> dict[str, list[str]]:
    """Field errors of a project, in Chinese; empty when it is valid."""
    errors: dict[str, list[str]] = {}
    for name, vocabulary in _VOCABULARIES.items():
        unknown = set(getattr(data, name)) - set(vocabulary.codes())
        if unknown:
            errors[name] = [f"未知的取值：{'、'.join(sorted(unknown))}。"]
    if not data.domains:
        errors.setdefault("domains", []).append("至少选择一个帮扶领域。")
    if not data.service_area:
        errors["service_area"] = ["至少指定一个服务区域。"]
    elif any(db.get(Region, code) is None for code in data.service_area):
        errors["service_area"] = ["服务区域中有不存在的行政区划代码。"]
    if data.ends_on < data.starts_on:
        errors["ends_on"] = ["结束日期不能早于开始日期。"]
    if data.quota < 0:
        errors["quota"] = ["名额不能为负数。"]
    if data.min_age is not None and data.max_age is not None and data.min_age > data.max_age:
        errors["max_age"] = ["最大年龄不能小于最小年龄。"]
    if data.max_disability_grade is not None and not 1 <= data.max_disability_grade <= 4:
        errors["max_disability_grade"] = ["残疾等级应为 1 至 4 级。"]
    return errors


def create_project(
    db: Session, actor: User | None, organization: Organization, data: ProjectInput
) -> Project:
    """A new draft project of ``organization``.

    :raise ValidationFailed: any field error, all reported at once.
    """
    errors = validate_project(db, data)
    if errors:
        raise ValidationFailed(fields=errors)
    values = {k: v for k, v in vars(data).items() if k != "service_area"}
    project = Project(organization=organization, **values)
    project.areas = [ProjectArea(region_code=code) for code in sorted(set(data.service_area))]
    db.add(project)
    db.flush()
    write_audit(
        db, actor, "project.create", project, region_code=organization.registered_region_code
    )
    return project
