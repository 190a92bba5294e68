"""Local resources (本地资源): the help a township's own givers offer — 乡贤、村集体（社区
基金）、爱心商户、志愿服务队、爱心企业 — registered by its stations.

A local resource is a :class:`Project` of an :class:`Organization` of kind ``local``: the giver,
who need not be a registered charity (no 统一社会信用代码), registered at the township and
answerable to the station that registered it. The resource has the structured eligibility,
places, budget and dates of any project and goes through the county office's project review;
verified, it is published in the township's own ledger edition (:mod:`.ledgers`) and matched
like any project. The responsible station answers the referrals made to it.

Stations of the same township see each other's local resources; no one else below the county
office does (:func:`~web.services.scoping.actor_township`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from models import Organization, Project, Region, User
from models.base import utcnow
from models.enums import (
    LocalProviderKind,
    OrganizationKind,
    OrganizationStatus,
    ProjectStatus,
    RegionLevel,
    Role,
)
from models.regions import is_within, township_code

from .audit import write_audit
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .projects import ProjectInput, _apply, input_of, stage_changes, validate_project
from .scoping import actor_township, scoped

#: Longest name of a local giver (the organization name column's width).
MAX_PROVIDER_NAME = 128


@dataclass
class LocalResourceInput:
    """A local resource as a station fills it in: the project's fields, and who gives it.
    The responsible person and phone are the project's contact (``contact_name`` and
    ``contact_phone``), both required here."""

    project: ProjectInput
    provider_name: str
    provider_kind: LocalProviderKind


def require_station(actor: User) -> str:
    """The township of the acting station worker.

    :raise Forbidden: not a station's worker.
    """
    township = actor_township(actor)
    if township is None:
        raise Forbidden("只有综合救助服务站（点）工作人员可以登记本地资源。")
    return township


def validate_local_resource(
    db: Session, township: str, data: LocalResourceInput
) -> dict[str, list[str]]:
    """Field errors of a local resource, in Chinese: the project's, the giver's name, the
    responsible person and phone (required), and a service area inside the township."""
    errors = validate_project(db, data.project)
    name = (data.provider_name or "").strip()
    if len(name) < 2:
        errors["provider_name"] = ["请填写提供方名称（至少 2 个字）。"]
    elif len(name) > MAX_PROVIDER_NAME:
        errors["provider_name"] = [f"提供方名称不能超过 {MAX_PROVIDER_NAME} 个字。"]
    if not (data.project.contact_name or "").strip():
        errors["contact_name"] = ["请填写负责人。"]
    if not (data.project.contact_phone or "").strip():
        errors["contact_phone"] = ["请填写负责人联系电话。"]
    if "service_area" not in errors and not all(
        is_within(code, township) for code in data.project.service_area
    ):
        errors["service_area"] = ["本地资源的服务区域只能是本乡镇（街道）或其下的村（社区）。"]
    return errors


def _provider(db: Session, actor: User, township: str, data: LocalResourceInput) -> Organization:
    """The township's giver of that name, or a new one answerable to the actor's station.
    The giver needs no review of its own: the resource does (the county's project review).
    Who registered it is in the audit log (``local_resource.create``), not ``verified_by``,
    which names a reviewer."""
    name = data.provider_name.strip()
    found = db.scalar(
        sa.select(Organization).where(
            Organization.kind == OrganizationKind.LOCAL,
            Organization.registered_region_code == township,
            Organization.name == name,
        )
    )
    if found is None:
        now = utcnow()
        found = Organization(
            name=name, kind=OrganizationKind.LOCAL, provider_kind=data.provider_kind,
            registered_region_code=township, registered_level=RegionLevel.TOWNSHIP,
            responsible_station_id=actor.station_id, status=OrganizationStatus.VERIFIED,
            verified_at=now,
        )  # fmt: skip
        db.add(found)
    found.provider_kind = data.provider_kind
    found.contact_name = data.project.contact_name
    found.contact_phone = data.project.contact_phone
    db.flush()
    return found


def _tidy(data: LocalResourceInput) -> None:
    data.provider_name = data.provider_name.strip()
    data.project.contact_name = (data.project.contact_name or "").strip() or None
    data.project.contact_phone = (data.project.contact_phone or "").strip() or None


def register_local_resource(db: Session, actor: User, data: LocalResourceInput) -> Project:
    """A station registers a local resource of its township; it goes straight to the
    county office's review (submitted).

    :raise Forbidden: the actor is not a station's worker.
    :raise ValidationFailed: any field error, all at once.
    """
    township = require_station(actor)
    errors = validate_local_resource(db, township, data)
    if errors:
        raise ValidationFailed(fields=errors)
    _tidy(data)
    provider = _provider(db, actor, township, data)
    values = {k: v for k, v in vars(data.project).items() if k != "service_area"}
    project = Project(organization=provider, status=ProjectStatus.SUBMITTED, **values)
    db.add(project)
    _apply(project, data.project)  # the service area
    db.flush()
    write_audit(
        db, actor, "local_resource.create", project, region_code=township,
        detail={"provider_id": provider.id, "provider_kind": data.provider_kind.value},
    )  # fmt: skip
    return project


def _local_scope(actor: User) -> sa.Select[Any]:
    stmt = scoped(sa.select(Project), actor).join(
        Organization, Organization.id == Project.organization_id
    )
    stmt = stmt.where(Organization.kind == OrganizationKind.LOCAL)
    if actor.role == Role.CHARITY_STAFF:
        # Local resources are the township's own: a charity reaches them only through the
        # published ledger, which names the responsible station, never the person's phone.
        stmt = stmt.where(sa.false())
    return stmt.options(selectinload(Project.areas), selectinload(Project.organization))


def list_local_resources(
    db: Session, actor: User, *, status: ProjectStatus | None = None
) -> list[Project]:
    """The local resources ``actor`` may see: a station, its township's; a civil-affairs
    office, those of the townships in its region; an administrator, all."""
    stmt = _local_scope(actor)
    if actor.role == Role.CIVIL_AFFAIRS:
        from .scoping import in_region

        stmt = stmt.where(in_region(Organization.registered_region_code, actor))
    if status is not None:
        stmt = stmt.where(Project.status == status)
    return list(db.scalars(stmt.order_by(Project.id.desc())))


def get_local_resource(db: Session, actor: User, project_id: int) -> Project:
    """One local resource the actor may see.

    :raise NotFound: none such, or of another township (or the actor is a charity).
    """
    project: Project | None = db.scalar(_local_scope(actor).where(Project.id == project_id))
    if project is None or (
        actor.role == Role.CIVIL_AFFAIRS
        and not is_within(project.organization.registered_region_code, actor.region_code)
    ):
        raise NotFound("本地资源不存在或您无权查看。")
    return project


def own_local_resource(db: Session, actor: User, project_id: int) -> Project:
    """A local resource of the actor's own township, which its stations may edit.

    :raise NotFound: none such within the actor's township.
    """
    require_station(actor)
    return get_local_resource(db, actor, project_id)


def update_local_resource(
    db: Session, actor: User, project_id: int, data: LocalResourceInput
) -> Project:
    """Edit a local resource. A rejected or withdrawn-before-review one is changed and sent
    for review again; a verified one keeps its verified fields in force and sends the change
    for review, as for any project; the giver's name, kind and responsible person change
    at once.

    :raise Conflict: it is withdrawn or expired.
    """
    project = own_local_resource(db, actor, project_id)
    township = require_station(actor)
    errors = validate_local_resource(db, township, data)
    if errors:
        raise ValidationFailed(fields=errors)
    _tidy(data)
    if project.status in (ProjectStatus.WITHDRAWN, ProjectStatus.EXPIRED):
        raise Conflict(f"本地资源当前为“{project.status.label}”，不能修改。")
    provider = project.organization
    if data.provider_name != provider.name:
        provider = _provider(db, actor, township, data)
        project.organization = provider
    provider.provider_kind = data.provider_kind
    provider.contact_name = data.project.contact_name
    provider.contact_phone = data.project.contact_phone
    if project.status in (ProjectStatus.DRAFT, ProjectStatus.REJECTED, ProjectStatus.SUBMITTED):
        _apply(project, data.project)
        project.status = ProjectStatus.SUBMITTED
        project.status_reason = None
    else:  # verified: the change waits for the county office, as for a charity's project
        stage_changes(project, data.project)
    db.flush()
    write_audit(db, actor, "local_resource.update", project, region_code=township,
                detail={"status": project.status.value})  # fmt: skip
    return project


def withdraw_local_resource(db: Session, actor: User, project_id: int, reason: str) -> Project:
    """Take a local resource off offer (a reason is required); it leaves the next edition
    and is no longer matched.

    :raise Conflict: already withdrawn or expired.
    """
    project = own_local_resource(db, actor, project_id)
    if project.status not in (ProjectStatus.SUBMITTED, ProjectStatus.VERIFIED,
                              ProjectStatus.DRAFT, ProjectStatus.REJECTED):  # fmt: skip
        raise Conflict(f"本地资源当前为“{project.status.label}”，不能撤回。")
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(fields={"reason": ["撤回时必须说明理由。"]})
    project.status = ProjectStatus.WITHDRAWN
    project.status_reason = text
    write_audit(db, actor, "local_resource.withdraw", project,
                region_code=township_code(project.organization.registered_region_code),
                detail={"reason": text})  # fmt: skip
    return project


def local_input_of(project: Project) -> LocalResourceInput:
    """The editable fields of a local resource (for its edit form)."""
    kind = project.organization.provider_kind or LocalProviderKind.OTHER
    return LocalResourceInput(input_of(project), project.organization.name, kind)


def township_villages(db: Session, township: str) -> list[tuple[str, str]]:
    """The township and its villages (code, name): the service areas a station may pick."""
    low, high = township[:9] + "000", township[:9] + "999"
    rows = db.execute(
        sa.select(Region.code, Region.name)
        .where(Region.code.between(low, high))
        .order_by(Region.code)
    ).all()
    return [(code, name) for code, name in rows]
