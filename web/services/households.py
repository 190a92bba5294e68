"""The local needs ledger: households, their members, government aid and needs.

ID numbers and phones are stored encrypted with a keyed hash for look-ups and a masked copy
for display; every read of a household's personal data is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from models import GovAid, Household, Member, Need, Region, Station, User
from models.enums import (
    PRIORITY_GROUPS,
    Domain,
    GovAidType,
    HouseholdCategory,
    IllnessKind,
    Relation,
    Role,
    SelfCare,
    TargetGroup,
    Urgency,
)
from models.regions import code_range, guess_level, region_prefix

from .audit import write_audit
from .crypto import cipher_of, mask_id_number, mask_phone
from .errors import NotFound, ValidationFailed
from .scoping import require_role, scoped


def normalize_id_number(value: str) -> str:
    """A checked 身份证号 in canonical form (upper-case X).

    :raise ValidationFailed: the number fails the checksum, birth date or area checks.
    """
    try:
        return ric.validate(value.strip().upper())
    except StdnumError:
        raise ValidationFailed(
            fields={"id_number": ["身份证号码无效（校验位、出生日期或地区码不符）。"]}
        ) from None


@dataclass
class MemberInput:
    name: str
    relation: Relation
    id_number: str | None = None
    birth_on: dt.date | None = None
    sex: str | None = None
    disability_type: str | None = None
    disability_grade: int | None = None
    illness: str | None = None
    illness_kind: str | None = None
    self_care: str = SelfCare.INDEPENDENT.value
    school_stage: str | None = None


@dataclass
class HouseholdInput:
    region_code: str
    address: str | None = None
    phone: str | None = None
    categories: list[str] = field(default_factory=list)
    income_per_head_fen: int = 0
    medical_expense_fen: int = 0
    education_expense_fen: int = 0
    consent_on: dt.date | None = None
    consent_scope: str | None = None
    members: list[MemberInput] = field(default_factory=list)


def _station_of(db: Session, actor: User, station_id: int | None) -> Station:
    if actor.role == Role.STATION_STAFF:
        station_id = actor.station_id
    station = db.scalar(scoped(sa.select(Station).where(Station.id == station_id), actor))
    if station is None:
        raise NotFound("救助服务站不存在或您无权管理。")
    return station


def create_household(
    db: Session, actor: User, data: HouseholdInput, station_id: int | None = None
) -> Household:
    """Register a household with its members at the actor's station (or ``station_id``).

    :raise ValidationFailed: no head, bad ID numbers, region outside the station's area.
    """
    require_role(actor, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    station = _station_of(db, actor, station_id)
    errors: dict[str, Any] = {}
    station_prefix = region_prefix(station.region_code, guess_level(station.region_code))
    low, high = code_range(station_prefix)
    if db.get(Region, data.region_code) is None or not low <= data.region_code <= high:
        errors["region_code"] = ["地址所在行政区划不在本服务站的服务范围内。"]
    if sum(1 for m in data.members if m.relation == Relation.HEAD) != 1:
        errors["members"] = ["家庭成员中须有且仅有一名户主。"]
    unknown = set(data.categories) - set(HouseholdCategory.codes())
    if unknown:
        errors["categories"] = [f"未知的家庭类别：{'、'.join(sorted(unknown))}。"]
    cipher = cipher_of(db)
    members: list[Member] = []
    for index, given in enumerate(data.members):
        member = Member(
            name=given.name,
            relation=Relation(given.relation),
            birth_on=given.birth_on,
            sex=given.sex,
            disability_type=given.disability_type,
            disability_grade=given.disability_grade,
            illness=given.illness,
            illness_kind=given.illness_kind,
            self_care=SelfCare(given.self_care),
            school_stage=given.school_stage,
        )
        if given.id_number:
            try:
                number = normalize_id_number(given.id_number)
            except ValidationFailed as error:
                errors[f"members.{index}.id_number"] = error.fields["id_number"]
                continue
            member.id_number_encrypted = cipher.encrypt(number)
            member.id_number_hash = cipher.lookup_hash(number)
            member.id_number_masked = mask_id_number(number)
            if member.birth_on is None:
                member.birth_on = ric.get_birth_date(number)
        if member.disability_grade is not None and not 1 <= member.disability_grade <= 4:
            errors[f"members.{index}.disability_grade"] = ["残疾等级应为 1 至 4 级。"]
        members.append(member)
    if errors:
        raise ValidationFailed(fields=errors)
    head = next(m for m in members if m.relation == Relation.HEAD)
    household = Household(
        station_id=station.id,
        region_code=data.region_code,
        head_name=head.name,
        address=data.address,
        categories=list(data.categories),
        income_per_head_fen=data.income_per_head_fen,
        medical_expense_fen=data.medical_expense_fen,
        education_expense_fen=data.education_expense_fen,
        consent_on=data.consent_on,
        consent_scope=data.consent_scope,
        consent_recorded_by_id=actor.id if data.consent_on else None,
        created_by_id=actor.id,
        members=members,
    )
    if data.phone:
        household.phone_encrypted = cipher.encrypt(data.phone.strip())
        household.phone_masked = mask_phone(data.phone)
    db.add(household)
    db.flush()
    write_audit(db, actor, "household.create", household)
    return household


def add_gov_aid(
    db: Session,
    actor: User,
    household: Household,
    aid_type: GovAidType,
    amount_fen: int,
    period_start_on: dt.date,
    period_end_on: dt.date | None = None,
) -> GovAid:
    aid = GovAid(
        household=household,
        aid_type=aid_type,
        amount_fen=amount_fen,
        period_start_on=period_start_on,
        period_end_on=period_end_on,
    )
    db.add(aid)
    db.flush()
    write_audit(db, actor, "household.aid_added", household, detail={"aid_type": aid_type.value})
    return aid


def add_need(
    db: Session,
    actor: User,
    household: Household,
    *,
    domain: Domain,
    text: str,
    member: Member | None = None,
    amount_gap_fen: int | None = None,
    urgency: Urgency = Urgency.NORMAL,
) -> Need:
    need = Need(
        household=household,
        member=member,
        domain=domain,
        text=text,
        amount_gap_fen=amount_gap_fen,
        urgency=urgency,
        created_by_id=actor.id,
    )
    db.add(need)
    db.flush()
    write_audit(db, actor, "need.create", need, region_code=household.region_code)
    return need


def priority_groups(household: Household, today: dt.date) -> list[TargetGroup]:
    """The guidance's priority groups present among the members, derived, never typed."""
    found: set[TargetGroup] = set()
    for member in household.members:
        age = member.age_on(today)
        if age is not None and age >= 60 and member.self_care != SelfCare.INDEPENDENT:
            found.add(TargetGroup.DISABLED_ELDERLY)
        if age is not None and age < 18:
            found.add(TargetGroup.MINOR)
        if member.disability_type is not None:
            found.add(TargetGroup.DISABLED)
        if member.illness_kind in (IllnessKind.SERIOUS, IllnessKind.RARE):
            found.add(TargetGroup.SERIOUS_ILLNESS)
    return [group for group in PRIORITY_GROUPS if group in found]


@dataclass(frozen=True)
class HouseholdPage:
    items: list[Household]
    total: int
    page: int
    per_page: int


def list_households(
    db: Session, actor: User, *, query: str | None = None, page: int = 1, per_page: int = 20
) -> HouseholdPage:
    """The households the actor may see, newest first, optionally filtered by head name."""
    stmt = scoped(sa.select(Household), actor)
    if query:
        stmt = stmt.where(Household.head_name.contains(query, autoescape=True))
    total = db.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    items = db.scalars(
        stmt.options(selectinload(Household.station))
        .order_by(Household.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    write_audit(
        db,
        actor,
        "household.list",
        region_code=actor.region_code,
        detail={"query": query, "page": page},
    )
    return HouseholdPage(list(items), total, page, per_page)


def get_household(db: Session, actor: User, household_id: int) -> Household:
    """One household with members, aid and needs; the read is audited.

    :raise NotFound: no such household, or one the actor may not see (the same answer, so
        ids of other stations cannot be probed).
    """
    stmt = scoped(sa.select(Household).where(Household.id == household_id), actor).options(
        selectinload(Household.members),
        selectinload(Household.gov_aid),
        selectinload(Household.needs),
        selectinload(Household.station),
    )
    household = db.scalar(stmt)
    if household is None:
        raise NotFound("困难家庭不存在或您无权查看。")
    write_audit(db, actor, "household.read", household)
    return household
