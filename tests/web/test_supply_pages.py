"""Supply pages: who may open them, forms that keep what was typed, import errors shown."""

from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import Project
from models.enums import ProjectStatus
from seed.synthetic import project_rows, projects_workbook
from tests.helpers import csrf_token, get_user, sign_in


def test_pages_are_open_only_to_their_roles(client: FlaskClient) -> None:
    sign_in(client, "station_a")
    assert client.get("/my/projects").status_code == 403
    assert client.get("/review").status_code == 403
    assert client.get("/ledgers/current").status_code == 200
    other = client.application.test_client()
    sign_in(other, "charity_f")
    assert other.get("/my/projects").status_code == 200
    assert other.get("/review").status_code == 403


def test_the_project_form_keeps_what_was_typed(client: FlaskClient) -> None:
    sign_in(client, "charity_f")
    token = csrf_token(client, "/projects/new")
    response = client.post(
        "/projects/new",
        data={
            "csrf_token": token,
            "name": "荔乡助学·高中新生礼包",
            "domains": ["education"],
            "service_area": "440117000000、449999999999",
            "quota": "20",
            "starts_on": "2026-09-01",
            "ends_on": "2026-08-01",
            "response_days": "7",
        },
    )
    assert response.status_code == 422
    assert 'value="荔乡助学·高中新生礼包"' in response.text
    assert "结束日期不能早于开始日期" in response.text
    assert "不存在的行政区划代码" in response.text


def test_the_import_page_lists_every_bad_row(client: FlaskClient) -> None:
    sign_in(client, "charity_f")
    rows = project_rows(30)
    rows[2]["名额"] = "若干"
    rows[20]["开始日期"] = "明年"
    rows[20]["名额"] = "若干"
    token = csrf_token(client, "/imports/projects")
    response = client.post(
        "/imports/projects",
        data={"csrf_token": token, "file": (io.BytesIO(projects_workbook(rows)), "p.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "共有 2 行有误" in response.text
    assert "<td>4</td>" in response.text and "<td>22</td>" in response.text
    # Two reasons of one row read as one sentence, not "…。；…".
    assert "。；" not in response.text


def test_county_staff_see_their_queue(client: FlaskClient) -> None:
    sign_in(client, "ca_ruyuan")
    page = client.get("/review")
    assert page.status_code == 200
    assert "待审核" in page.text


def test_a_charity_is_told_about_projects_left_unconfirmed(
    client: FlaskClient, db: Session
) -> None:
    charity = get_user(db, "charity_f")
    project = db.scalar(
        sa.select(Project).where(
            Project.organization_id == charity.organization_id,
            Project.status == ProjectStatus.VERIFIED,
        )
    )
    long_ago = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    project.confirmed_at = project.verified_at = long_ago
    db.commit()
    sign_in(client, "charity_f")
    assert "有 1 个项目超过半年未确认" in client.get("/home").text
    assert "待确认" in client.get("/my/projects").text
    token = csrf_token(client, "/my/projects")
    client.post(f"/projects/{project.id}/confirm", data={"csrf_token": token})
    assert "超过半年未确认，将不列入" not in client.get("/home").text


def test_the_project_form_picks_whom_a_project_is_for(client: FlaskClient, db: Session) -> None:
    sign_in(client, "charity_f")
    page = client.get("/projects/new").text
    assert '<optgroup label="恶性肿瘤">' in page and ">乳腺癌" in page
    response = client.post(
        "/projects/new",
        data={
            "csrf_token": csrf_token(client, "/projects/new"), "name": "荔乡巾帼·两癌手术资助",
            "domains": ["medical"], "service_area": "440117000000", "quota": "20",
            "starts_on": "2026-09-01", "ends_on": "2027-08-01", "response_days": "7",
            "sexes": ["female"], "conditions": ["breast_cancer", "cervical_cancer"],
            "child_statuses": [], "household_situations": ["single_parent"],
        },
    )  # fmt: skip
    assert response.status_code == 302
    project = db.scalar(sa.select(Project).where(Project.name == "荔乡巾帼·两癌手术资助"))
    assert project is not None
    assert project.sexes == ["female"]
    assert project.conditions == ["breast_cancer", "cervical_cancer"]
    assert project.household_situations == ["single_parent"]
