"""Monitoring feeds: a department's batch is checked whole and kept once, its people matched
to the ledger by the keyed hash alone, with no ID number kept in clear.

Shows: a good 医保 batch is kept and its demo member matched; the same batch again is a
repeat that adds nothing; a batch with bad rows keeps nothing and names every bad row and
field; a department delivers only its own source's events, only in its own region; template
files (``.xlsx`` and a GB18030 ``.csv``) come back as the records they hold; a household's
records are seen only within the household's reach, and the reading is audited. The warning
rules are someone else's: here they are stood in for by a function that counts its calls.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from models import AuditLog, Household, Member, MonitoringBatch, MonitoringRecord, User, clock
from models.base import utcnow
from models.enums import MonitoringSource, Role
from tests.helpers import get_user
from web.services.crypto import cipher_of
from web.services.errors import Forbidden, NotFound, ValidationFailed
from web.services.id_numbers import id_check_digit
from web.services.monitoring import (
    batch_template,
    deliver_batch,
    deliver_batch_file,
    household_records,
    read_batch_file,
)
from web.services.scoping import scoped
from web.services.users import create_user

#: 钟伟明 of 温泉镇新田村, in station_a's ledger (seed/data/demo.json).
DEMO_ID = "440122197804121076"
XINTIAN = "440117103217"  # 温泉镇新田村
WENQUAN = "440117103000"  # 温泉镇
BIBEI = "440232113000"  # 乳源 必背镇
CONGHUA = "440117000000"
TODAY = clock.today()
MEDICAL = MonitoringSource.MEDICAL_INSURANCE


def id_number(county: str, born: str, serial: int) -> str:
    """A well-formed 身份证号 (county code, YYYYMMDD, serial)."""
    first = f"{county}{born}{serial:03d}"
    return first + id_check_digit(first)


STRANGER = id_number("440117", "19630502", 31)
OTHER_STRANGER = id_number("440117", "19711110", 42)


@pytest.fixture
def rules_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The warning rules replaced by a recorder that raises nothing."""
    calls: list[dict[str, Any]] = []

    def raise_warnings(db: Session, today: dt.date, now: dt.datetime, hashes: Any = None) -> int:
        calls.append({"today": today, "hashes": set(hashes or ())})
        return 0

    monkeypatch.setattr("web.services.warnings.raise_warnings", raise_warnings)
    return calls


def medical(number: str, name: str, yuan: float, region: str = XINTIAN) -> dict[str, Any]:
    return {
        "id_number": number, "name": name, "region_code": region, "event": "medical_expense",
        "occurred_on": (TODAY - dt.timedelta(days=20)).isoformat(), "amount_yuan": yuan,
        "detail": "住院，个人自付部分",
    }  # fmt: skip


def good_batch() -> list[dict[str, Any]]:
    return [
        medical(DEMO_ID, "钟伟明", 52000.0),
        medical(STRANGER, "李国强", 23000.5, WENQUAN),
        medical(OTHER_STRANGER, "黄美玲", 800),
    ]


def counts(db: Session) -> tuple[int, int]:
    return (
        db.scalar(sa.select(sa.func.count()).select_from(MonitoringBatch)) or 0,
        db.scalar(sa.select(sa.func.count()).select_from(MonitoringRecord)) or 0,
    )


def provider(db: Session, source: MonitoringSource, region: str = CONGHUA) -> User:
    return create_user(
        db, None, username=f"feed_{source.value}_{region}", password="feed-secret-2026",
        display_name="从化区医疗保障局", role=Role.DATA_PROVIDER, region_code=region,
        feed_source=source,
    )  # fmt: skip


@pytest.fixture
def ca(db: Session) -> Iterator[User]:
    yield get_user(db, "ca_conghua")


def test_a_good_medical_batch_is_kept_and_its_demo_member_matched(
    db: Session, ca: User, rules_calls: list[dict[str, Any]]
) -> None:
    result = deliver_batch(db, ca, MEDICAL, TODAY, good_batch(), utcnow())

    assert not result.is_repeat
    assert (result.record_count, result.matched_count) == (3, 1)
    assert result.batch.matched_count == 1
    records = db.scalars(
        sa.select(MonitoringRecord).where(MonitoringRecord.batch_id == result.batch.id)
        .order_by(MonitoringRecord.row_number)
    ).all()  # fmt: skip
    assert [r.row_number for r in records] == [1, 2, 3]
    member = db.scalar(sa.select(Member).where(Member.id == records[0].member_id))
    assert member is not None and member.name == "钟伟明"
    assert records[0].household_id == member.household_id
    assert records[1].member_id is None and records[1].household_id is None
    assert records[0].amount_fen == 5_200_000 and records[1].amount_fen == 2_300_050
    cipher = cipher_of(db)
    assert cipher.decrypt(records[1].id_number_encrypted) == STRANGER
    assert records[1].id_number_hash == cipher.lookup_hash(STRANGER)
    assert records[1].id_number_masked == "440117************"
    # The rules ran once, on exactly this batch's people.
    assert [c["hashes"] for c in rules_calls] == [{r.id_number_hash for r in records}]


def test_no_id_number_of_a_batch_is_kept_in_clear_anywhere(
    db: Session, ca: User, rules_calls: list[dict[str, Any]]
) -> None:
    deliver_batch(db, ca, MEDICAL, TODAY, good_batch(), utcnow())
    db.flush()
    seen = []
    for table in (MonitoringRecord.__table__, MonitoringBatch.__table__, AuditLog.__table__):
        for row in db.execute(sa.select(table)):
            text = " ".join(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
            seen += [(table, n) for n in (DEMO_ID, STRANGER, OTHER_STRANGER) if n in text]
            seen += [(table, n) for n in (STRANGER[6:14], OTHER_STRANGER[6:14]) if n in text]
    assert seen == []


def test_the_same_batch_delivered_again_is_a_repeat_and_adds_nothing(
    db: Session, ca: User, rules_calls: list[dict[str, Any]]
) -> None:
    first = deliver_batch(db, ca, MEDICAL, TODAY, good_batch(), utcnow())
    before = counts(db)

    again = deliver_batch(db, ca, MEDICAL, TODAY, good_batch(), utcnow())
    # The same records in another order, the ID number in lower case: still the same batch.
    shuffled = list(reversed(good_batch()))
    reordered = deliver_batch(db, ca, MEDICAL, TODAY + dt.timedelta(days=1), shuffled, utcnow())

    for repeat in (again, reordered):
        assert repeat.is_repeat
        assert repeat.batch.id == first.batch.id
        assert (repeat.record_count, repeat.matched_count, repeat.warnings_raised) == (3, 1, 0)
    assert counts(db) == before
    assert len(rules_calls) == 1  # the rules ran for the first delivery only


def test_a_changed_record_makes_a_new_batch(
    db: Session, ca: User, rules_calls: list[dict[str, Any]]
) -> None:
    deliver_batch(db, ca, MEDICAL, TODAY, good_batch(), utcnow())
    changed = good_batch()
    changed[2]["amount_yuan"] = 801
    result = deliver_batch(db, ca, MEDICAL, TODAY, changed, utcnow())
    assert not result.is_repeat


def test_a_batch_with_three_bad_rows_keeps_nothing_and_names_each(
    db: Session, ca: User, rules_calls: list[dict[str, Any]]
) -> None:
    before = counts(db)
    records = good_batch() + [medical(STRANGER, "李国强", 10)]
    records.insert(1, medical(DEMO_ID, "钟伟明", 10))
    records[1]["id_number"] = DEMO_ID[:-1] + ("0" if DEMO_ID[-1] != "0" else "1")  # check digit
    records[3]["amount_yuan"] = -5  # row 4
    del records[3]["occurred_on"]
    records[4]["occurred_on"] = (TODAY + dt.timedelta(days=3)).isoformat()  # row 5
    records[4]["region_code"] = BIBEI  # in 乳源: not 从化's

    with pytest.raises(ValidationFailed) as refused:
        deliver_batch(db, ca, MEDICAL, TODAY, records, utcnow())

    rows = refused.value.fields["rows"]
    assert sorted(rows) == ["2", "4", "5"]
    assert any("身份证号" in m and "校验位" in m for m in rows["2"])
    assert any(m.startswith("“金额（元）”") for m in rows["4"])
    # A negative amount is refused for what it is, not also as a missing one.
    assert not any("须填写金额" in m for m in rows["4"])
    assert any(m.startswith("“发生日期”") for m in rows["4"])
    assert any(m.startswith("“发生日期”") for m in rows["5"])
    assert any(m.startswith("“所在区划代码”") and BIBEI in m for m in rows["5"])
    assert "3 行" in refused.value.message
    assert counts(db) == before
    assert rules_calls == []


def test_an_event_of_another_source_is_refused(
    db: Session, ca: User, rules_calls: list[dict[str, Any]]
) -> None:
    record = medical(STRANGER, "李国强", 100) | {
        "event": "disability_issued", "facts": {"disability_type": "physical", "grade": 2},
    }  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        deliver_batch(db, ca, MEDICAL, TODAY, [record], utcnow())
    assert any("“事件”" in m and "医保部门只能报送" in m for m in refused.value.fields["rows"]["1"])


def test_facts_are_checked_per_event(
    db: Session, ca: User, rules_calls: list[dict[str, Any]]
) -> None:
    disability: dict[str, Any] = {
        "id_number": STRANGER, "name": "李国强", "region_code": XINTIAN,
        "event": "disability_issued", "occurred_on": TODAY.isoformat(),
    }  # fmt: skip
    cases: list[dict[str, Any]] = [
        disability | {"facts": {"disability_type": "physical"}},
        disability | {"facts": {"disability_type": "wings", "grade": 2}},
        disability | {"facts": {"disability_type": "physical", "grade": 7}},
        disability | {"facts": {"disability_type": "physical", "grade": 1, "color": "red"}},
    ]
    with pytest.raises(ValidationFailed) as refused:
        deliver_batch(db, ca, MonitoringSource.DISABLED_PERSONS, TODAY, cases, utcnow())
    rows = refused.value.fields["rows"]
    assert any(m.startswith("“残疾等级”") for m in rows["1"])
    assert any(m.startswith("“残疾类别”") for m in rows["2"])
    assert any(m.startswith("“残疾等级”") for m in rows["3"])
    assert any("color" in m for m in rows["4"])


def test_a_medical_department_delivers_only_its_own_source_in_its_own_region(
    db: Session, rules_calls: list[dict[str, Any]]
) -> None:
    department = provider(db, MEDICAL)
    disability = {
        "id_number": STRANGER, "name": "李国强", "region_code": XINTIAN,
        "event": "disability_issued", "occurred_on": TODAY.isoformat(),
        "facts": {"disability_type": "physical", "grade": 2},
    }  # fmt: skip
    with pytest.raises(Forbidden):
        deliver_batch(
            db, department, MonitoringSource.DISABLED_PERSONS, TODAY, [disability], utcnow()
        )
    with pytest.raises(ValidationFailed) as refused:
        deliver_batch(db, department, MEDICAL, TODAY, [medical(STRANGER, "李国强", 9, BIBEI)],
                      utcnow())  # fmt: skip
    assert any("所在区划代码" in m for m in refused.value.fields["rows"]["1"])
    kept = deliver_batch(db, department, MEDICAL, TODAY, good_batch(), utcnow())
    assert kept.batch.delivered_by_id == department.id
    assert kept.batch.region_code == CONGHUA


def test_stations_and_charities_may_not_deliver(
    db: Session, rules_calls: list[dict[str, Any]]
) -> None:
    for username in ("station_a", "charity_f"):
        with pytest.raises(Forbidden):
            deliver_batch(db, get_user(db, username), MEDICAL, TODAY, good_batch(), utcnow())


def test_a_department_account_sees_no_household_member_or_need(db: Session) -> None:
    from models import Need, Referral

    department = provider(db, MEDICAL)
    for model in (Household, Member, Need, Referral):
        assert db.scalars(scoped(sa.select(model), department)).all() == [], model


def test_the_stored_count_of_warnings_is_what_the_rules_raised(
    db: Session, ca: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("web.services.warnings.raise_warnings", lambda *a, **k: 2)
    result = deliver_batch(db, ca, MEDICAL, TODAY, good_batch(), utcnow())
    assert result.warnings_raised == 2 and result.batch.warnings_raised == 2
    audit = db.scalar(sa.select(AuditLog).where(AuditLog.action == "monitoring.deliver"))
    assert audit is not None
    assert audit.detail == {"source": "medical_insurance", "records": 3, "matched": 1,
                            "warnings": 2, "is_repeat": False}  # fmt: skip


# --- files -------------------------------------------------------------------------------------


def filled_template(source: MonitoringSource, rows: list[list[Any]]) -> bytes:
    book = load_workbook(io.BytesIO(batch_template(source)))
    sheet = book["监测数据"]
    # From row 2 down, as a person fills it in.
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=number, column=column, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_template_names_its_columns_in_chinese_with_instructions() -> None:
    book = load_workbook(io.BytesIO(batch_template(MonitoringSource.DISABLED_PERSONS)))
    header = [c.value for c in book["监测数据"][1]]
    assert header == ["身份证号", "姓名", "所在区划代码", "事件", "发生日期", "残疾类别",
                      "残疾等级", "情况说明"]  # fmt: skip
    notes = " ".join(str(c.value) for row in book["填写说明"].iter_rows() for c in row if c.value)
    assert "残疾证新办" in notes and "肢体残疾" in notes and "二级" in notes  # the example
    assert book["监测数据"].max_row == 1 or all(
        c.value is None for row in book["监测数据"].iter_rows(min_row=2) for c in row
    )  # no example row that could be delivered by mistake
    medical_header = [c.value for c in load_workbook(io.BytesIO(batch_template(MEDICAL)))
                      ["监测数据"][1]]  # fmt: skip
    assert "金额（元）" in medical_header and "残疾等级" not in medical_header


def test_an_xlsx_made_from_the_template_reads_back_as_records(
    db: Session, ca: User, rules_calls: list[dict[str, Any]]
) -> None:
    day = TODAY - dt.timedelta(days=5)
    data = filled_template(MonitoringSource.DISABLED_PERSONS, [
        [DEMO_ID, "钟伟明", XINTIAN, "残疾证新办", day, "肢体残疾", "二级", "新办证"],
        [STRANGER, "李国强", int(WENQUAN), "残疾类别或等级变更", day.isoformat(), "视力残疾", 1,
         None],
    ])  # fmt: skip

    records = read_batch_file(MonitoringSource.DISABLED_PERSONS, "残联.xlsx", data)

    assert records[0] == {
        "id_number": DEMO_ID, "name": "钟伟明", "region_code": XINTIAN,
        "event": "disability_issued", "occurred_on": day.isoformat(),
        "facts": {"disability_type": "physical", "grade": 2}, "detail": "新办证",
    }  # fmt: skip
    assert records[1]["region_code"] == WENQUAN  # a code typed as a number
    assert records[1]["facts"] == {"disability_type": "visual", "grade": 1}
    result = deliver_batch_file(
        db, ca, MonitoringSource.DISABLED_PERSONS, TODAY, "残联.xlsx", data, utcnow()
    )
    assert (result.record_count, result.matched_count) == (2, 1)
    db.expire_all()
    stored = db.scalars(
        sa.select(MonitoringRecord).where(MonitoringRecord.batch_id == result.batch.id)
        .order_by(MonitoringRecord.row_number)
    ).all()  # fmt: skip
    assert [r.row_number for r in stored] == [2, 3]  # the spreadsheet's rows
    assert stored[0].facts == {"disability_type": "physical", "grade": 2}
    assert stored[0].detail == "新办证" and stored[0].occurred_on == day
    assert stored[0].event.value == "disability_issued" and stored[0].amount_fen is None


def test_bad_rows_of_a_file_are_named_by_their_spreadsheet_rows(
    db: Session, ca: User, rules_calls: list[dict[str, Any]]
) -> None:
    day = TODAY - dt.timedelta(days=5)
    data = filled_template(MonitoringSource.DISABLED_PERSONS, [
        [DEMO_ID, "钟伟明", XINTIAN, "残疾证新办", day, "肢体残疾", "二级", None],
        [STRANGER, "李国强", XINTIAN, "残疾证新办", day, "肢体残疾", "六级", None],
        [None, None, None, None, None, None, None, None],
        [440117196305020319, "黄美玲", XINTIAN, "入学", day, "翅膀残疾", "一级", None],
    ])  # fmt: skip
    before = counts(db)
    with pytest.raises(ValidationFailed) as refused:
        deliver_batch_file(
            db, ca, MonitoringSource.DISABLED_PERSONS, TODAY, "残联.xlsx", data, utcnow()
        )
    rows = refused.value.fields["rows"]
    assert sorted(rows) == ["3", "5"]
    assert any(m.startswith("“残疾等级”") for m in rows["3"])
    assert any(m.startswith("“身份证号”") and "文本" in m for m in rows["5"])
    assert any(m.startswith("“事件”") for m in rows["5"])
    assert any(m.startswith("“残疾类别”") for m in rows["5"])
    assert counts(db) == before


def gb18030_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["身份证号", "姓名", "所在区划代码", "事件", "发生日期", "学段", "情况说明"])
    writer.writerows(rows)
    return out.getvalue().encode("gb18030")


def test_a_gb18030_csv_as_excel_saves_it_reads_back_as_records(
    db: Session, ca: User, rules_calls: list[dict[str, Any]]
) -> None:
    child = id_number("440117", "20130906", 55)
    data = gb18030_csv([[child, "陈小明", XINTIAN, "辍学", TODAY.strftime("%Y/%m/%d"), "初中",
                         "连续两周未到校"]])  # fmt: skip
    records = read_batch_file(MonitoringSource.EDUCATION, "教育局.CSV", data)
    assert records == [{
        "id_number": child, "name": "陈小明", "region_code": XINTIAN, "event": "school_dropout",
        "occurred_on": TODAY.isoformat(), "facts": {"school_stage": "junior"},
        "detail": "连续两周未到校",
    }]  # fmt: skip
    result = deliver_batch_file(db, ca, MonitoringSource.EDUCATION, TODAY, "教育局.csv", data,
                                utcnow())  # fmt: skip
    assert result.record_count == 1
    # UTF-8 with a BOM reads the same.
    utf8 = data.decode("gb18030").encode("utf-8-sig")
    assert read_batch_file(MonitoringSource.EDUCATION, "x.csv", utf8) == records


def test_a_file_of_another_template_or_kind_is_refused_whole() -> None:
    with pytest.raises(ValidationFailed) as refused:
        read_batch_file(MonitoringSource.EDUCATION, "x.csv", "姓名,身份证号\n张三,1\n".encode())
    assert "学段" in refused.value.fields["file"][0]
    with pytest.raises(ValidationFailed) as refused:
        read_batch_file(MEDICAL, "x.xlsx", b"not a workbook")
    assert refused.value.fields["file"]
    with pytest.raises(ValidationFailed):
        read_batch_file(MEDICAL, "x.pdf", b"%PDF")


# --- the 救助链 ---------------------------------------------------------------------------------


def test_a_households_records_are_seen_within_its_reach_and_the_reading_audited(
    db: Session, ca: User, rules_calls: list[dict[str, Any]]
) -> None:
    deliver_batch(db, ca, MEDICAL, TODAY, good_batch(), utcnow())
    member = db.scalar(
        sa.select(Member).where(Member.id_number_hash == cipher_of(db).lookup_hash(DEMO_ID))
    )
    assert member is not None
    station_a = get_user(db, "station_a")

    records = household_records(db, station_a, member.household_id)

    assert [r.name for r in records] == ["钟伟明"]
    assert db.scalar(
        sa.select(AuditLog).where(
            AuditLog.action == "monitoring.records_read", AuditLog.actor_id == station_a.id
        )
    )
    assert len(household_records(db, ca, member.household_id)) == 1
    for outsider in (get_user(db, "station_c"), provider(db, MEDICAL)):
        with pytest.raises(NotFound):
            household_records(db, outsider, member.household_id)


def test_a_county_office_makes_a_department_account_that_delivers_its_source(
    db: Session, ca: User, rules_calls: list[dict[str, Any]]
) -> None:
    from web.services.users import create_account

    account = create_account(
        db, ca, username="conghua_yibao", password="feed-secret-2026", display_name="从化区医保局",
        role=Role.DATA_PROVIDER, region_code=CONGHUA, feed_source=MEDICAL,
    )  # fmt: skip
    assert account.feed_source == MEDICAL and account.must_change_password
    assert deliver_batch(db, account, MEDICAL, TODAY, good_batch(), utcnow()).record_count == 3
    with pytest.raises(ValidationFailed) as refused:
        create_account(
            db, ca, username="conghua_x", password="feed-secret-2026", display_name="某局",
            role=Role.DATA_PROVIDER, region_code=CONGHUA,
        )  # fmt: skip
    assert "feed_source" in refused.value.fields
