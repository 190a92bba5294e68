"""Charities (慈善组织) registering with the civil-affairs department of their level."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from models import Organization, Region, User
from models.enums import RegionLevel

from .audit import write_audit
from .errors import Conflict, ValidationFailed


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
