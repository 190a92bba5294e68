"""The pages of active discovery (主动发现): a station's worklist holds its own warnings and no
other station's (another's is 404); confirming a warning registers a need pre-filled from the
evidence and opens its matching projects; dismissing without a reason keeps the form with an
error; a county office saves a rule and sees it beside the provincial default; an upload with
bad rows names every row and imports nothing; a department's account reaches only its upload
page; a household's 救助链 shows its feed records and warnings; the dashboard and the half-year
report count warnings raised, confirmed, dismissed and overdue."""

from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from models import MonitoringBatch, MonitoringRecord, MonitoringWarning, Need, User, clock
from models.base import utcnow
from models.enums import MonitoringSource, Role, WarningRule, WarningStatus
from tests.helpers import csrf_token, get_user, sign_in
from web.services.id_numbers import id_check_digit
from web.services.monitoring import deliver_batch
from web.services.users import create_user

#: 钟伟明, head of a household of 温泉镇站 (station_a); 黄桂英's household is also theirs.
ZHONG_ID = "440122197804121076"
#: 赵金福, head of a household of 必背镇站 (station_c, 乳源).
ZHAO_ID = "440232198609142552"


def valid_id(body: str) -> str:
    """A valid 身份证号 from its first 17 digits."""
    return body + id_check_digit(body)


def department(db: Session, source: MonitoringSource = MonitoringSource.MEDICAL_INSURANCE,
               username: str = "yibao_gd") -> User:  # fmt: skip
    return create_user(
        db, None, username=username, password="department-pass-2026", display_name="省医保局",
        role=Role.DATA_PROVIDER, region_code="440000000000", feed_source=source,
    )  # fmt: skip


def medical(id_number: str, name: str, region_code: str, yuan: float, days_ago: int = 20
            ) -> dict[str, object]:  # fmt: skip
    return {
        "id_number": id_number, "name": name, "region_code": region_code,
        "event": "medical_expense",
        "occurred_on": (clock.today() - dt.timedelta(days=days_ago)).isoformat(),
        "amount_yuan": yuan, "detail": "住院治疗，个人自付部分",
    }  # fmt: skip


@pytest.fixture
def warnings(db: Session) -> dict[str, MonitoringWarning]:
    """Warnings raised through a delivered batch: 钟伟明 (station_a), a person of 乳源
    (station_c), and a person of 温泉镇 not in the ledger (station_a, 入户核查)."""
    name_c, id_c = "赵金福", ZHAO_ID
    outsider = valid_id("44011719850301123")
    result = deliver_batch(
        db, department(db), MonitoringSource.MEDICAL_INSURANCE, clock.today(),
        [medical(ZHONG_ID, "钟伟明", "440117103217", 52000.0),
         medical(id_c, name_c, "440232113201", 38000.0),
         medical(outsider, "罗未名", "440117103217", 46000.0)],
        utcnow(),
    )  # fmt: skip
    db.commit()
    assert result.warnings_raised == 3
    hashes = {
        key: db.scalar(
            sa.select(MonitoringRecord.id_number_hash).where(
                MonitoringRecord.batch_id == result.batch.id, MonitoringRecord.name == name
            )
        )
        for key, name in (("zhong", "钟伟明"), ("ruyuan", name_c), ("outsider", "罗未名"))
    }
    return {
        key: db.scalars(
            sa.select(MonitoringWarning).where(MonitoringWarning.id_number_hash == h)
        ).one()
        for key, h in hashes.items()
    }


def test_a_station_sees_its_warnings_and_not_another_stations(
    client: FlaskClient, warnings: dict[str, MonitoringWarning]
) -> None:
    sign_in(client, "station_a")
    page = client.get("/warnings")
    assert page.status_code == 200
    rows = re.findall(r'data-testid="warning-row"', page.text)
    assert len(rows) == 2
    assert "钟伟明" in page.text and "大额医疗支出" in page.text
    assert "罗未名" in page.text and "未在册" in page.text and "440117" in page.text
    assert "44011719850301" not in page.text  # the whole number is never on the list
    ruyuan = warnings["ruyuan"]
    assert ruyuan.record.name not in page.text
    assert client.get(f"/warnings/{ruyuan.id}").status_code == 404
    assert client.get(f"/warnings/{warnings['zhong'].id}").status_code == 200

    only_unlisted = client.get("/warnings?unlisted=1").text
    assert "罗未名" in only_unlisted and "钟伟明" not in only_unlisted

    # The home page's count is the list's.
    home = client.get("/home").text
    figure = re.search(r'href="/warnings" data-testid="fig-open-warnings"><span class="value">'
                       r"(\d+)</span>", home)  # fmt: skip
    assert figure and figure.group(1) == "2"


def test_the_county_office_sees_its_counties_warnings_with_their_station(
    client: FlaskClient, warnings: dict[str, MonitoringWarning]
) -> None:
    sign_in(client, "ca_conghua")
    page = client.get("/warnings").text
    assert "温泉镇综合救助服务站" in page and "钟伟明" in page
    assert warnings["ruyuan"].record.name not in page


def test_confirming_registers_a_prefilled_need_and_opens_its_matches(
    client: FlaskClient, db: Session, warnings: dict[str, MonitoringWarning]
) -> None:
    warning = warnings["zhong"]
    sign_in(client, "station_a")
    detail = client.get(f"/warnings/{warning.id}").text
    assert "医保部门" in detail and "医疗费用个人自付" in detail and "52,000.00" in detail
    assert 'value="52000.00"' in detail  # the gap, pre-filled in yuan
    assert re.search(r'<option selected value="medical">|<option value="medical" selected', detail)
    token = csrf_token(client, f"/warnings/{warning.id}")
    before = db.scalar(sa.select(sa.func.count(Need.id)))
    answer = client.post(
        f"/warnings/{warning.id}/confirm",
        data={"csrf_token": token, "domain": "medical", "urgency": "normal",
              "amount_gap_yuan": "52000.00", "text": "住院自付费用高，需医疗救助"},
    )  # fmt: skip
    assert answer.status_code == 302
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count(Need.id))) == before + 1
    assert warning.status == WarningStatus.CONFIRMED and warning.need_id is not None
    need = db.get(Need, warning.need_id)
    assert need is not None and need.amount_gap_fen == 5_200_000
    assert need.household_id == warning.household_id
    assert answer.headers["Location"].endswith(f"/needs/{need.id}/matches")
    matches = client.get(answer.headers["Location"])
    assert matches.status_code == 200 and "预警已确认" in matches.text


def test_a_person_not_in_the_ledger_must_be_registered_before_confirming(
    client: FlaskClient, db: Session, warnings: dict[str, MonitoringWarning]
) -> None:
    warning = warnings["outsider"]
    sign_in(client, "station_a")
    detail = client.get(f"/warnings/{warning.id}").text
    assert "入户核查" in detail and 'data-testid="register-household"' in detail
    # The link names the warning, not the person: an address ends up in access logs.
    links = unquote(" ".join(re.findall(r'href="([^"]*)"', detail)))
    assert f"/households/new?warning={warning.id}" in links
    assert "罗未名" not in links and "name=" not in links
    token = csrf_token(client, f"/warnings/{warning.id}")
    answer = client.post(
        f"/warnings/{warning.id}/confirm",
        data={"csrf_token": token, "domain": "medical", "urgency": "normal",
              "amount_gap_yuan": "46000", "text": "入户核查属实"},
        follow_redirects=True,
    )  # fmt: skip
    assert 'class="flash error"' in answer.text or "flash-error" in answer.text
    db.expire_all()
    assert warning.status == WarningStatus.OPEN and warning.need_id is None
    form = client.get(f"/households/new?warning={warning.id}").text
    assert 'value="罗未名"' in form
    # Another station's warning is not theirs to read, by its number or otherwise.
    other = client.application.test_client()
    sign_in(other, "station_b")
    assert other.get(f"/households/new?warning={warning.id}").status_code == 404


def test_dismissing_without_a_reason_keeps_the_form_with_an_error(
    client: FlaskClient, db: Session, warnings: dict[str, MonitoringWarning]
) -> None:
    warning = warnings["zhong"]
    sign_in(client, "station_a")
    token = csrf_token(client, f"/warnings/{warning.id}")
    answer = client.post(
        f"/warnings/{warning.id}/dismiss",
        data={"csrf_token": token, "reason": "", "note": "已电话核实"},
    )
    assert answer.status_code == 422
    assert "请选择排除原因" in answer.text and "已电话核实" in answer.text
    db.expire_all()
    assert warning.status == WarningStatus.OPEN

    answer = client.post(
        f"/warnings/{warning.id}/dismiss",
        data={"csrf_token": token, "reason": "already_helped", "note": "已在医疗救助中"},
    )
    assert answer.status_code == 302
    db.expire_all()
    assert warning.status == WarningStatus.DISMISSED
    assert "钟伟明" not in client.get("/warnings").text  # open ones only, by default
    assert "钟伟明" in client.get("/warnings?status=dismissed").text


def test_a_county_office_saves_a_rule_and_sees_it_beside_the_default(
    client: FlaskClient, db: Session
) -> None:
    sign_in(client, "ca_conghua")
    page = client.get("/settings/warnings").text
    for rule in WarningRule:
        assert rule.label in page
    assert "20,000.00" in page  # the provincial default for medical costs
    token = csrf_token(client, "/settings/warnings")
    answer = client.post("/settings/warnings", data={
        "csrf_token": token, "rule_code": "medical_cost", "medical_cost-enabled": "y",
        "medical_cost-threshold_yuan": "30000", "medical_cost-income_share_percent": "40",
        "medical_cost-due_days": "10",
    })  # fmt: skip
    assert answer.status_code == 302
    page = client.get("/settings/warnings").text
    section = page[page.index('data-testid="rule-medical_cost"') :]
    section = section[: section.index("</section>")]
    assert "30,000.00" in section and "20,000.00" in section and "本县设置" in section

    bad = client.post("/settings/warnings", data={
        "csrf_token": token, "rule_code": "disaster_loss", "disaster_loss-enabled": "y",
        "disaster_loss-threshold_yuan": "5000", "disaster_loss-due_days": "0",
    })  # fmt: skip
    assert bad.status_code == 422 and "核实期限须在 1 至 90 天之间" in bad.text

    client.post("/settings/warnings", data={
        "csrf_token": token, "rule_code": "medical_cost", "reset": "1",
    })  # fmt: skip
    section = client.get("/settings/warnings").text
    section = section[section.index('data-testid="rule-medical_cost"') :]
    assert "30,000.00" not in section[: section.index("</section>")]

    city = client.application.test_client()
    sign_in(city, "ca_guangzhou")  # a city office reads, and cannot save
    assert city.get("/settings/warnings").status_code == 200
    refused = city.post("/settings/warnings", data={
        "csrf_token": csrf_token(city, "/settings/warnings"), "rule_code": "medical_cost",
        "medical_cost-due_days": "3",
    }, follow_redirects=True)  # fmt: skip
    assert "只有县（区）民政部门" in refused.text


def _csv(rows: list[list[str]]) -> bytes:
    header = "身份证号,姓名,所在区划代码,事件,发生日期,金额（元）,情况说明\n"
    return (header + "".join(",".join(r) + "\n" for r in rows)).encode("utf-8-sig")


def test_an_upload_with_bad_rows_names_them_and_imports_nothing(
    client: FlaskClient, db: Session
) -> None:
    department(db)
    db.commit()
    sign_in(client, "yibao_gd", "department-pass-2026")
    assert client.get("/monitoring/upload").status_code == 200
    from web.services.monitoring import batch_template

    assert batch_template(MonitoringSource.MEDICAL_INSURANCE)[:2] == b"PK"  # an .xlsx
    day = (clock.today() - dt.timedelta(days=5)).isoformat()
    data = _csv([
        [ZHONG_ID, "钟伟明", "440117103217", "医疗费用个人自付", day, "52000", "住院"],
        ["440122197804121077", "错号码", "440117103217", "医疗费用个人自付", day, "100", ""],
        [ZHONG_ID, "钟伟明", "440117103217", "灾害损失", day, "abc", ""],
    ])  # fmt: skip
    before = db.scalar(sa.select(sa.func.count(MonitoringRecord.id)))
    answer = client.post("/monitoring/upload", data={
        "csrf_token": csrf_token(client, "/monitoring/upload"), "source": "medical_insurance",
        "delivered_on": clock.today().isoformat(), "file": (io.BytesIO(data), "yibao.csv"),
    }, content_type="multipart/form-data")  # fmt: skip
    assert answer.status_code == 422
    table = answer.text[answer.text.index('data-testid="batch-errors"') :]
    assert "身份证号" in table
    numbers = {int(n) for n in re.findall(r"<tr><td>(\d+)</td>", table)}
    assert len(numbers) == 2  # the two bad rows, by number
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count(MonitoringRecord.id))) == before
    assert db.scalar(sa.select(sa.func.count(MonitoringBatch.id))) == 0


def test_a_department_account_reaches_only_its_upload_page(
    client: FlaskClient, db: Session
) -> None:
    department(db)
    db.commit()
    sign_in(client, "yibao_gd", "department-pass-2026")
    page = client.get("/monitoring/upload").text
    assert "部门数据报送" in page and "医保部门" in page
    nav = page[page.index('aria-label="主导航"') :]
    nav = nav[: nav.index("</nav>")]
    assert "/monitoring/upload" in nav and "/households" not in nav and "/warnings" not in nav
    for path in ("/households", "/warnings", "/worklist", "/dashboard", "/settings/warnings",
                 "/referrals", "/users", "/ledgers"):  # fmt: skip
        assert client.get(path).status_code == 403, path
    assert client.get("/monitoring/templates/emergency.xlsx").status_code in (403, 404)


def test_a_household_chain_shows_its_feed_records_and_warnings(
    client: FlaskClient, warnings: dict[str, MonitoringWarning]
) -> None:
    warning = warnings["zhong"]
    sign_in(client, "station_a")
    page = client.get(f"/households/{warning.household_id}").text
    records = page[page.index('data-testid="feed-records"') :]
    records = records[: records.index("</table>")]
    assert "医保部门" in records and "52,000.00" in records
    listed = page[page.index('data-testid="household-warnings"') :]
    assert f"/warnings/{warning.id}" in listed[: listed.index("</table>")]


def test_the_account_form_asks_a_department_account_for_its_source(
    client: FlaskClient, db: Session
) -> None:
    sign_in(client, "ca_conghua")
    token = csrf_token(client, "/users/new")
    base = {"csrf_token": token, "username": "renshe_ch", "display_name": "从化区人社局",
            "role": "data_provider", "region_code": "440117000000",
            "password": "department-pass-2026"}  # fmt: skip
    missing = client.post("/users/new", data={**base, "feed_source": ""})
    assert missing.status_code == 422 and "部门数据报送账号必须指定" in missing.text
    made = client.post("/users/new", data={**base, "feed_source": "human_resources"})
    assert made.status_code == 302
    assert get_user(db, "renshe_ch").feed_source == MonitoringSource.HUMAN_RESOURCES


def test_the_dashboard_and_the_half_year_report_count_the_warnings(
    client: FlaskClient, db: Session, warnings: dict[str, MonitoringWarning]
) -> None:
    warning = warnings["zhong"]
    sign_in(client, "station_a")
    client.post(f"/warnings/{warning.id}/dismiss", data={
        "csrf_token": csrf_token(client, f"/warnings/{warning.id}"), "reason": "already_helped",
    })  # fmt: skip
    office = client.application.test_client()
    sign_in(office, "ca_conghua")
    page = office.get("/dashboard").text
    panel = page[page.index('data-testid="discovery"') :]
    panel = panel[: panel.index("</section>")]
    figures = re.findall(r'<span class="n">([^<]+)</span>', panel)
    assert figures[:4] == ["2", "0", "1", "0"]  # raised, confirmed, dismissed, overdue in 从化
    by_rule = panel[panel.index('data-testid="table-warnings_by_rule"') :]
    assert re.search(r"<td>大额医疗支出</td><td>2</td><td>0</td><td>1</td>", by_rule)
    assert "温泉镇" in panel[panel.index('data-testid="table-warnings_by_region"') :]

    period = clock.period_of(clock.today())
    export = office.get(f"/api/v1/stats/report.xlsx?period={period}&region_code=440117000000")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.data), read_only=True)
    assert "主动发现预警" in book.sheetnames
    rows = list(book["主动发现预警"].iter_rows(values_only=True))
    assert rows[2][:4] == (2, 0, 1, 0)
