"""Charities (慈善组织) registering with the civil-affairs department of their level."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from models import AuditLog, Organization, Region, User
from models.enums import OrganizationStatus, RegionLevel, Role

from .audit import write_audit
from .errors import Conflict, Forbidden, NotFound, ServiceError, Throttled, ValidationFailed
from .scoping import scoped


def normalize_uscc(value: str) -> str:
    """A checked 统一社会信用代码.

    :raise ValidationFailed: wrong length, characters or check character.
    """
    try:
        return uscc.validate(value.strip().upper())
    except StdnumError:
        raise ValidationFailed(
            fields={"uscc": ["统一社会信用代码无效（长度、字符或校验位不符）。"]}
        ) from None


def register_organization(
    db: Session,
    actor: User | None,
    *,
    name: str,
    uscc_code: str,
    registered_region_code: str,
    is_certified_charity: bool = False,
    has_public_fundraising: bool = False,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    address: str | None = None,
) -> Organization:
    """Register a charity, pending verification by its registering department.

    :raise ValidationFailed: bad credit code or region.
    :raise Conflict: the credit code is already registered.
    """
    code = normalize_uscc(uscc_code)
    region = db.get(Region, registered_region_code)
    if region is None or region.level not in (
        RegionLevel.PROVINCE,
        RegionLevel.CITY,
        RegionLevel.COUNTY,
    ):
        raise ValidationFailed(
            fields={"registered_region_code": ["登记机关须为省、市或县（区）民政部门。"]}
        )
    if db.scalar(sa.select(Organization.id).where(Organization.uscc == code)) is not None:
        raise Conflict(
            "该统一社会信用代码已登记，请勿重复注册。", fields={"uscc": ["已被其他组织使用。"]}
        )
    organization = Organization(
        name=name.strip(),
        uscc=code,
        registered_region_code=region.code,
        registered_level=region.level,
        is_certified_charity=is_certified_charity,
        has_public_fundraising=has_public_fundraising,
        contact_name=contact_name,
        contact_phone=contact_phone,
        address=address,
    )
    db.add(organization)
    db.flush()
    write_audit(db, actor, "organization.register", organization, region_code=region.code)
    return organization


def may_review(actor: User, registered_region_code: str) -> bool:
    """Only the civil-affairs department a charity registered with reviews it (and admins)."""
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.CIVIL_AFFAIRS and actor.region_code == registered_region_code


def get_organization(db: Session, actor: User, organization_id: int) -> Organization:
    """:raise NotFound: no such organization visible to ``actor``."""
    stmt = scoped(sa.select(Organization).where(Organization.id == organization_id), actor)
    organization = db.scalar(stmt)
    if organization is None:
        raise NotFound("慈善组织不存在或您无权查看。")
    return organization


def own_organization(db: Session, actor: User) -> Organization:
    """The charity ``actor`` works for.

    :raise Forbidden: an account that works for no charity (an administrator, an office, a
        station).
    """
    if actor.role != Role.CHARITY_STAFF or actor.organization_id is None:
        raise Forbidden()
    return get_organization(db, actor, actor.organization_id)


def list_organizations(
    db: Session,
    actor: User,
    status: OrganizationStatus | None = None,
    *,
    reviewable: bool = False,
) -> list[Organization]:
    """Organizations visible to ``actor``; ``reviewable`` keeps the registrations waiting for
    its review (pending, registered with its department)."""
    stmt = scoped(sa.select(Organization), actor).order_by(Organization.id)
    if reviewable:
        status = OrganizationStatus.PENDING
    if status is not None:
        stmt = stmt.where(Organization.status == status)
    organizations = list(db.scalars(stmt))
    if reviewable:
        organizations = [o for o in organizations if may_review(actor, o.registered_region_code)]
    return organizations


def review_organization(
    db: Session,
    actor: User,
    organization_id: int,
    *,
    approve: bool,
    reason: str | None = None,
    now: dt.datetime,
) -> Organization:
    """Verify or reject a pending registration.

    :raise Forbidden: the actor is not the registering department.
    :raise ValidationFailed: rejecting without a reason.
    :raise Conflict: the organization is not pending.
    """
    organization = get_organization(db, actor, organization_id)
    if not may_review(actor, organization.registered_region_code):
        raise Forbidden("只有登记该组织的民政部门可以审核。")
    if organization.status != OrganizationStatus.PENDING:
        raise Conflict(f"该组织当前状态为“{organization.status.label}”，不能审核。")
    if not approve and not (reason or "").strip():
        raise ValidationFailed(fields={"reason": ["驳回时必须说明理由。"]})
    organization.status = OrganizationStatus.VERIFIED if approve else OrganizationStatus.REJECTED
    organization.status_reason = None if approve else (reason or "").strip()
    organization.verified_by_id = actor.id
    organization.verified_at = now
    write_audit(
        db,
        actor,
        "organization.verify" if approve else "organization.reject",
        organization,
        region_code=organization.registered_region_code,
        detail={"reason": organization.status_reason} if not approve else None,
    )
    return organization


def suspend_organization(
    db: Session, actor: User, organization_id: int, *, reason: str, now: dt.datetime
) -> Organization:
    """Suspend a verified charity: it leaves every ledger published from now on.

    :raise Forbidden: the actor is not the registering department.
    :raise ValidationFailed: no reason.
    :raise Conflict: the organization is not verified.
    """
    organization = get_organization(db, actor, organization_id)
    if not may_review(actor, organization.registered_region_code):
        raise Forbidden("只有登记该组织的民政部门可以暂停。")
    if organization.status != OrganizationStatus.VERIFIED:
        raise Conflict(f"该组织当前状态为“{organization.status.label}”，不能暂停。")
    if not reason.strip():
        raise ValidationFailed(fields={"reason": ["暂停时必须说明理由。"]})
    organization.status = OrganizationStatus.SUSPENDED
    organization.status_reason = reason.strip()
    organization.verified_by_id = actor.id
    organization.verified_at = now
    write_audit(
        db, actor, "organization.suspend", organization,
        region_code=organization.registered_region_code, detail={"reason": reason.strip()},
    )  # fmt: skip
    return organization


#: Registrations one client address may attempt in an hour, whatever their outcome.
MAX_REGISTRATIONS_PER_HOUR = 10
_REGISTRATION_ACTIONS = ("organization.register", "organization.register_refused")


def register_charity(
    db: Session,
    *,
    password: str,
    display_name: str,
    client_address: str | None,
    now: dt.datetime,
    **organization: Any,
) -> tuple[Organization, User]:
    """A charity registers itself and its first staff account; it waits for verification.

    The account's username is the organization's 统一社会信用代码, so registering tells
    nobody which other usernames exist. Attempts are audited, refused ones included, and
    limited to :data:`MAX_REGISTRATIONS_PER_HOUR` per ``client_address``. The caller must
    commit even when this raises, so refusals stay on record.

    :raise Throttled: too many attempts from this address in the last hour.
    :raise ValidationFailed / Conflict: as :func:`register_organization` and ``create_user``
        (nothing of the attempt is kept but its audit record).
    """
    from .users import create_user

    attempts = db.scalar(
        sa.select(sa.func.count()).where(
            AuditLog.action.in_(_REGISTRATION_ACTIONS),
            AuditLog.ip == client_address,
            AuditLog.at >= now - dt.timedelta(hours=1),
        )
    )
    if client_address is not None and (attempts or 0) >= MAX_REGISTRATIONS_PER_HOUR:
        write_audit(db, None, "organization.register_throttled")
        raise Throttled("该地址的注册尝试过多，请一小时后再试。")
    try:
        with db.begin_nested():
            found = register_organization(db, None, **organization)
            user = create_user(
                db,
                None,
                username=found.uscc or organization["uscc"],
                password=password,
                display_name=display_name,
                role=Role.CHARITY_STAFF,
                region_code=found.registered_region_code,
                organization_id=found.id,
            )
    except ServiceError as error:
        write_audit(
            db, None, "organization.register_refused",
            detail={"code": error.code, "uscc": str(organization.get("uscc_code", ""))[:32]},
        )  # fmt: skip
        raise
    return found, user
