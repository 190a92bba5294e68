"""Charity help projects (慈善帮扶项目): registration by the charity that runs them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from models import Organization, Project, ProjectArea, Region, User
from models.enums import OrganizationStatus, ProjectStatus, Role

from .audit import write_audit
from .contracts import project_problems
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .scoping import scoped


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
    sexes: list[str] = field(default_factory=list)
    disability_types: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    child_statuses: list[str] = field(default_factory=list)
    household_situations: list[str] = field(default_factory=list)
    amount_per_beneficiary_fen: int | None = None
    budget_fen: int | None = None
    quota: int = 0
    accepts_simplified: bool = False
    response_days: int = 7
    contact_name: str | None = None
    contact_phone: str | None = None


def validate_project(
    db: Session, data: ProjectInput, known_regions: set[str] | None = None
) -> dict[str, list[str]]:
    """Field errors of a project by the project contract (``contracts.PROJECT``), in
    Chinese; empty when it is valid. The service area's codes must exist.

    ``known_regions`` spares a look-up per code when many projects are checked at once.
    """
    errors = project_problems(data)
    if "service_area" not in errors and any(
        (code not in known_regions) if known_regions is not None else db.get(Region, code) is None
        for code in data.service_area
    ):
        errors["service_area"] = ["服务区域代码中有不存在的行政区划代码。"]
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


#: Fields a charity may edit; the rest (status, quota used, review) belong to the workflow.
EDITABLE_FIELDS = tuple(f for f in ProjectInput.__dataclass_fields__)


def input_of(project: Project) -> ProjectInput:
    """The editable fields of ``project`` as an input (for edits and exports)."""
    values = {name: getattr(project, name) for name in EDITABLE_FIELDS if name != "service_area"}
    return ProjectInput(service_area=project.service_area_codes, **values)


def _to_json(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def _from_json(name: str, value: object) -> object:
    if name in ("starts_on", "ends_on") and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def _apply(project: Project, data: ProjectInput) -> None:
    for name in EDITABLE_FIELDS:
        if name != "service_area":
            setattr(project, name, getattr(data, name))
    if sorted(set(data.service_area)) != project.service_area_codes:
        project.areas = [ProjectArea(region_code=c) for c in sorted(set(data.service_area))]


def stage_changes(project: Project, data: ProjectInput) -> bool:
    """Keep the fields of ``data`` that differ from a verified project as its edit waiting
    for review (``pending_changes``); whether there were any."""
    current = input_of(project)
    changes = {
        name: _to_json(getattr(data, name))
        for name in EDITABLE_FIELDS
        if getattr(data, name) != getattr(current, name)
    }
    if changes:
        project.pending_changes = changes
    return bool(changes)


def reviewing_office(organization: Organization) -> str:
    """The region of the office reviewing the organization's projects: its registering
    department, or for a local provider (本地资源) the county containing its township."""
    code = organization.registered_region_code
    return code[:6].ljust(12, "0") if organization.is_local else code


def may_review_project(actor: User, project: Project) -> bool:
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.CIVIL_AFFAIRS and actor.region_code == reviewing_office(
        project.organization
    )


def get_project(db: Session, actor: User, project_id: int) -> Project:
    """:raise NotFound: no such project visible to ``actor`` (other charities' drafts too)."""
    stmt = scoped(sa.select(Project).where(Project.id == project_id), actor).options(
        selectinload(Project.areas), selectinload(Project.organization)
    )
    project = db.scalar(stmt)
    if project is None:
        raise NotFound("项目不存在或您无权查看。")
    return project


def own_project(db: Session, actor: User, project_id: int) -> Project:
    """A project of the actor's own charity; any other is "not found", never "forbidden"."""
    project = get_project(db, actor, project_id)
    if actor.role != Role.ADMIN and (
        actor.role != Role.CHARITY_STAFF or project.organization_id != actor.organization_id
    ):
        raise NotFound("项目不存在或您无权修改。")
    return project


def list_projects(
    db: Session,
    actor: User,
    *,
    status: ProjectStatus | None = None,
    organization_id: int | None = None,
    reviewable: bool = False,
) -> list[Project]:
    """Projects visible to ``actor``; ``reviewable`` keeps those waiting for its review."""
    stmt = scoped(sa.select(Project), actor).options(
        selectinload(Project.areas), selectinload(Project.organization)
    )
    if status is not None:
        stmt = stmt.where(Project.status == status)
    if organization_id is not None:
        stmt = stmt.where(Project.organization_id == organization_id)
    projects = list(db.scalars(stmt.order_by(Project.id)))
    if reviewable:
        projects = [
            p
            for p in projects
            if may_review_project(actor, p)
            and (p.status == ProjectStatus.SUBMITTED or p.pending_changes)
        ]
    return projects


def register_project(db: Session, actor: User, data: ProjectInput) -> Project:
    """A charity registers a new project of its own, as a draft."""
    if actor.role != Role.CHARITY_STAFF or actor.organization is None:
        raise Forbidden("只有慈善组织工作人员可以登记项目。")
    return create_project(db, actor, actor.organization, data)


def update_project(db: Session, actor: User, project_id: int, data: ProjectInput) -> Project:
    """Edit a project. A draft or rejected project changes at once; a verified one keeps its
    verified fields in force and sends the change for review (``pending_changes``).

    :raise Conflict: the project is waiting for review, expired or withdrawn.
    """
    project = own_project(db, actor, project_id)
    errors = validate_project(db, data)
    if errors:
        raise ValidationFailed(fields=errors)
    if project.status in (ProjectStatus.DRAFT, ProjectStatus.REJECTED):
        _apply(project, data)
        project.status = ProjectStatus.DRAFT
        project.status_reason = None
    elif project.status == ProjectStatus.VERIFIED:
        if not stage_changes(project, data):
            return project
    else:
        raise Conflict(f"项目当前状态为“{project.status.label}”，不能修改。")
    db.flush()
    write_audit(db, actor, "project.update", project, detail={"status": project.status.value})
    return project


def submit_project(db: Session, actor: User, project_id: int) -> Project:
    """Send a draft for review by the charity's registering department."""
    project = own_project(db, actor, project_id)
    if project.status != ProjectStatus.DRAFT:
        raise Conflict(f"只有草稿可以提交审核（当前：{project.status.label}）。")
    if project.organization.status != OrganizationStatus.VERIFIED:
        raise Conflict("本组织尚未通过民政部门认证，暂不能提交项目。")
    project.status = ProjectStatus.SUBMITTED
    write_audit(db, actor, "project.submit", project)
    return project


def review_project(
    db: Session,
    actor: User,
    project_id: int,
    *,
    approve: bool,
    reason: str | None = None,
    now: dt.datetime,
) -> Project:
    """Verify or reject a submitted project, or approve or reject a verified one's edit.

    :raise Forbidden: the actor is not the charity's registering department.
    :raise ValidationFailed: rejecting without a reason.
    :raise Conflict: nothing is waiting for review.
    """
    project = get_project(db, actor, project_id)
    if not may_review_project(actor, project):
        raise Forbidden("只有该慈善组织的登记民政部门（本地资源为所在县民政部门）可以审核其项目。")
    if not approve and not (reason or "").strip():
        raise ValidationFailed(fields={"reason": ["驳回时必须说明理由。"]})
    if project.status == ProjectStatus.SUBMITTED:
        project.status = ProjectStatus.VERIFIED if approve else ProjectStatus.REJECTED
        project.status_reason = None if approve else reason
        if approve:
            project.verified_at = project.confirmed_at = now
            project.verified_by_id = actor.id
        action = "project.verify" if approve else "project.reject"
    elif project.status == ProjectStatus.VERIFIED and project.pending_changes:
        if approve:
            data = input_of(project)
            for name, value in project.pending_changes.items():
                setattr(data, name, _from_json(name, value))
            _apply(project, data)
            project.verified_at = project.confirmed_at = now
            project.verified_by_id = actor.id
            project.status_reason = None
        else:
            project.status_reason = f"修改未通过：{reason}"
        project.pending_changes = None
        action = "project.change_approved" if approve else "project.change_rejected"
    else:
        raise Conflict("该项目没有待审核的内容。")
    db.flush()
    write_audit(
        db, actor, action, project, region_code=project.organization.registered_region_code,
        detail={"reason": reason} if not approve else None,
    )  # fmt: skip
    return project


def withdraw_project(db: Session, actor: User, project_id: int, reason: str) -> Project:
    project = own_project(db, actor, project_id)
    if project.status not in (ProjectStatus.VERIFIED, ProjectStatus.SUBMITTED):
        raise Conflict(f"项目当前状态为“{project.status.label}”，不能撤回。")
    if not reason.strip():
        raise ValidationFailed(fields={"reason": ["撤回时必须说明理由。"]})
    project.status = ProjectStatus.WITHDRAWN
    project.status_reason = reason.strip()
    write_audit(db, actor, "project.withdraw", project, detail={"reason": reason})
    return project


def confirm_project(db: Session, actor: User, project_id: int, now: dt.datetime) -> Project:
    """The charity's half-year confirmation that the project is still on offer."""
    project = own_project(db, actor, project_id)
    if project.status != ProjectStatus.VERIFIED:
        raise Conflict("只有已审核的项目需要确认。")
    project.confirmed_at = now
    write_audit(db, actor, "project.confirm", project)
    return project


def stale_projects(db: Session, actor: User, now: dt.datetime) -> list[Project]:
    """Verified projects visible to ``actor`` unconfirmed for more than half a year
    (:meth:`Project.is_stale`).

    They are left out of the next edition; the charity sees them flagged on its pages.
    """
    stmt = scoped(sa.select(Project), actor).where(
        Project.status == ProjectStatus.VERIFIED, Project.is_stale(now)
    )
    return list(db.scalars(stmt.order_by(Project.id)))


def expire_projects(db: Session, today: dt.date) -> list[Project]:
    """Mark verified projects expired (the daily job): those past their end date, and those
    whose places are all taken by referrals already accepted or served (a place held only by an
    approval may still come back through a decline, a cancellation or an expiry)."""
    from models import Referral
    from models.enums import ReferralStatus

    waiting = sa.select(Referral.id).where(
        Referral.project_id == Project.id, Referral.status == ReferralStatus.APPROVED
    )
    projects = list(
        db.scalars(
            sa.select(Project)
            .where(
                Project.status == ProjectStatus.VERIFIED,
                sa.or_(
                    Project.ends_on < today,
                    sa.and_(
                        Project.quota > 0,
                        Project.quota_used >= Project.quota,
                        ~waiting.exists(),
                    ),
                ),
            )
            .order_by(Project.id)
        )
    )
    for project in projects:
        project.status = ProjectStatus.EXPIRED
        why = "ended" if project.ends_on < today else "quota_used"
        write_audit(db, None, "project.expire", project, actor_name="system",
                    detail={"why": why})  # fmt: skip
    return projects
