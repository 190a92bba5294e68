"""Departments deliver monitoring batches through ``/api/v1/monitoring`` and ``flask monitoring
import``, and a department's account reaches nothing else.

Shows: a batch posted as JSON is answered 201 with its counts, the same batch again 200 as a
repeat; a batch with bad records 422 naming each; a department's token delivers its own
source only and is refused (403/404) every household, need, referral and statistic, in the
API and on the pages; its home page says what it may do; the template downloads; the command
line imports a template file, lists every bad row and exits non-zero, and creates a
department's account. The warning rules are someone else's and return 0 here.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from models import Household, MonitoringBatch, MonitoringRecord, Need, Referral, User, clock
from models.enums import MonitoringSource, Role
from tests.helpers import bearer, get_user, sign_in
from web.services.id_numbers import id_check_digit
from web.services.monitoring import batch_template
from web.services.users import create_user

DEMO_ID = "440122197804121076"  # 钟伟明, station_a's household
XINTIAN = "440117103217"
BIBEI = "440232113000"
CONGHUA = "440117000000"
TODAY = clock.today()
PASSWORD = "feed-secret-2026"


def id_number(born: str, serial: int) -> str:
    first = f"440117{born}{serial:03d}"
    return first + id_check_digit(first)


@pytest.fixture(autouse=True)
def no_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("web.services.warnings.raise_warnings", lambda *a, **k: 0)


@pytest.fixture
def department(db: Session) -> User:
    user = create_user(
        db, None, username="gz_conghua_yibao", password=PASSWORD, display_name="从化区医保局",
        role=Role.DATA_PROVIDER, region_code=CONGHUA,
        feed_source=MonitoringSource.MEDICAL_INSURANCE,
    )  # fmt: skip
    db.commit()
    return user


def medical(number: str, name: str, yuan: float, region: str = XINTIAN) -> dict[str, Any]:
    return {
        "id_number": number, "name": name, "region_code": region, "event": "medical_expense",
        "occurred_on": (TODAY - dt.timedelta(days=3)).isoformat(), "amount_yuan": yuan,
    }  # fmt: skip


def batch(records: list[dict[str, Any]], source: str = "medical_insurance") -> dict[str, Any]:
    return {"source": source, "delivered_on": TODAY.isoformat(), "records": records}


GOOD = [medical(DEMO_ID, "钟伟明", 52000.0), medical(id_number("19630502", 31), "李国强", 300)]


def test_a_department_delivers_a_batch_once(
    client: FlaskClient, db: Session, department: User
) -> None:
    headers = bearer(client, department.username, PASSWORD)

    first = client.post("/api/v1/monitoring/batches", json=batch(GOOD), headers=headers)
    again = client.post("/api/v1/monitoring/batches", json=batch(GOOD), headers=headers)

    assert first.status_code == 201, first.json
    assert first.json == {
        "batch_id": first.json["batch_id"], "is_repeat": False, "record_count": 2,
        "matched_count": 1, "warnings_raised": 0,
    }  # fmt: skip
    assert again.status_code == 200
    assert again.json["is_repeat"] is True and again.json["batch_id"] == first.json["batch_id"]
    assert db.scalar(sa.select(sa.func.count()).select_from(MonitoringBatch)) == 1
    assert db.scalar(sa.select(sa.func.count()).select_from(MonitoringRecord)) == 2


def test_a_batch_with_bad_records_is_refused_naming_each(
    client: FlaskClient, db: Session, department: User
) -> None:
    headers = bearer(client, department.username, PASSWORD)
    bad = [
        GOOD[0],
        medical("440117196305020000", "李国强", 300),
        medical(id_number("19711110", 42), "", 12.345),
        medical(id_number("19800101", 7), "陈一", 5, BIBEI),
    ]
    response = client.post("/api/v1/monitoring/batches", json=batch(bad), headers=headers)

    assert response.status_code == 422
    rows = response.json["error"]["fields"]["rows"]
    assert sorted(rows) == ["2", "3", "4"]
    assert any("身份证号" in m for m in rows["2"])
    assert any(m.startswith("“姓名”") for m in rows["3"])
    assert any(m.startswith("“金额（元）”") for m in rows["3"])
    assert any(m.startswith("“所在区划代码”") for m in rows["4"])
    assert db.scalar(sa.select(sa.func.count()).select_from(MonitoringRecord)) == 0


def test_a_department_delivers_only_its_own_source(client: FlaskClient, department: User) -> None:
    headers = bearer(client, department.username, PASSWORD)
    disability = {
        "id_number": DEMO_ID, "name": "钟伟明", "region_code": XINTIAN,
        "event": "disability_issued", "occurred_on": TODAY.isoformat(),
        "facts": {"disability_type": "physical", "grade": 1},
    }  # fmt: skip
    response = client.post(
        "/api/v1/monitoring/batches", json=batch([disability], "disabled_persons"),
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 403
    assert "医保部门" in response.json["error"]["message"]


def test_a_station_may_not_deliver(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/monitoring/batches", json=batch(GOOD), headers=bearer(client, "station_a")
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/households",
        "/api/v1/households/{household}",
        "/api/v1/households/{household}/needs",
        "/api/v1/needs",
        "/api/v1/needs/{need}",
        "/api/v1/referrals",
        "/api/v1/referrals/{referral}",
        "/api/v1/stats/overview?region_code=440117000000",
        "/api/v1/stations",
        "/api/v1/projects",
        "/api/v1/imports/households/template.xlsx",
        "/api/v1/jobs",
    ],
)
def test_a_department_token_cannot_read_households_or_anything_else(
    client: FlaskClient, db: Session, department: User, path: str
) -> None:
    household = db.scalar(sa.select(Household).where(Household.head_name == "钟伟明"))
    need = db.scalar(sa.select(Need).order_by(Need.id).limit(1))
    referral = db.scalar(sa.select(Referral).order_by(Referral.id).limit(1))
    assert household is not None and need is not None
    url = path.format(household=household.id, need=need.id, referral=referral.id if referral else 1)
    response = client.get(url, headers=bearer(client, department.username, PASSWORD))
    assert response.status_code in (403, 404), (url, response.status_code)
    assert "钟伟明" not in response.get_data(as_text=True)


def test_a_department_signed_in_sees_its_home_and_no_household_page(
    client: FlaskClient, db: Session, department: User
) -> None:
    household = db.scalar(sa.select(Household).where(Household.head_name == "钟伟明"))
    assert household is not None
    assert sign_in(client, department.username, PASSWORD).status_code == 302

    home = client.get("/home")
    assert home.status_code == 200
    assert "医保部门" in home.text and "/api/v1/monitoring/templates/medical_insurance" in home.text
    assert "/households" not in home.text  # no navigation to what it may not open
    for path in ("/households", f"/households/{household.id}", "/worklist", "/dashboard"):
        page = client.get(path)
        assert page.status_code in (403, 404), (path, page.status_code)
        assert "钟伟明" not in page.text


def test_the_template_downloads_for_those_who_deliver(
    client: FlaskClient, department: User
) -> None:
    response = client.get(
        "/api/v1/monitoring/templates/disabled_persons",
        headers=bearer(client, department.username, PASSWORD),
    )
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert [c.value for c in book["监测数据"][1]][:5] == [
        "身份证号", "姓名", "所在区划代码", "事件", "发生日期",
    ]  # fmt: skip
    unknown = client.get("/api/v1/monitoring/templates/weather", headers=bearer(client, "admin"))
    assert unknown.status_code == 404
    station = client.get(
        "/api/v1/monitoring/templates/education", headers=bearer(client, "station_a")
    )
    assert station.status_code == 403


def test_the_api_document_describes_the_batch(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    post = spec["paths"]["/api/v1/monitoring/batches"]["post"]
    assert {"201", "200", "422", "403"} <= set(post["responses"])
    assert "MonitoringRecord" in spec["components"]["schemas"]


# --- the command line --------------------------------------------------------------------------


def template_file(folder: Path, rows: list[list[Any]]) -> Path:
    book = load_workbook(io.BytesIO(batch_template(MonitoringSource.MEDICAL_INSURANCE)))
    sheet = book["监测数据"]
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=number, column=column, value=value)
    path = folder / "医保.xlsx"
    book.save(path)
    return path


def test_the_command_line_imports_a_template_file(app: Flask, db: Session, tmp_path: Path) -> None:
    day = TODAY - dt.timedelta(days=1)
    path = template_file(tmp_path, [
        [DEMO_ID, "钟伟明", XINTIAN, "医疗费用个人自付", day, 52000, "住院"],
        [id_number("19630502", 31), "李国强", XINTIAN, "医疗费用个人自付", day, 300.5, None],
    ])  # fmt: skip
    runner = app.test_cli_runner()
    args = ["monitoring", "import", str(path), "--source", "medical_insurance",
            "--as", "ca_conghua"]  # fmt: skip

    done = runner.invoke(args=args)
    again = runner.invoke(args=args)

    assert done.exit_code == 0, done.output
    assert "2 条记录" in done.output and "1 条与需求台账中的人员匹配" in done.output
    assert again.exit_code == 0 and "此前已报送" in again.output
    assert db.scalar(sa.select(sa.func.count()).select_from(MonitoringRecord)) == 2


def test_the_command_line_lists_every_bad_row_and_keeps_nothing(
    app: Flask, db: Session, tmp_path: Path
) -> None:
    day = TODAY - dt.timedelta(days=1)
    path = template_file(tmp_path, [
        [DEMO_ID, "钟伟明", XINTIAN, "医疗费用个人自付", day, 52000, None],
        [id_number("19630502", 31), "李国强", XINTIAN, "残疾证新办", day, 300, None],
        [id_number("19711110", 42), "黄美玲", BIBEI, "医疗费用个人自付", day, "很多", None],
    ])  # fmt: skip
    result = app.test_cli_runner().invoke(
        args=[
            "monitoring",
            "import",
            str(path),
            "--source",
            "medical_insurance",
            "--as",
            "ca_conghua",
        ]  # fmt: skip
    )
    assert result.exit_code != 0
    assert "第 3 行" in result.output and "“事件”" in result.output
    assert "第 4 行" in result.output and "“金额（元）”" in result.output
    assert "“所在区划代码”" in result.output
    assert "第 2 行" not in result.output
    assert db.scalar(sa.select(sa.func.count()).select_from(MonitoringRecord)) == 0


def test_the_command_line_writes_a_template_and_creates_a_department_account(
    app: Flask, db: Session, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    out = tmp_path / "教育.xlsx"
    written = runner.invoke(args=["monitoring", "template", "--source", "education", str(out)])
    assert written.exit_code == 0, written.output
    assert "学段" in [c.value for c in load_workbook(out)["监测数据"][1]]

    created = runner.invoke(args=[
        "users", "create", "conghua_edu", "--role", "data_provider", "--region", CONGHUA,
        "--name", "从化区教育局", "--source", "education", "--password", PASSWORD,
    ])  # fmt: skip
    assert created.exit_code == 0, created.output
    account = get_user(db, "conghua_edu")
    assert account.feed_source == MonitoringSource.EDUCATION
    sourceless = runner.invoke(args=[
        "users", "create", "conghua_x", "--role", "data_provider", "--region", CONGHUA,
        "--name", "某局", "--password", PASSWORD,
    ])  # fmt: skip
    assert sourceless.exit_code != 0 and "部门" in sourceless.output
