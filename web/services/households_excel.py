"""Excel in and out of a station's needs ledger: one row per household member.

Rows of one household share a 户编号; household details (categories, income, expenses,
address, phone, consent) are read from the head's row. An import is checked whole: any bad row
or cell and nothing is imported, and every one is reported in Chinese. Exports mask ID numbers
and phones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from models import Household, Region, User
from models.enums import (
    HouseholdStatus,
    Relation,
)
from models.regions import descendant_range
from models.session import assign_ids, insert_new

from .audit import looked_at, write_audit
from .contracts import HOUSEHOLD, MEMBER, field_problems
from .errors import ValidationFailed
from .excel import Column, _parse_cell, _workbook, read_rows
from .households import (
    DUPLICATE_CHECKS_PER_DAY,
    Duplicate,
    MemberInput,
    build_members,
    check_duplicates,
    set_phone,
)
from .stations import station_for

#: The template: the household's key, each member's fields (the member contract), then the
#: household's (the household contract) as read from the head's row.
MEMBER_COLUMNS = (
    Column("户编号", "household_key", "text", required=True),
    *(Column.of(field, rule) for field, rule in MEMBER.items()),
    Column.of("categories", HOUSEHOLD["categories"]),
    Column.of("situations", HOUSEHOLD["situations"]),
    Column.of("income_per_head_fen", HOUSEHOLD["income_per_head_fen"]),
    Column.of("medical_expense_fen", HOUSEHOLD["medical_expense_fen"]),
    Column.of("education_expense_fen", HOUSEHOLD["education_expense_fen"]),
    Column("所在村（社区）代码", "region_code", "code"),
    Column.of("address", HOUSEHOLD["address"]),
    Column.of("phone", HOUSEHOLD["phone"]),
    Column("授权日期", "consent_on", "date"),
    Column("授权范围", "consent_scope", "text"),
)
HOUSEHOLD_HEADERS = [c.header for c in MEMBER_COLUMNS]
#: The export: the template's columns, but the year of birth where the template takes the
#: date (a date beside the masked ID number would give the number back).
EXPORT_COLUMNS = tuple(
    Column("出生年份", "birth_year", "int") if c.field == "birth_on" else c for c in MEMBER_COLUMNS
)
_COLUMN_OF = {c.field: c for c in MEMBER_COLUMNS}
_HEADER_OF = {c.field: c.header for c in MEMBER_COLUMNS}
_MEMBER_FIELDS = (
    "name", "relation", "id_number", "birth_on", "sex", "disability_type", "disability_grade",
    "illness", "illness_kind", "self_care", "school_stage", "conditions", "child_status",
)  # fmt: skip


@dataclass(frozen=True)
class HouseholdImportResult:
    #: What was imported, with their ids and members. On PostgreSQL they are written without
    #: the session (``models.session.insert_new``): read a household back to change it.
    households: list[Household]
    members: int
    duplicates: list[Duplicate]
    #: The day's limit of duplicate checks was reached: none was made.
    is_duplicate_check_skipped: bool = False


def import_households(
    db: Session,
    actor: User,
    stream: IO[bytes],
    station_id: int | None = None,
    duplicate_limit: int = DUPLICATE_CHECKS_PER_DAY,
) -> HouseholdImportResult:
    """Import households into the actor's station (or ``station_id`` for civil affairs).

    :raise ValidationFailed: ``fields["rows"]`` maps each bad row to its reasons.
    """
    station = station_for(db, actor, station_id)
    rows = read_rows(stream, MEMBER_COLUMNS)
    if not rows:
        raise ValidationFailed(fields={"file": ["文件中没有数据行。"]})
    low, high = descendant_range(station.region_code)
    known = set(db.scalars(sa.select(Region.code).where(Region.code.between(low, high))))
    problems: dict[str, list[str]] = defaultdict(list)
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for number, raw in rows:
        errors: list[str] = []
        values = {c.field: _parse_cell(c, raw.get(c.field), errors) for c in MEMBER_COLUMNS}
        if errors:
            problems[str(number)].extend(errors)
        if values["household_key"]:
            groups[values["household_key"]].append((number, values))

    households: list[Household] = []
    for key, members in groups.items():
        heads = [(n, v) for n, v in members if v["relation"] == Relation.HEAD.value]
        if len(heads) != 1:
            for number, _ in members:
                problems[str(number)].append(f"户编号 {key} 须有且仅有一名户主。")
            continue
        head_row, head = heads[0]
        if head["region_code"] not in known:
            problems[str(head_row)].append(
                f"“{_HEADER_OF['region_code']}”不在本服务站的服务范围内或不存在。"
            )
        member_errors: dict[str, Any] = {}
        usable = [(n, v) for n, v in members if v["relation"] and v["name"]]
        # A blank 病种 cell leaves the conditions unconfirmed (None), not confirmed as none:
        # the illness text is mapped to the catalogue until the station confirms.
        inputs = [
            MemberInput(**{f: v[f] for f in _MEMBER_FIELDS if v[f] not in (None, [])})
            for _, v in usable
        ]
        for field, messages in field_problems(HOUSEHOLD, {**head, "members": inputs}).items():
            column = _COLUMN_OF.get(field)
            problems[str(head_row)].extend(column.reason(m) if column else m for m in messages)
        built = build_members(db, inputs, member_errors)
        for location, messages in member_errors.items():
            _, index, field = location.split(".")
            number = usable[int(index)][0]
            column = _COLUMN_OF.get(field)
            problems[str(number)].extend(column.reason(m) if column else m for m in messages)
        if member_errors or str(head_row) in problems:
            continue
        household = Household(
            station_id=station.id,
            region_code=head["region_code"],
            head_name=head["name"],
            address=head["address"],
            categories=head["categories"],
            situations=head["situations"],
            income_per_head_fen=head["income_per_head_fen"] or 0,
            medical_expense_fen=head["medical_expense_fen"] or 0,
            education_expense_fen=head["education_expense_fen"] or 0,
            consent_on=head["consent_on"],
            consent_scope=head["consent_scope"] or ("困难情况核实、慈善帮扶转介"
                                                    if head["consent_on"] else None),
            consent_recorded_by_id=actor.id if head["consent_on"] else None,
            created_by_id=actor.id,
            members=built,
        )  # fmt: skip
        set_phone(db, household, head["phone"])
        households.append(household)
    if problems:
        ordered = dict(sorted(problems.items(), key=lambda item: int(item[0])))
        raise ValidationFailed(
            f"共有 {len(ordered)} 行有误，未导入任何数据；请修改后重新上传。",
            fields={"rows": ordered},
        )
    new_members = [m for h in households for m in h.members]
    assign_ids(db, households)
    assign_ids(db, new_members)
    for household in households:
        for member in household.members:
            member.household_id = household.id  # None until a flush where no ids were given
    if not insert_new(db, households, new_members):
        db.add_all(households)
        db.flush()
    check = check_duplicates(db, actor, households, duplicate_limit)
    write_audit(
        db, actor, "household.import", station, region_code=station.region_code,
        detail={"households": len(households), "duplicates": len(check.duplicates)},
    )  # fmt: skip
    count = sum(len(h.members) for h in households)
    return HouseholdImportResult(households, count, check.duplicates, check.is_skipped)


def export_households(db: Session, actor: User, station_id: int | None = None) -> bytes:
    """The station's needs ledger as ``.xlsx``: the import template's columns, ID numbers and
    phones masked, the year of birth for the date."""
    station = station_for(db, actor, station_id)
    households = list(db.scalars(
        sa.select(Household)
        .where(Household.station_id == station.id, Household.status == HouseholdStatus.ACTIVE)
        .options(selectinload(Household.members))
        .order_by(Household.id)
    ))  # fmt: skip
    rows = []
    for household in households:
        for member in household.members:
            row: dict[str, Any] = {f: getattr(member, f, None) for f in _MEMBER_FIELDS}
            row["id_number"] = member.id_number_masked
            row["birth_year"] = member.birth_year
            row["household_key"] = f"H{household.id}"
            if member.relation == Relation.HEAD:
                row |= {
                    "categories": household.categories,
                    "situations": household.situations,
                    "income_per_head_fen": household.income_per_head_fen,
                    "medical_expense_fen": household.medical_expense_fen,
                    "education_expense_fen": household.education_expense_fen,
                    "region_code": household.region_code,
                    "address": household.address,
                    "phone": household.phone_masked,
                    "consent_on": household.consent_on,
                    "consent_scope": household.consent_scope,
                }
            rows.append({k: (v.value if hasattr(v, "value") else v) for k, v in row.items()})
    write_audit(db, actor, "household.export", station, region_code=station.region_code,
                detail=looked_at(households))  # fmt: skip
    return _workbook(rows, "需求台账", EXPORT_COLUMNS)


def households_template() -> bytes:
    return _workbook([], "需求台账", MEMBER_COLUMNS)
