"""The local needs ledger: households, their members, government aid and needs.

ID numbers and phones are stored encrypted with a keyed hash for look-ups and a masked copy
for display; every read of a household's personal data is audited.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from matcher.conditions import shipped_catalogue
from models import (
    AuditLog,
    GovAid,
    Household,
    Member,
    Need,
    Pairing,
    Region,
    Station,
    User,
    clock,
)
from models.enums import (
    ChildStatus,
    DisabilityType,
    Domain,
    GovAidType,
    HouseholdStatus,
    IllnessKind,
    Relation,
    Role,
    SchoolStage,
    SelfCare,
    Sex,
    Urgency,
)
from models.regions import is_within

from .audit import looked_at, write_audit
from .contracts import GOV_AID, HOUSEHOLD, MEMBER, NEED, field_problems
from .crypto import cipher_of, mask_id_number, mask_phone, normalize_phone
from .errors import NotFound, ValidationFailed
from .household_search import search_condition
from .id_numbers import id_birth_date, normalize_id_number
from .public_text import suggest_public_summary, summary_problems
from .referrals.workflow import end_for_withdrawn_consent
from .scoping import require_role, scoped
from .stations import station_for

E = TypeVar("E", bound=enum.Enum)


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
    #: Condition catalogue codes the station confirms; None leaves them unconfirmed, and the
    #: matcher then reads ``illness`` mapped to the catalogue (:func:`suggested_conditions`).
    conditions: list[str] | None = None
    child_status: str | None = None


@dataclass
class HouseholdInput:
    region_code: str
    address: str | None = None
    phone: str | None = None
    categories: list[str] = field(default_factory=list)
    situations: list[str] = field(default_factory=list)
    income_per_head_fen: int = 0
    medical_expense_fen: int = 0
    education_expense_fen: int = 0
    consent_on: dt.date | None = None
    consent_scope: str | None = None
    members: list[MemberInput] = field(default_factory=list)


def household_errors(db: Session, station: Station, data: HouseholdInput) -> dict[str, Any]:
    """Household-level problems: the household contract (``contracts.HOUSEHOLD``), the region
    and the one head; members are checked on building."""
    errors: dict[str, Any] = field_problems(HOUSEHOLD, data)
    if db.get(Region, data.region_code) is None or not is_within(
        data.region_code, station.region_code
    ):
        errors["region_code"] = ["地址所在行政区划不在本服务站的服务范围内。"]
    if sum(1 for m in data.members if m.relation == Relation.HEAD) != 1:
        errors.setdefault("members", ["家庭成员中须有且仅有一名户主。"])
    return errors


def create_household(
    db: Session, actor: User, data: HouseholdInput, station_id: int | None = None
) -> Household:
    """Register a household with its members at the actor's station (or ``station_id``).

    :raise ValidationFailed: no head, bad ID numbers, region outside the station's area.
    """
    station = station_for(db, actor, station_id)
    errors = household_errors(db, station, data)
    members = build_members(db, data.members, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    head = next(m for m in members if m.relation == Relation.HEAD)
    household = Household(
        station_id=station.id,
        region_code=data.region_code,
        head_name=head.name,
        address=data.address,
        categories=list(data.categories),
        situations=list(data.situations),
        income_per_head_fen=data.income_per_head_fen,
        medical_expense_fen=data.medical_expense_fen,
        education_expense_fen=data.education_expense_fen,
        consent_on=data.consent_on,
        consent_scope=data.consent_scope,
        consent_recorded_by_id=actor.id if data.consent_on else None,
        created_by_id=actor.id,
        members=members,
    )
    set_phone(db, household, data.phone)
    db.add(household)
    db.flush()
    write_audit(db, actor, "household.create", household)
    return household


def set_phone(db: Session, household: Household, phone: str | None) -> None:
    phone = (phone or "").strip()
    if phone:
        cipher = cipher_of(db)
        household.phone_encrypted = cipher.encrypt(phone)
        household.phone_masked = mask_phone(phone)
        household.phone_hash = cipher.lookup_hash(normalize_phone(phone))
    else:
        household.phone_encrypted = household.phone_masked = household.phone_hash = None


def build_members(
    db: Session, given_members: list[MemberInput], errors: dict[str, Any], prefix: str = "members"
) -> list[Member]:
    """Members from input, ID numbers checked, encrypted, hashed and masked.

    Problems (by the member contract, ``contracts.MEMBER``, and the ID number's checks) go
    into ``errors`` under ``members.<n>.<field>``.
    """
    cipher = cipher_of(db)
    members: list[Member] = []
    seen: set[str] = set()
    for index, given in enumerate(given_members):
        problems = field_problems(MEMBER, given, prefix=f"{prefix}.{index}.")
        errors.update(problems)
        if problems:
            continue
        member = Member(
            name=given.name.strip(),
            relation=Relation(given.relation),
            sex=Sex(given.sex) if given.sex else None,
            disability_type=DisabilityType(given.disability_type)
            if given.disability_type
            else None,
            disability_grade=given.disability_grade,
            illness=given.illness or None,
            illness_kind=IllnessKind(given.illness_kind) if given.illness_kind else None,
            self_care=SelfCare(given.self_care or SelfCare.INDEPENDENT.value),
            school_stage=SchoolStage(given.school_stage) if given.school_stage else None,
            conditions=None if given.conditions is None else list(dict.fromkeys(given.conditions)),
            child_status=ChildStatus(given.child_status) if given.child_status else None,
        )
        if given.id_number:
            try:
                number = normalize_id_number(given.id_number)
            except ValidationFailed as error:
                errors[f"{prefix}.{index}.id_number"] = error.fields["id_number"]
                continue
            if number in seen:
                errors[f"{prefix}.{index}.id_number"] = ["同一户内身份证号重复。"]
                continue
            seen.add(number)
            member.id_number_encrypted = cipher.encrypt(number)
            member.id_number_hash = cipher.lookup_hash(number)
            member.id_number_masked = mask_id_number(number)
        born = given.birth_on or (id_birth_date(number) if given.id_number else None)
        if born is not None:
            member.birth_on_encrypted = cipher.encrypt(born.isoformat())
            member.birth_year = born.year
        if member.disability_grade is not None and member.disability_type is None:
            errors[f"{prefix}.{index}.disability_type"] = ["填写残疾等级时须选择残疾类别。"]
        members.append(member)
    return members


def suggested_conditions(illness: str | None) -> list[str]:
    """The condition catalogue codes an illness text names (尿毒症, 洗血, 老年痴呆 …), for the
    station to confirm; words that only look alike (渐冻症 is not 冻伤, 孤独感 not 孤独症) name
    nothing."""
    return [entry.code for entry in shipped_catalogue().find_in_text(illness or "")]


def _enum(enum_cls: type[E], value: str | None) -> E | None:
    return enum_cls(value) if value else None


@dataclass(frozen=True)
class Duplicate:
    """A member of this household already registered elsewhere: only the other station's name
    is revealed."""

    member_name: str
    station_name: str


#: ID numbers one user may check against every station's register in a day (the
#: ``DUPLICATE_CHECKS_PER_DAY`` setting's default): enough for a station's work, too few to
#: test numbers against the province's register.
DUPLICATE_CHECKS_PER_DAY = 200


@dataclass(frozen=True)
class DuplicateCheck:
    """Members of new households already registered elsewhere; ``is_skipped`` when the day's
    limit of checks was reached and nothing was checked."""

    duplicates: list[Duplicate]
    is_skipped: bool = False


def checks_today(db: Session, actor: User) -> int:
    """How many ID numbers ``actor`` has checked for duplicates today (Asia/Shanghai)."""
    details = db.scalars(
        sa.select(AuditLog.detail).where(
            AuditLog.actor_id == actor.id,
            AuditLog.action == "member.duplicate_check",
            AuditLog.at >= clock.start_of(clock.today()),
        )
    )
    return sum(int((detail or {}).get("checked", 0)) for detail in details)


def check_duplicates(
    db: Session,
    actor: User,
    households: list[Household],
    daily_limit: int = DUPLICATE_CHECKS_PER_DAY,
) -> DuplicateCheck:
    """Members of ``households`` whose ID number (by keyed hash) is registered with another
    active household; only that station's name is given. Every check is audited with the
    members checked, and a user checks at most ``daily_limit`` numbers a day: past it nothing
    is checked (and the refusal is audited), so the register cannot be probed number by number.
    """
    names: dict[str | None, str] = {
        m.id_number_hash: m.name for h in households for m in h.members if m.id_number_hash
    }
    if not names:
        return DuplicateCheck([])
    members = [m.id for h in households for m in h.members if m.id_number_hash]
    if checks_today(db, actor) + len(names) > daily_limit:
        write_audit(
            db, actor, "member.duplicate_check_refused", region_code=actor.region_code,
            detail={"wanted": len(names), "limit": daily_limit, "members": members},
        )  # fmt: skip
        return DuplicateCheck([], is_skipped=True)
    rows = db.execute(
        sa.select(Member.id_number_hash, Station.name)
        .join(Household, Household.id == Member.household_id)
        .join(Station, Station.id == Household.station_id)
        .where(
            Member.id_number_hash.in_(list(names)),
            Household.id.notin_([h.id for h in households]),
            Household.status == HouseholdStatus.ACTIVE,
        )
        .order_by(Station.name)
    ).all()
    duplicates = [Duplicate(names[h], name) for h, name in rows]
    write_audit(
        db, actor, "member.duplicate_check", region_code=actor.region_code,
        detail={"checked": len(names), "found": len(duplicates), "members": members},
    )  # fmt: skip
    return DuplicateCheck(duplicates)


def add_gov_aid(
    db: Session,
    actor: User,
    household: Household,
    aid_type: GovAidType,
    amount_fen: int,
    period_start_on: dt.date,
    period_end_on: dt.date | None = None,
) -> GovAid:
    """Record government assistance the household receives.

    :raise ValidationFailed: the amount out of bounds, or the period ends before it starts.
    """
    errors = field_problems(GOV_AID, {"amount_fen": amount_fen})
    if period_end_on is not None and period_end_on < period_start_on:
        errors["period_end_on"] = ["结束日期不能早于开始日期。"]
    if errors:
        raise ValidationFailed(fields=errors)
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
    member_id: int | None = None,
    amount_gap_fen: int | None = None,
    urgency: Urgency = Urgency.NORMAL,
    public_summary: str | None = None,
) -> Need:
    """Record a need of ``household`` (optionally of one member), with the summary charities
    read before they accept (:func:`web.services.needs.suggest_public_summary` when none is
    written).

    :raise ValidationFailed: the need contract broken (``contracts.NEED``: text, amount,
        summary), a summary that identifies the household, or a member of another household.
    """
    if public_summary is None or not public_summary.strip():
        public_summary = suggest_public_summary(domain, urgency)
    data = {"text": text, "amount_gap_fen": amount_gap_fen, "public_summary": public_summary}
    errors = field_problems(NEED, data)
    errors.update(summary_problems(db, household, public_summary))
    member = None
    if member_id is not None:
        member = next((m for m in household.members if m.id == member_id), None)
        if member is None:
            errors["member_id"] = ["不是该户的成员。"]
    if errors:
        raise ValidationFailed(fields=errors)
    need = Need(
        household=household,
        member=member,
        domain=domain,
        text=text.strip(),
        amount_gap_fen=amount_gap_fen,
        urgency=urgency,
        public_summary=public_summary.strip(),
        created_by_id=actor.id,
    )
    db.add(need)
    db.flush()
    write_audit(db, actor, "need.create", need, region_code=household.region_code)
    return need


@dataclass(frozen=True)
class HouseholdPage:
    items: list[Household]
    total: int
    page: int
    per_page: int


@dataclass(frozen=True)
class HouseholdFilter:
    query: str | None = None
    category: str | None = None
    station_id: int | None = None
    consent: bool | None = None
    include_archived: bool = False


def list_households(
    db: Session,
    actor: User,
    *,
    query: str | None = None,
    page: int = 1,
    per_page: int = 20,
    filters: HouseholdFilter | None = None,
) -> HouseholdPage:
    """The households the actor may see, newest first, filtered by category, station and
    consent, and found by the query (see :func:`search_condition`): any member's name, or
    exactly an ID number or a phone through their keyed hashes. A search is audited by its
    kind, never its value.

    :raise Forbidden: a charity: it knows a household only through its referrals' minimal
        view, never from the needs ledger.
    """
    require_role(actor, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    filters = filters or HouseholdFilter(query=query)
    query = filters.query or query
    stmt = scoped(sa.select(Household), actor)
    kind = None
    if query:
        kind, condition = search_condition(db, query)
        stmt = stmt.where(condition)
    if not filters.include_archived:
        stmt = stmt.where(Household.status == HouseholdStatus.ACTIVE)
    if filters.station_id is not None:
        stmt = stmt.where(Household.station_id == filters.station_id)
    if filters.consent is True:
        stmt = stmt.where(
            Household.consent_on.is_not(None), Household.consent_withdrawn_at.is_(None)
        )
    elif filters.consent is False:
        stmt = stmt.where(
            sa.or_(Household.consent_on.is_(None), Household.consent_withdrawn_at.is_not(None))
        )
    total = db.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    ordered = stmt.options(selectinload(Household.station)).order_by(Household.id.desc())
    if filters.category:
        # Categories are a JSON list; filter them in Python over the scoped, ordered rows.
        matching = [h for h in db.scalars(ordered) if filters.category in h.categories]
        total = len(matching)
        items = matching[(page - 1) * per_page : page * per_page]
    else:
        items = list(db.scalars(ordered.limit(per_page).offset((page - 1) * per_page)))
    looked = looked_at(items, members=False)
    if kind is None:
        write_audit(db, actor, "household.list", region_code=actor.region_code,
                    detail={"page": page, **looked})  # fmt: skip
    else:
        write_audit(db, actor, "household.search", region_code=actor.region_code,
                    detail={"by": kind.value, "found": total, "page": page, **looked})  # fmt: skip
    return HouseholdPage(items, total, page, per_page)


def get_household(db: Session, actor: User, household_id: int) -> Household:
    """One household with members, aid and needs; the read is audited.

    :raise NotFound: no such household, or one the actor may not see (the same answer, so
        ids of other stations cannot be probed).
    """
    household = household_in_scope(db, actor, household_id)
    write_audit(db, actor, "household.read", household, detail=looked_at([household]))
    return household


def household_in_scope(db: Session, actor: User, household_id: int) -> Household:
    """One household the actor may see, with members, aid and needs loaded; not audited, so
    the caller records the look in its own words.

    :raise Forbidden: a charity (it sees households only through its referrals).
    :raise NotFound: as :func:`get_household`.
    """
    stmt = scoped(sa.select(Household).where(Household.id == household_id), actor).options(
        selectinload(Household.members),
        selectinload(Household.gov_aid),
        selectinload(Household.needs).selectinload(Need.events),
        selectinload(Household.station),
    )
    # Charities get a minimal-disclosure view through their referrals, never the full record.
    require_role(actor, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    household = db.scalar(stmt)
    if household is None:
        raise NotFound("困难家庭不存在或您无权查看。")
    return household


def household_for_change(db: Session, actor: User, household_id: int) -> Household:
    """A household the actor may change: its station's staff, or civil affairs above it."""
    require_role(actor, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    household = db.scalar(
        scoped(sa.select(Household).where(Household.id == household_id), actor).options(
            selectinload(Household.members), selectinload(Household.station)
        )
    )
    if household is None:
        raise NotFound("困难家庭不存在或您无权修改。")
    return household


def household_for_edit(db: Session, actor: User, household_id: int) -> Household:
    """A household the actor may change, to show in its edit form (addresses, members'
    illnesses and the rest): the look is audited like any read.

    :raise NotFound: as :func:`household_for_change`.
    """
    household = household_for_change(db, actor, household_id)
    write_audit(
        db, actor, "household.read", household,
        detail={"view": "edit", **looked_at([household])},
    )  # fmt: skip
    return household


def _keep_members_on_record(db: Session, leaving: list[Member]) -> None:
    """Refuse to take off the household a member whom an archived need or a pairing (结对帮扶)
    names: an archived case is never changed, and a pairing's record keeps whom it served.

    :raise ValidationFailed: on ``members``, naming them.
    """
    ids = [m.id for m in leaving if m.id is not None]
    if not ids:
        return
    named = set(
        db.scalars(
            sa.select(Need.member_id).where(Need.member_id.in_(ids), Need.archived_at.is_not(None))
        )
    ) | set(db.scalars(sa.select(Pairing.member_id).where(Pairing.member_id.in_(ids))))
    if named:
        names = "、".join(m.name for m in leaving if m.id in named)
        raise ValidationFailed(fields={"members": [
            f"{names} 有已归档的帮扶记录或结对帮扶记录，不能从家庭成员中删除。"
        ]})  # fmt: skip


def update_household(
    db: Session, actor: User, household_id: int, data: HouseholdInput
) -> Household:
    """Replace a household's details and members.

    Members are matched by ID number (or by name where none is given), so each keeps its
    record and its needs; members no longer listed are removed.

    :raise ValidationFailed: as :func:`create_household`.
    """
    household = household_for_change(db, actor, household_id)
    errors = household_errors(db, household.station, data)
    fresh = build_members(db, data.members, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    by_hash: dict[str | None, Member] = {
        m.id_number_hash: m for m in household.members if m.id_number_hash
    }
    kept: list[Member] = []
    for new in fresh:
        old = by_hash.pop(new.id_number_hash, None) if new.id_number_hash else None
        if old is None and new.id_number_hash is None:
            # No ID number given: the same person by name keeps the ID number on record
            # (forms never send registered ID numbers back).
            old = next((m for m in household.members if m.name == new.name and m not in kept), None)
            if old is not None:
                by_hash.pop(old.id_number_hash, None)
                new.id_number_encrypted = old.id_number_encrypted
                new.id_number_hash = old.id_number_hash
                new.id_number_masked = old.id_number_masked
        if old is not None and new.birth_year is None:
            # Forms never send a registered date of birth back either: keep it.
            new.birth_on_encrypted, new.birth_year = old.birth_on_encrypted, old.birth_year
        if old is None:
            kept.append(new)
            continue
        for column in (
            "name", "relation", "birth_on_encrypted", "birth_year", "sex", "disability_type",
            "disability_grade", "illness", "illness_kind", "self_care", "school_stage",
            "conditions", "child_status",
            "id_number_encrypted", "id_number_hash", "id_number_masked",
        ):  # fmt: skip
            setattr(old, column, getattr(new, column))
        kept.append(old)
    hashes = [m.id_number_hash for m in kept if m.id_number_hash]
    if len(hashes) != len(set(hashes)):
        raise ValidationFailed(fields={"members": ["同一户内身份证号重复。"]})
    _keep_members_on_record(db, [m for m in household.members if m not in kept])
    household.members = kept
    household.head_name = next(m.name for m in kept if m.relation == Relation.HEAD)
    household.region_code = data.region_code
    household.address = data.address
    household.categories = list(data.categories)
    household.situations = list(data.situations)
    household.income_per_head_fen = data.income_per_head_fen
    household.medical_expense_fen = data.medical_expense_fen
    household.education_expense_fen = data.education_expense_fen
    if data.phone:  # an empty phone keeps the one on record (it is never sent back)
        set_phone(db, household, data.phone)
    db.flush()
    write_audit(db, actor, "household.update", household)
    return household


def record_consent(
    db: Session, actor: User, household_id: int, on: dt.date, scope: str
) -> Household:
    """Record the household's consent (授权): date, scope and who recorded it."""
    household = household_for_change(db, actor, household_id)
    if not scope.strip():
        raise ValidationFailed(fields={"scope": ["请说明授权范围。"]})
    household.consent_on = on
    household.consent_scope = scope.strip()
    household.consent_recorded_by_id = actor.id
    household.consent_withdrawn_at = None
    write_audit(db, actor, "household.consent_recorded", household, detail={"on": on.isoformat()})
    return household


def withdraw_consent(db: Session, actor: User, household_id: int, now: dt.datetime) -> Household:
    """The household withdraws its consent: no new referrals, hidden from charities."""
    household = household_for_change(db, actor, household_id)
    household.consent_withdrawn_at = now
    ended = end_for_withdrawn_consent(db, actor, household)
    write_audit(db, actor, "household.consent_withdrawn", household,
                detail={"referrals_ended": ended})  # fmt: skip
    return household


def reveal_member_id(db: Session, actor: User, household_id: int, member_id: int) -> str:
    """The whole ID number of one member, for an explicit "show" action; always audited."""
    return reveal_member(db, actor, get_household(db, actor, household_id), member_id)


def reveal_member(db: Session, actor: User, household: Household, member_id: int) -> str:
    """As :func:`reveal_member_id`, for a household the caller already read."""
    member = next((m for m in household.members if m.id == member_id), None)
    if member is None or member.id_number_encrypted is None:
        raise NotFound("该成员没有登记身份证号。")
    write_audit(db, actor, "member.id_revealed", household, detail={"member_id": member.id})
    return cipher_of(db).decrypt(member.id_number_encrypted)


def reveal_phone(db: Session, actor: User, household_id: int) -> str:
    return reveal_household_phone(db, actor, get_household(db, actor, household_id))


def reveal_household_phone(db: Session, actor: User, household: Household) -> str:
    if household.phone_encrypted is None:
        raise NotFound("该户没有登记联系电话。")
    write_audit(db, actor, "household.phone_revealed", household)
    return cipher_of(db).decrypt(household.phone_encrypted)


def remove_gov_aid(db: Session, actor: User, household_id: int, aid_id: int) -> None:
    household = household_for_change(db, actor, household_id)
    aid = db.get(GovAid, aid_id)
    if aid is None or aid.household_id != household.id:
        raise NotFound("救助记录不存在。")
    db.delete(aid)
    write_audit(db, actor, "household.aid_removed", household, detail={"aid_id": aid_id})
