"""Personal data is stored encrypted, looked up by keyed hash and shown masked."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Member
from models.enums import Relation, TargetGroup
from tests.helpers import get_user
from web.services.crypto import cipher_of
from web.services.errors import NotFound, ValidationFailed
from web.services.households import (
    HouseholdInput,
    MemberInput,
    create_household,
    get_household,
    update_household,
)


def new_household(db: Session, id_number: str = "440122196503120032") -> HouseholdInput:
    station = get_user(db, "station_a").station
    assert station is not None
    return HouseholdInput(
        region_code=station.region_code,
        phone="13800138000",
        categories=["dibao"],
        members=[
            MemberInput(name="测试户主", relation=Relation.HEAD, id_number=id_number),
            MemberInput(
                name="测试孩子",
                relation=Relation.CHILD,
                birth_on=dt.date(2015, 5, 1),
                disability_type="intellectual",
                disability_grade=2,
            ),
        ],
    )


def test_id_numbers_and_phones_are_encrypted_and_masked(db: Session) -> None:
    household = create_household(db, get_user(db, "station_a"), new_household(db))
    head = household.members[0]
    assert head.id_number_masked == "440122************"
    assert b"440122196503120032" not in head.id_number_encrypted
    assert cipher_of(db).decrypt(head.id_number_encrypted) == "440122196503120032"
    assert household.phone_masked == "138****8000"
    assert b"13800138000" not in household.phone_encrypted
    # The keyed hash finds the person without decrypting anything.
    found = db.scalar(
        sa.select(Member.id).where(
            Member.id_number_hash == cipher_of(db).lookup_hash("440122196503120032")
        )
    )
    assert found == head.id


def test_dates_of_birth_are_encrypted_with_the_year_in_clear_and_kept_on_edit(
    db: Session,
) -> None:
    user = get_user(db, "station_a")
    household = create_household(db, user, new_household(db))
    head, child = household.members
    # The head's date comes from the ID number, the child's as typed; neither in clear.
    assert (head.birth_year, child.birth_year) == (1965, 2015)
    assert cipher_of(db).decrypt(child.birth_on_encrypted or b"") == "2015-05-01"
    assert b"2015-05-01" not in (child.birth_on_encrypted or b"")
    # The edit form never sends a registered date back: left empty, it stays.
    edited = new_household(db)
    edited.members[1].birth_on = None
    edited.members[1].illness = "哮喘"
    update_household(db, user, household.id, edited)
    kept = next(m for m in household.members if m.name == "测试孩子")
    assert kept.birth_year == 2015 and kept.illness == "哮喘"
    assert cipher_of(db).decrypt(kept.birth_on_encrypted or b"") == "2015-05-01"


def test_an_invalid_id_number_names_the_member_and_saves_nothing(db: Session) -> None:
    before = db.scalar(sa.select(sa.func.count(Member.id)))
    with pytest.raises(ValidationFailed) as raised:
        create_household(db, get_user(db, "station_a"), new_household(db, "440122196503120031"))
    assert "members.0.id_number" in raised.value.fields
    assert db.scalar(sa.select(sa.func.count(Member.id))) == before


def test_priority_groups_are_derived_from_members(db: Session) -> None:
    household = create_household(db, get_user(db, "station_a"), new_household(db))
    groups = household.priority_groups(dt.date(2026, 11, 23))
    assert groups == [TargetGroup.MINOR, TargetGroup.DISABLED]


def test_another_stations_household_is_not_found(db: Session) -> None:
    household = create_household(db, get_user(db, "station_a"), new_household(db))
    with pytest.raises(NotFound):
        get_household(db, get_user(db, "station_b"), household.id)
    assert get_household(db, get_user(db, "ca_conghua"), household.id) is household
