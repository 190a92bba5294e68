"""Warning rules on monitoring records, and the worklist: a known member over the medical
threshold raises one warning at the member's station with its evidence and figures; running
the rules again raises nothing new, new records extend the open warning, a county's own
threshold changes the outcome; a person not in the ledger reaches the station of the
township for a home visit by a due day; each of the other rules fires on its case and stays
quiet on a near miss; confirming creates a pre-filled need (a person not in the ledger only
after registration); dismissing needs a reason; other stations never see the warning;
overdue warnings reach the county office once; the nightly job runs them."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from jobs.runs import run_slot
from models import (
    Household,
    Member,
    MonitoringBatch,
    MonitoringRecord,
    MonitoringWarning,
    Notification,
    Station,
    utcnow,
)
from models.enums import (
    SOURCE_EVENTS,
    DismissReason,
    Domain,
    MonitoringEvent,
    MonitoringSource,
    Relation,
    Urgency,
    WarningRule,
    WarningStatus,
)
from tests.helpers import get_user
from web.services.crypto import cipher_of, mask_id_number
from web.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from web.services.households import HouseholdInput, MemberInput, create_household
from web.services.id_numbers import id_check_digit
from web.services.warnings import (
    WarningFilter,
    confirm_warning,
    dismiss_warning,
    escalate_overdue,
    evidence_of,
    get_warning,
    list_warnings,
    need_draft,
    raise_warnings,
    reset_rule_setting,
    rule_settings,
    set_rule_setting,
    warning_figures,
)

TODAY = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
WENQUAN = "440117103000"
_serial = itertools.count(1)

# Demo members (seed/data/demo.json), all at 温泉镇综合救助服务站 unless said.
ZHONG_WEIMING = "440122197804121076"  # head, household of 4 at 950 元 a month each
LIU_XIUYING = "440122198009031148"  # his spouse
ZHONG_HAORAN = "440117201603071293"  # their son, 10 in 2026
HE_SIMIN = "440184200708261849"  # 19 in 2026
HUANG_GUIYING = "440122194402151367"  # lives alone on 1,950 元 a month, grade 2 disability
LI_GUOQIANG = "440122195507301434"  # head, household of 4 at 1,150 元 a month each


def unlisted_number(born: str = "19800101") -> str:
    """A valid ID number of a 从化 person nobody registered."""
    first17 = f"440117{born}{next(_serial) % 1000:03d}"
    return first17 + id_check_digit(first17)


def deliver(
    db: Session,
    source: MonitoringSource,
    rows: Iterable[dict[str, Any]],
    delivered_on: dt.date = TODAY,
) -> list[MonitoringRecord]:
    """Keep a batch as the feeds keep one: hashed, encrypted and masked ID numbers, matched
    to ledger members by the hash."""
    cipher = cipher_of(db)
    rows = list(rows)
    batch = MonitoringBatch(
        source=source,
        delivered_on=delivered_on,
        digest=hashlib.sha256(repr((source, rows, next(_serial))).encode()).hexdigest(),
        record_count=len(rows),
    )
    db.add(batch)
    db.flush()
    records = []
    for number, row in enumerate(rows, start=1):
        digest = cipher.lookup_hash(row["id_number"])
        member = db.scalar(sa.select(Member).where(Member.id_number_hash == digest))
        record = MonitoringRecord(
            batch_id=batch.id,
            row_number=number,
            source=source,
            event=row.get("event", SOURCE_EVENTS[source][0]),
            id_number_hash=digest,
            id_number_encrypted=cipher.encrypt(row["id_number"]),
            id_number_masked=mask_id_number(row["id_number"]),
            name=row.get("name", "某某"),
            region_code=row.get("region_code", "440117103217"),
            occurred_on=row.get("occurred_on", TODAY - dt.timedelta(days=10)),
            amount_fen=row.get("amount_fen"),
            facts=row.get("facts", {}),
            member_id=member.id if member else None,
            household_id=member.household_id if member else None,
        )
        db.add(record)
        records.append(record)
    db.flush()
    return records


def medical(number: str, yuan: int, **extra: Any) -> dict[str, Any]:
    return {"id_number": number, "amount_fen": yuan * 100, **extra}


def warnings_of(
    db: Session, number: str, rule: WarningRule | None = None
) -> list[MonitoringWarning]:
    stmt = sa.select(MonitoringWarning).where(
        MonitoringWarning.id_number_hash == cipher_of(db).lookup_hash(number)
    )
    if rule is not None:
        stmt = stmt.where(MonitoringWarning.rule == rule)
    db.expire_all()
    return list(db.scalars(stmt.order_by(MonitoringWarning.id)))


def member_of(db: Session, number: str) -> Member:
    member = db.scalar(
        sa.select(Member).where(Member.id_number_hash == cipher_of(db).lookup_hash(number))
    )
    assert member is not None
    return member


def station_named(db: Session, name: str) -> Station:
    station = db.scalar(sa.select(Station).where(Station.name == name))
    assert station is not None
    return station


def run_rules(db: Session, records: list[MonitoringRecord] | None = None) -> int:
    hashes = None if records is None else {r.id_number_hash for r in records}
    return raise_warnings(db, TODAY, NOW, hashes)


# --- medical costs -------------------------------------------------------------------------


def test_a_member_over_the_medical_threshold_gets_one_warning_at_the_station(
    db: Session,
) -> None:
    records = deliver(
        db,
        MonitoringSource.MEDICAL_INSURANCE,
        [
            medical(ZHONG_WEIMING, 30_000, occurred_on=dt.date(2026, 6, 3)),
            medical(ZHONG_WEIMING, 22_000, occurred_on=dt.date(2026, 9, 14)),
            medical(ZHONG_WEIMING, 9_000, occurred_on=dt.date(2025, 10, 1)),  # over a year ago
            medical(LI_GUOQIANG, 3_000),
        ],
    )
    assert run_rules(db, records) == 1

    (warning,) = warnings_of(db, ZHONG_WEIMING)
    member = member_of(db, ZHONG_WEIMING)
    assert warning.rule == WarningRule.MEDICAL_COST and warning.status == WarningStatus.OPEN
    assert warning.station_id == station_named(db, "温泉镇综合救助服务站").id
    assert (warning.household_id, warning.member_id) == (member.household_id, member.id)
    assert [r.id for r in evidence_of(db, warning)] == [records[0].id, records[1].id]
    assert "近12个月医保个人自付 52,000 元，超过 20,000 元" in warning.explanation
    assert warning.amount_fen == 5_200_000
    assert warning.since_on == dt.date(2026, 6, 3)
    assert warning.due_on == TODAY + dt.timedelta(days=15)
    assert warnings_of(db, LI_GUOQIANG) == []
    staff = get_user(db, "station_a")
    note = db.scalar(
        sa.select(Notification).where(
            Notification.user_id == staff.id, Notification.kind == "warning"
        )
    )
    assert note is not None and note.message == "新增 1 条预警待核实"


def test_running_the_rules_again_raises_nothing_and_new_records_extend_the_open_warning(
    db: Session,
) -> None:
    first = deliver(db, MonitoringSource.MEDICAL_INSURANCE, [medical(ZHONG_WEIMING, 25_000)])
    assert run_rules(db, first) == 1
    assert run_rules(db, first) == 0
    assert raise_warnings(db, TODAY, NOW, None) == 0  # the nightly run over everyone

    more = deliver(
        db,
        MonitoringSource.MEDICAL_INSURANCE,
        [medical(ZHONG_WEIMING, 8_000, occurred_on=TODAY - dt.timedelta(days=2))],
    )
    assert run_rules(db, more) == 0
    (warning,) = warnings_of(db, ZHONG_WEIMING)
    assert warning.evidence == [first[0].id, more[0].id]
    assert warning.amount_fen == 3_300_000
    assert "33,000 元" in warning.explanation


def test_the_share_of_income_raises_a_warning_below_the_amount(db: Session) -> None:
    # 15,000 元 is 64 % of 黄桂英's yearly income (1,950 元 a month, alone): over 50 %.
    # For 李国强's household of four at 1,150 元 a month (55,200 元 a year) it is 27 %.
    records = deliver(
        db,
        MonitoringSource.MEDICAL_INSURANCE,
        [medical(HUANG_GUIYING, 15_000), medical(LI_GUOQIANG, 15_000)],
    )
    assert run_rules(db, records) == 1
    (warning,) = warnings_of(db, HUANG_GUIYING)
    assert "占家庭年收入 23,400 元 的 64%" in warning.explanation
    assert warnings_of(db, LI_GUOQIANG) == []


def test_a_county_threshold_changes_the_outcome_and_a_reset_brings_the_default_back(
    db: Session,
) -> None:
    office = get_user(db, "ca_conghua")
    records = deliver(db, MonitoringSource.MEDICAL_INSURANCE, [medical(LI_GUOQIANG, 15_000)])
    assert run_rules(db, records) == 0

    setting = set_rule_setting(
        db, office, WarningRule.MEDICAL_COST,
        enabled=True, threshold_fen=1_000_000, income_share_percent=50, due_days=10,
    )  # fmt: skip
    assert not setting.is_default
    assert setting.explanation.startswith(
        "近12个月医疗费用个人自付累计达到 1万元，或达到家庭年收入的 50%"
    )
    assert run_rules(db, records) == 1
    (warning,) = warnings_of(db, LI_GUOQIANG)
    assert "超过 10,000 元" in warning.explanation
    assert warning.due_on == TODAY + dt.timedelta(days=10)

    # Another county (乳源) still runs on the provincial default.
    assert rule_settings(db, "440232113000")[0].threshold_fen == 2_000_000
    default = reset_rule_setting(db, office, WarningRule.MEDICAL_COST)
    assert default.is_default and default.threshold_fen == 2_000_000
    assert rule_settings(db, "440117103217")[0].is_default


def test_only_a_county_office_sets_its_rules_and_numbers_stay_in_range(db: Session) -> None:
    kwargs: dict[str, Any] = {"enabled": True, "income_share_percent": 50, "due_days": 15}
    for username in ("ca_guangzhou", "station_a"):
        with pytest.raises(Forbidden):
            set_rule_setting(
                db, get_user(db, username), WarningRule.MEDICAL_COST,
                threshold_fen=100, **kwargs,
            )  # fmt: skip
    office = get_user(db, "ca_conghua")
    with pytest.raises(ValidationFailed) as error:
        set_rule_setting(
            db, office, WarningRule.MEDICAL_COST,
            enabled=True, threshold_fen=1_000_000_001, income_share_percent=0, due_days=91,
        )  # fmt: skip
    assert set(error.value.fields) == {"threshold_fen", "income_share_percent", "due_days"}
    defaults = rule_settings(db, "440117103217")
    assert [s.rule for s in defaults] == list(WarningRule)
    assert defaults[0].explanation.startswith(
        "近12个月医疗费用个人自付累计达到 2万元，或达到家庭年收入的 50%"
    )
    assert [s.due_days for s in defaults] == [15, 15, 15, 7, 15, 7]


def test_a_rule_a_county_switched_off_raises_nothing_there(db: Session) -> None:
    office = get_user(db, "ca_conghua")
    set_rule_setting(
        db, office, WarningRule.DISASTER_LOSS,
        enabled=False, threshold_fen=500_000, income_share_percent=None, due_days=7,
    )  # fmt: skip
    records = deliver(db, MonitoringSource.EMERGENCY, [medical(ZHONG_WEIMING, 80_000)])
    assert run_rules(db, records) == 0


# --- people not in the ledger ------------------------------------------------------------


def test_a_person_not_in_the_ledger_reaches_the_township_station_for_a_visit(
    db: Session,
) -> None:
    wenquan_village, lvtian_village, liangkou = "440117103217", "440117107200", "440117104000"
    numbers = [unlisted_number() for _ in range(3)]
    records = deliver(
        db,
        MonitoringSource.MEDICAL_INSURANCE,
        [
            medical(numbers[0], 40_000, region_code=wenquan_village),
            medical(numbers[1], 40_000, region_code=lvtian_village),
            medical(numbers[2], 40_000, region_code=liangkou),
        ],
    )
    assert run_rules(db, records) == 3
    (wenquan,) = warnings_of(db, numbers[0])
    assert wenquan.station_id == station_named(db, "温泉镇综合救助服务站").id
    assert not wenquan.is_listed and wenquan.region_code == wenquan_village
    assert wenquan.due_on == TODAY + dt.timedelta(days=15)
    # 吕田镇 has no township station: its village point takes it.
    (lvtian,) = warnings_of(db, numbers[1])
    assert lvtian.station_id == station_named(db, "吕田镇莲麻村救助服务点").id
    # 良口镇 has none at all: no station, and the county office sees it on its list.
    (liangkou_warning,) = warnings_of(db, numbers[2])
    assert liangkou_warning.station_id is None
    office_list = list_warnings(db, get_user(db, "ca_conghua"), today=TODAY)
    assert liangkou_warning in office_list

    staff = get_user(db, "station_a")
    assert list_warnings(db, staff, WarningFilter(unlisted=True), TODAY) == [wenquan]
    message = db.scalar(
        sa.select(Notification.message).where(
            Notification.user_id == staff.id, Notification.kind == "warning"
        )
    )
    assert message == "新增 1 条预警待核实，其中 1 条为未在册人员，请入户核查"


# --- the other rules -----------------------------------------------------------------------


def test_a_new_grade_one_or_two_disability_fires_unless_the_ledger_has_it(db: Session) -> None:
    event = MonitoringEvent.DISABILITY_ISSUED
    records = deliver(
        db,
        MonitoringSource.DISABLED_PERSONS,
        [
            {"id_number": ZHONG_WEIMING, "event": event,
             "facts": {"disability_type": "physical", "grade": 2}},
            {"id_number": LI_GUOQIANG, "event": event,
             "facts": {"disability_type": "physical", "grade": 3}},  # near miss: grade 3
            {"id_number": HUANG_GUIYING, "event": MonitoringEvent.DISABILITY_CHANGED,
             "facts": {"disability_type": "physical", "grade": 1}},  # already grade 2 on record
        ],
    )  # fmt: skip
    assert run_rules(db, records) == 1
    (warning,) = warnings_of(db, ZHONG_WEIMING)
    assert warning.rule == WarningRule.SEVERE_DISABILITY and "2级残疾证" in warning.explanation
    assert warning.due_on == TODAY + dt.timedelta(days=15)


def test_aid_stopped_fires_when_the_household_has_not_changed(db: Session) -> None:
    zhong, li = member_of(db, ZHONG_WEIMING), member_of(db, LI_GUOQIANG)
    long_ago = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    db.execute(
        sa.update(Household)
        .where(Household.id.in_([zhong.household_id, li.household_id]))
        .values(updated_at=long_ago)
    )
    stop = {"event": MonitoringEvent.AID_STOPPED, "facts": {"aid_type": "dibao_allowance"}}
    records = deliver(
        db,
        MonitoringSource.CIVIL_AFFAIRS,
        [
            {"id_number": ZHONG_WEIMING, **stop},
            {"id_number": LI_GUOQIANG, **stop},
            # 李国强's wife gets aid again after the stop: the household is seen to.
            {"id_number": "44012219581112150X", "event": MonitoringEvent.AID_STARTED,
             "occurred_on": TODAY - dt.timedelta(days=3),
             "facts": {"aid_type": "temporary_assistance"}},
            {"id_number": HE_SIMIN, **stop},  # near miss: household changed lately
        ],
    )  # fmt: skip
    assert run_rules(db, records) == 1
    (warning,) = warnings_of(db, ZHONG_WEIMING)
    assert warning.rule == WarningRule.AID_STOPPED and "未变更" in warning.explanation
    assert warnings_of(db, LI_GUOQIANG) == [] and warnings_of(db, HE_SIMIN) == []


def test_a_dropout_of_compulsory_school_age_fires_and_an_older_one_does_not(
    db: Session,
) -> None:
    child = unlisted_number("20140506")  # not in the ledger: the age is read from the number
    drop = {"event": MonitoringEvent.SCHOOL_DROPOUT, "facts": {"school_stage": "junior"}}
    records = deliver(
        db,
        MonitoringSource.EDUCATION,
        [{"id_number": ZHONG_HAORAN, **drop}, {"id_number": child, **drop},
         {"id_number": HE_SIMIN, **drop}],
    )  # fmt: skip
    assert run_rules(db, records) == 2
    (warning,) = warnings_of(db, ZHONG_HAORAN)
    assert warning.rule == WarningRule.SCHOOL_DROPOUT and "当年 10 岁" in warning.explanation
    assert warning.due_on == TODAY + dt.timedelta(days=7)
    assert len(warnings_of(db, child)) == 1 and warnings_of(db, HE_SIMIN) == []


def test_unemployment_fires_for_a_head_or_an_unlisted_person_not_a_spouse(
    db: Session,
) -> None:
    stranger = unlisted_number()
    records = deliver(
        db,
        MonitoringSource.HUMAN_RESOURCES,
        [{"id_number": n} for n in (ZHONG_WEIMING, LIU_XIUYING, stranger)],
    )
    assert run_rules(db, records) == 2
    assert [w.rule for w in warnings_of(db, ZHONG_WEIMING)] == [WarningRule.HEAD_UNEMPLOYED]
    assert warnings_of(db, LIU_XIUYING) == []
    assert len(warnings_of(db, stranger)) == 1


def test_a_disaster_loss_over_the_threshold_fires_and_a_smaller_one_does_not(
    db: Session,
) -> None:
    records = deliver(
        db,
        MonitoringSource.EMERGENCY,
        [medical(ZHONG_WEIMING, 6_000), medical(LI_GUOQIANG, 4_999)],
    )
    assert run_rules(db, records) == 1
    (warning,) = warnings_of(db, ZHONG_WEIMING)
    assert warning.rule == WarningRule.DISASTER_LOSS and warning.amount_fen == 600_000
    assert "受灾损失 6,000 元，超过 5,000 元" in warning.explanation
    assert warnings_of(db, LI_GUOQIANG) == []


# --- the worklist --------------------------------------------------------------------------


def medical_warning(db: Session, number: str = ZHONG_WEIMING, **extra: Any) -> MonitoringWarning:
    records = deliver(db, MonitoringSource.MEDICAL_INSURANCE, [medical(number, 52_000, **extra)])
    run_rules(db, records)
    (warning,) = warnings_of(db, number)
    return warning


def test_confirming_creates_a_prefilled_need_for_the_member(db: Session) -> None:
    staff = get_user(db, "station_a")
    warning = medical_warning(db)
    draft = need_draft(db, warning)
    assert draft["domain"] == "medical" and draft["urgency"] == "urgent"
    assert str(draft["amount_gap_yuan"]) == "52000.00"

    need = confirm_warning(db, staff, warning.id)
    member = member_of(db, ZHONG_WEIMING)
    assert need.household_id == member.household_id and need.member_id == member.id
    assert need.domain == Domain.MEDICAL and need.urgency == Urgency.URGENT
    assert need.amount_gap_fen == 5_200_000
    assert "近12个月医保个人自付 52,000 元" in need.text and "医保部门" in need.text
    db.expire_all()
    assert warning.status == WarningStatus.CONFIRMED and warning.need_id == need.id
    assert warning.decided_by_id == staff.id
    with pytest.raises(Conflict):
        confirm_warning(db, staff, warning.id)
    with pytest.raises(Conflict):
        dismiss_warning(db, staff, warning.id, DismissReason.NOT_IN_NEED)


def test_a_warning_with_many_records_drafts_a_need_the_ledger_accepts(db: Session) -> None:
    monthly = [
        medical(ZHONG_WEIMING, 1_000, occurred_on=TODAY - dt.timedelta(days=10 * k + 1))
        for k in range(25)
    ]
    run_rules(db, deliver(db, MonitoringSource.MEDICAL_INSURANCE, monthly))
    (warning,) = warnings_of(db, ZHONG_WEIMING)
    assert len(warning.evidence) == 25
    text = need_draft(db, warning)["text"]
    assert "共 25 条，列出最近 20 条" in text and len(text) <= 2000
    need = confirm_warning(db, get_user(db, "station_a"), warning.id)
    assert need.amount_gap_fen == 2_500_000


def test_an_unlisted_person_is_confirmed_only_after_the_household_is_registered(
    db: Session,
) -> None:
    staff = get_user(db, "station_a")
    number = unlisted_number()
    warning = medical_warning(db, number)
    with pytest.raises(Conflict, match="该人员尚未登记在册，请入户核查后先登记家庭"):
        confirm_warning(db, staff, warning.id)

    household = create_household(
        db, staff,
        HouseholdInput(region_code="440117103217", income_per_head_fen=80_000,
                       members=[MemberInput("温新民", Relation.HEAD, id_number=number)]),
    )  # fmt: skip
    need = confirm_warning(db, staff, warning.id, {"text": "住院费用自付部分较高，需要资助。"})
    assert need.household_id == household.id
    assert need.member_id == household.members[0].id
    assert need.text == "住院费用自付部分较高，需要资助。" and need.amount_gap_fen == 5_200_000


def test_dismissing_needs_a_reason_and_a_note_for_other(db: Session) -> None:
    staff = get_user(db, "station_a")
    warning = medical_warning(db)
    with pytest.raises(ValidationFailed) as error:
        dismiss_warning(db, staff, warning.id, DismissReason.OTHER, "  ")
    assert "note" in error.value.fields
    with pytest.raises(ValidationFailed):
        dismiss_warning(db, staff, warning.id, None)
    dismissed = dismiss_warning(db, staff, warning.id, DismissReason.ALREADY_HELPED)
    assert dismissed.status == WarningStatus.DISMISSED
    assert dismissed.dismiss_reason == DismissReason.ALREADY_HELPED
    assert list_warnings(db, staff, today=TODAY) == []
    assert list_warnings(db, staff, WarningFilter(status=None), TODAY) == [warning]


def test_another_station_never_sees_the_warning(db: Session) -> None:
    warning = medical_warning(db)
    for username in ("station_b", "station_c", "ca_ruyuan"):
        other = get_user(db, username)
        with pytest.raises(NotFound):
            get_warning(db, other, warning.id)
        with pytest.raises(NotFound):
            confirm_warning(db, other, warning.id)
        assert list_warnings(db, other, today=TODAY) == []
    for username in ("charity_a", "admin"):
        user = get_user(db, username)
        if username == "admin":
            assert get_warning(db, user, warning.id) == warning
        else:
            with pytest.raises(Forbidden):
                list_warnings(db, user, today=TODAY)
    assert get_warning(db, get_user(db, "ca_conghua"), warning.id) == warning


def test_overdue_warnings_reach_the_county_office_once(db: Session) -> None:
    warning = medical_warning(db)
    office = get_user(db, "ca_conghua")
    assert escalate_overdue(db, warning.due_on, NOW) == 0  # due today: not yet overdue
    later = warning.due_on + dt.timedelta(days=1)
    assert escalate_overdue(db, later, NOW) == 1
    assert escalate_overdue(db, later + dt.timedelta(days=1), NOW) == 0
    messages = db.scalars(
        sa.select(Notification.message).where(
            Notification.user_id == office.id, Notification.kind == "warning_overdue"
        )
    ).all()
    assert messages == ["1 条预警已超过核实期限，请督促办理"]
    overdue = list_warnings(db, office, WarningFilter(overdue_only=True), later)
    assert overdue == [warning] and warning.escalated_at is not None


def test_figures_count_by_township_and_rule_with_days_to_confirmation(db: Session) -> None:
    staff = get_user(db, "station_a")
    confirmed = medical_warning(db, occurred_on=TODAY - dt.timedelta(days=20))
    dismissed = medical_warning(db, LI_GUOQIANG)
    dismiss_warning(db, staff, dismissed.id, DismissReason.NOT_IN_NEED)
    confirm_warning(db, staff, confirmed.id)
    day = dt.datetime.now(dt.UTC).date()
    figures = warning_figures(
        db, get_user(db, "ca_conghua"), dt.date(2026, 1, 1), day + dt.timedelta(days=1),
        day + dt.timedelta(days=60),
    )  # fmt: skip
    (row,) = figures.by_region
    assert row["region_code"] == WENQUAN and row["region_name"] == "温泉镇"
    assert (row["raised"], row["confirmed"], row["dismissed"], row["overdue"]) == (2, 1, 1, 0)
    (rule_row,) = figures.by_rule
    assert rule_row["rule"] == "medical_cost" and rule_row["raised"] == 2
    expected = (day - confirmed.since_on).days
    assert figures.median_days_to_confirm == pytest.approx(expected, abs=1)
    # 乳源 sees none of 从化's.
    assert (
        warning_figures(db, get_user(db, "ca_ruyuan"), dt.date(2026, 1, 1), day, day).by_region
        == []
    )


# --- the nightly job -----------------------------------------------------------------------


def test_the_nightly_job_raises_and_escalates_once_per_slot(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    deliver(
        db,
        MonitoringSource.MEDICAL_INSURANCE,
        [medical(ZHONG_WEIMING, 52_000, occurred_on=dt.datetime.now(dt.UTC).date())],
    )
    stale = medical_warning(db, LI_GUOQIANG)
    stale.due_on = dt.date(2020, 1, 1)
    db.commit()
    slot = utcnow().replace(microsecond=0)
    run = run_slot(session_factory, "monitoring_rules", slot)
    assert run is not None and run.counts == {"raised": 1, "escalated": 1}
    again = run_slot(session_factory, "monitoring_rules", slot + dt.timedelta(seconds=1))
    assert again is not None and again.counts == {"raised": 0, "escalated": 0}
    assert len(warnings_of(db, ZHONG_WEIMING)) == 1
