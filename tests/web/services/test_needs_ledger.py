"""The needs ledger: personal data at rest, station isolation, duplicates, imports, worklist."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import AuditLog, Household, Need
from models.base import utcnow
from models.enums import Domain, GovAidType, NeedStatus, Relation, Urgency
from seed.synthetic import household_rows, households_workbook
from tests.helpers import get_user
from web.services.errors import Conflict, NotFound, ValidationFailed
from web.services.households import (
    HouseholdInput,
    MemberInput,
    add_gov_aid,
    add_need,
    check_duplicates,
    create_household,
    get_household,
    list_households,
    record_consent,
    reveal_member_id,
    update_household,
    withdraw_consent,
)
from web.services.households_excel import export_households, import_households
from web.services.needs import set_need_status, worklist

HEAD_ID = "440122196503120032"
TODAY = dt.date(2026, 11, 23)


def household_input(db: Session, username: str, head_id: str = HEAD_ID) -> HouseholdInput:
    station = get_user(db, username).station
    assert station is not None
    return HouseholdInput(
        region_code=station.region_code,
        phone="13912345678",
        categories=["dibao_edge"],
        medical_expense_fen=3_000_000,
        members=[
            MemberInput(name="黄建国", relation=Relation.HEAD, id_number=head_id),
            MemberInput(name="黄小雨", relation=Relation.CHILD, birth_on=dt.date(2014, 2, 1)),
        ],
    )


def test_the_database_never_holds_an_id_number_or_phone_in_clear(db: Session) -> None:
    create_household(db, get_user(db, "station_a"), household_input(db, "station_a"))
    db.flush()
    raw = [
        *db.execute(sa.text("SELECT * FROM members")).all(),
        *db.execute(sa.text("SELECT * FROM households")).all(),
    ]
    dump = repr(raw)
    assert HEAD_ID not in dump and "13912345678" not in dump
    assert HEAD_ID[:6] + "*" * 12 in dump  # the masked copy is there


def test_showing_an_id_number_is_audited(db: Session) -> None:
    household = create_household(db, get_user(db, "station_a"), household_input(db, "station_a"))
    head = household.members[0]
    shown = reveal_member_id(db, get_user(db, "station_a"), household.id, head.id)
    assert shown == HEAD_ID
    entry = db.scalar(
        sa.select(AuditLog)
        .where(AuditLog.action == "member.id_revealed")
        .order_by(AuditLog.id.desc())
    )
    assert entry is not None and entry.actor_name == "station_a"
    assert entry.object_id == str(household.id) and entry.detail == {"member_id": head.id}
    with pytest.raises(NotFound):
        reveal_member_id(db, get_user(db, "station_b"), household.id, head.id)


def test_stations_are_isolated_and_the_county_sees_both(db: Session) -> None:
    a = create_household(db, get_user(db, "station_a"), household_input(db, "station_a"))
    b_input = household_input(db, "station_b", head_id="440122197001010014")
    b = create_household(db, get_user(db, "station_b"), b_input)
    station_b = get_user(db, "station_b")
    listed = {h.id for h in list_households(db, station_b, per_page=100).items}
    assert b.id in listed and a.id not in listed
    with pytest.raises(NotFound):
        get_household(db, station_b, a.id)
    with pytest.raises(NotFound):
        update_household(db, station_b, a.id, household_input(db, "station_a"))
    with pytest.raises(NotFound):
        set_need_status(
            db, station_b,
            add_need(db, get_user(db, "station_a"), a, domain=Domain.MEDICAL, text="透析").id,
            NeedStatus.CLOSED, "测试",
        )  # fmt: skip
    county = get_user(db, "ca_conghua")
    seen = {h.id for h in list_households(db, county, per_page=100).items}
    assert {a.id, b.id} <= seen


def test_the_same_person_at_a_second_station_is_reported_by_station_name(db: Session) -> None:
    create_household(db, get_user(db, "station_a"), household_input(db, "station_a"))
    second = create_household(db, get_user(db, "station_b"), household_input(db, "station_b"))
    check = check_duplicates(db, get_user(db, "station_b"), [second])
    assert [(d.member_name, d.station_name) for d in check.duplicates] == [
        ("黄建国", "温泉镇综合救助服务站")
    ]


def test_duplicate_checks_are_recorded_and_limited_per_user_per_day(db: Session) -> None:
    user = get_user(db, "station_b")
    first = create_household(db, user, household_input(db, "station_b"))
    assert check_duplicates(db, user, [first], daily_limit=2).duplicates == []
    record = db.scalar(
        sa.select(AuditLog).where(AuditLog.action == "member.duplicate_check")
        .order_by(AuditLog.id.desc())
    )  # fmt: skip
    assert record is not None and record.actor_id == user.id
    assert record.detail is not None and record.detail["checked"] == 1
    assert record.detail["members"] == [first.members[0].id]
    # A second number the same day is within the limit of two; a third is not checked at all.
    second = create_household(db, user, household_input(db, "station_b", HEAD_ID))
    assert check_duplicates(db, user, [second], daily_limit=2).duplicates
    third = check_duplicates(db, user, [second], daily_limit=2)
    assert third.is_skipped and third.duplicates == []
    refused = db.scalar(sa.select(AuditLog).where(
        AuditLog.action == "member.duplicate_check_refused"))  # fmt: skip
    assert refused is not None and refused.actor_id == user.id
    # Another user's checks do not count against this one.
    other = get_user(db, "station_a")
    assert not check_duplicates(db, other, [second], daily_limit=2).is_skipped


def test_update_keeps_members_matched_by_id_number(db: Session) -> None:
    user = get_user(db, "station_a")
    household = create_household(db, user, household_input(db, "station_a"))
    head_id = household.members[0].id
    changed = household_input(db, "station_a")
    changed.members[0].illness = "尿毒症"
    changed.members[0].illness_kind = "serious"
    changed.members.pop()  # the child moved away
    update_household(db, user, household.id, changed)
    assert [m.id for m in household.members] == [head_id]
    assert household.members[0].illness == "尿毒症"


def test_a_member_named_by_an_archived_need_stays_on_the_household(db: Session) -> None:
    user = get_user(db, "station_a")
    household = create_household(db, user, household_input(db, "station_a"))
    child = household.members[-1]
    need = add_need(db, user, household, domain=Domain.EDUCATION, text="学费", member_id=child.id)
    need.archived_at = utcnow()
    changed = household_input(db, "station_a")
    changed.members.pop()  # the child left

    with pytest.raises(ValidationFailed) as refused:
        update_household(db, user, household.id, changed)

    assert "members" in refused.value.fields and child.name in refused.value.fields["members"][0]
    assert need.member_id == child.id and child in household.members


def test_consent_is_recorded_and_can_be_withdrawn(db: Session) -> None:
    user = get_user(db, "station_a")
    household = create_household(db, user, household_input(db, "station_a"))
    with pytest.raises(ValidationFailed):
        record_consent(db, user, household.id, TODAY, "  ")
    record_consent(db, user, household.id, TODAY, "困难情况核实、慈善帮扶转介")
    assert household.has_consent and household.consent_recorded_by_id == user.id
    withdraw_consent(db, user, household.id, utcnow())
    assert not household.has_consent


def test_need_status_follows_the_workflow(db: Session) -> None:
    user = get_user(db, "station_a")
    household = create_household(db, user, household_input(db, "station_a"))
    need = add_need(db, user, household, domain=Domain.MEDICAL, text="透析自付费用高")
    with pytest.raises(ValidationFailed):
        set_need_status(db, user, need.id, NeedStatus.CLOSED)
    for by_referral_only in (NeedStatus.REFERRED, NeedStatus.IN_SERVICE, NeedStatus.PARTIAL):
        with pytest.raises(Conflict, match="由转介自动设置"):
            set_need_status(db, user, need.id, by_referral_only)
    with pytest.raises(Conflict):
        set_need_status(db, user, need.id, NeedStatus.OPEN)
    set_need_status(db, user, need.id, NeedStatus.FULFILLED)
    assert need.status == NeedStatus.FULFILLED
    with pytest.raises(Conflict):
        set_need_status(db, user, need.id, NeedStatus.CLOSED, "录入重复")


def test_the_worklist_puts_urgent_and_long_waiting_needs_first_and_flags_aid_gaps(
    db: Session,
) -> None:
    user = get_user(db, "station_a")
    no_aid = create_household(db, user, household_input(db, "station_a"))
    low_aid = create_household(
        db, user, household_input(db, "station_a", head_id="440122197001010014")
    )
    add_gov_aid(db, user, low_aid, GovAidType.MEDICAL_ASSISTANCE, 500_000, dt.date(2026, 1, 1))
    old = add_need(db, user, no_aid, domain=Domain.LIVING, text="缺少过冬棉被")
    # Forty days before the worklist's day, whatever day the suite runs on.
    old.created_at = dt.datetime.combine(TODAY - dt.timedelta(days=40), dt.time(12), dt.UTC)
    urgent = add_need(
        db, user, low_aid, domain=Domain.MEDICAL, text="住院押金", urgency=Urgency.URGENT
    )
    recent = add_need(db, user, no_aid, domain=Domain.EDUCATION, text="学费")
    db.flush()
    result = worklist(db, user, None, TODAY)
    ids = [item.need.id for item in result.items]
    assert ids.index(urgent.id) < ids.index(old.id) < ids.index(recent.id)
    urgent_first = [i.need.urgency for i in result.items]
    assert urgent_first == sorted(urgent_first, key=lambda u: u != Urgency.URGENT)
    flagged = {item.need.id: item for item in result.items}
    assert flagged[old.id].outside_gov_aid and not flagged[old.id].aid_below_expenses
    assert flagged[urgent.id].aid_below_expenses and not flagged[urgent.id].outside_gov_aid
    assert flagged[old.id].waiting_days >= 40
    open_needs = db.scalars(
        sa.select(Need.domain)
        .join(Household)
        .where(Household.station_id == user.station_id, Need.status == NeedStatus.OPEN)
    ).all()
    expected = {d.value: open_needs.count(d) for d in set(open_needs)}
    assert result.by_domain == expected
    assert sum(result.by_domain.values()) == len(result.items)


def test_the_worklist_of_another_station_is_not_found(db: Session) -> None:
    other_station = get_user(db, "station_c").station_id
    with pytest.raises(NotFound):
        worklist(db, get_user(db, "ca_conghua"), other_station, TODAY)
    assert worklist(db, get_user(db, "ca_ruyuan"), other_station, TODAY).station.id == other_station


def villages_of(db: Session, username: str) -> list[str]:
    station = get_user(db, username).station
    assert station is not None
    from models import Region

    return list(
        db.scalars(sa.select(Region.code).where(Region.parent_code == station.region_code))
    ) or [station.region_code]


def test_an_import_with_bad_rows_imports_nothing_and_lists_them(db: Session) -> None:
    rows = household_rows(40, villages_of(db, "station_a"))
    rows[1]["身份证号"] = "440122196503120031"  # bad check digit
    rows[5]["与户主关系"] = "邻居"
    rows[9]["所在村（社区）代码"] = "440232113201"  # another county's village
    bad_head = next(i for i, r in enumerate(rows) if r["与户主关系"] == "户主" and i > 9)
    rows[bad_head]["授权日期"] = "去年"
    before = db.scalar(sa.select(sa.func.count(Household.id)))
    with pytest.raises(ValidationFailed) as raised:
        import_households(db, get_user(db, "station_a"), io.BytesIO(households_workbook(rows)))
    problems = raised.value.fields["rows"]
    assert {2 + 1, 2 + 5, 2 + bad_head} <= {int(n) for n in problems}
    assert any("身份证号" in m for m in problems["3"])
    assert db.scalar(sa.select(sa.func.count(Household.id))) == before


def test_a_good_thousand_household_file_imports_whole(db: Session) -> None:
    rows = household_rows(1000, villages_of(db, "station_a"), seed=23)
    user = get_user(db, "station_a")
    result = import_households(db, user, io.BytesIO(households_workbook(rows)))
    assert len(result.households) == 1000
    assert result.members == len(rows)
    assert {h.station_id for h in result.households} == {user.station_id}
    exported = export_households(db, user)
    assert HEAD_ID not in exported.decode("latin-1")


def test_editing_without_resending_ids_keeps_them_and_the_phone(db: Session) -> None:
    user = get_user(db, "station_a")
    household = create_household(db, user, household_input(db, "station_a"))
    head = household.members[0]
    edit = household_input(db, "station_a")
    edit.phone = None
    edit.members[0].id_number = None  # the form never sends registered numbers back
    edit.address = "新田村上围社 8 号"
    update_household(db, user, household.id, edit)
    assert household.members[0] is head
    assert head.id_number_masked == "440122************"
    assert household.phone_masked == "139****5678"
    assert household.address == "新田村上围社 8 号"
