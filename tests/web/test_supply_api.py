"""The supply API: registration, review, editions, export and import over HTTP."""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy.orm import Session

from models import Project
from models.enums import ProjectStatus
from seed.synthetic import project_rows, projects_workbook
from tests.helpers import bearer, get_user

PROJECT = {
    "name": "从化区困境儿童暑期托管",
    "description": "暑假期间为困境儿童提供托管和午餐。",
    "domains": ["children"],
    "target_groups": ["minor"],
    "forms": ["service"],
    "service_types": ["day_care"],
    "service_area": ["440117000000"],
    "max_age": 16,
    "quota": 30,
    "starts_on": "2026-07-01",
    "ends_on": "2027-06-30",
}


def test_registration_review_and_publication_over_http(client: FlaskClient) -> None:
    charity = bearer(client, "charity_f")
    created = client.post("/api/v1/projects", json=PROJECT, headers=charity)
    assert created.status_code == 201, created.json
    project_id = created.json["id"]
    assert created.json["status"] == "draft"
    assert client.post(f"/api/v1/projects/{project_id}/submit", headers=charity).status_code == 200

    county = bearer(client, "ca_conghua")
    queue = client.get("/api/v1/projects?reviewable=true", headers=county).json
    assert project_id in {p["id"] for p in queue}
    refused = client.post(
        f"/api/v1/projects/{project_id}/review", json={"approve": False}, headers=county
    )
    assert refused.status_code == 422 and "reason" in refused.json["error"]["fields"]
    approved = client.post(
        f"/api/v1/projects/{project_id}/review", json={"approve": True}, headers=county
    )
    assert approved.json["status"] == "verified"
    other_county = bearer(client, "ca_ruyuan")
    built = client.post(
        "/api/v1/ledgers", json={"region_code": "440117000000", "period": "2026H2"},
        headers=other_county,
    )  # fmt: skip
    assert built.status_code == 403
    built = client.post(
        "/api/v1/ledgers", json={"region_code": "440117000000", "period": "2026H2"},
        headers=county,
    )  # fmt: skip
    assert built.status_code == 201
    station = bearer(client, "station_a")
    current = client.get("/api/v1/ledgers/current", headers=station).json
    names = {e["name"] for edition in current for e in edition["entries"]}
    assert PROJECT["name"] in names
    export = client.get(f"/api/v1/ledgers/{built.json['id']}/export.xlsx", headers=station)
    assert export.status_code == 200
    assert export.headers["Content-Type"].startswith("application/vnd.openxmlformats")


def test_a_charity_gets_404_on_another_charitys_draft(client: FlaskClient, db: Session) -> None:
    organization_id = get_user(db, "charity_g").organization_id
    draft = db.scalar(
        sa.select(Project.id).where(
            Project.organization_id == organization_id, Project.status == ProjectStatus.DRAFT
        )
    )
    other = bearer(client, "charity_f")
    assert client.get(f"/api/v1/projects/{draft}", headers=other).status_code == 404
    assert client.put(f"/api/v1/projects/{draft}", json=PROJECT, headers=other).status_code == 404
    assert client.post(f"/api/v1/projects/{draft}/submit", headers=other).status_code == 404
    own = bearer(client, "charity_g")
    assert client.get(f"/api/v1/projects/{draft}", headers=own).status_code == 200


def test_project_fields_are_checked_with_chinese_messages(client: FlaskClient) -> None:
    body = dict(PROJECT, domains=["basketball"], ends_on="2026-01-01", quota=-1)
    response = client.post("/api/v1/projects", json=body, headers=bearer(client, "charity_f"))
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert fields["domains"] == {"0": ["帮扶领域中有未知的取值：basketball。"]}
    assert fields["quota"] == ["名额应在 0 至 100万 之间。"]
    assert fields["ends_on"] == ["结束日期不能早于开始日期。"]


def test_a_charity_registers_and_the_county_cannot_verify_a_province_one(
    client: FlaskClient,
) -> None:
    registration = {
        "name": "广东省暖阳公益基金会",
        "uscc": "53440000MJ0000002N",
        "registered_region_code": "440000000000",
        "password": "a-long-password",
        "display_name": "林晓",
    }
    created = client.post("/api/v1/organizations", json=registration)
    assert created.status_code == 201 and created.json["status"] == "pending"
    again = client.post("/api/v1/organizations", json=dict(registration, name="另一个基金会"))
    assert again.status_code == 409 and "已登记" in again.json["error"]["message"]
    review = f"/api/v1/organizations/{created.json['id']}/review"
    county = client.post(review, json={"approve": True}, headers=bearer(client, "ca_conghua"))
    assert county.status_code == 403
    province = client.post(review, json={"approve": True}, headers=bearer(client, "ca_province"))
    assert province.status_code == 200 and province.json["status"] == "verified"


def test_import_reports_bad_rows_over_http(client: FlaskClient) -> None:
    rows = project_rows(20)
    rows[4]["名额"] = "不限"
    data = {"file": (io.BytesIO(projects_workbook(rows)), "projects.xlsx")}
    headers = bearer(client, "charity_f")
    response = client.post(
        "/api/v1/imports/projects", data=data, headers=headers, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]["rows"]) == ["6"]
    good = {"file": (io.BytesIO(projects_workbook(project_rows(20))), "projects.xlsx")}
    response = client.post(
        "/api/v1/imports/projects", data=good, headers=headers, content_type="multipart/form-data"
    )
    assert response.status_code == 201 and response.json["created"] == 20


def test_the_openapi_document_has_the_supply_paths(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    validate(spec)
    for path in (
        "/api/v1/organizations",
        "/api/v1/projects/{project_id}/review",
        "/api/v1/ledgers",
        "/api/v1/ledgers/{edition_id}/diff",
        "/api/v1/imports/projects",
    ):
        assert path in spec["paths"], path


def test_a_half_year_outside_the_calendar_is_refused_when_publishing(client: FlaskClient) -> None:
    office = bearer(client, "ca_conghua")
    refused = client.post(
        "/api/v1/ledgers", json={"region_code": "440117000000", "period": "0000H1"}, headers=office
    )
    assert refused.status_code == 422 and "period" in refused.json["error"]["fields"]


def test_a_project_says_whom_it_is_for_in_the_second_language(client: FlaskClient) -> None:
    charity = bearer(client, "charity_f")
    body = dict(
        PROJECT, sexes=["female"], conditions=["breast_cancer", "cervical_cancer"],
        disability_types=["visual"], child_statuses=["de_facto_orphan"],
        household_situations=["single_parent"],
    )  # fmt: skip
    created = client.post("/api/v1/projects", json=body, headers=charity)
    assert created.status_code == 201, created.json
    shown = client.get(f"/api/v1/projects/{created.json['id']}", headers=charity).json
    assert shown["sexes"] == ["female"]
    assert shown["conditions"] == ["breast_cancer", "cervical_cancer"]
    assert shown["child_statuses"] == ["de_facto_orphan"]
    refused = client.post(
        "/api/v1/projects", json=dict(PROJECT, conditions=["frostbite"], sexes=["x"]),
        headers=charity,
    )  # fmt: skip
    assert refused.status_code == 422
    unknown = {"0": ["病种中有未知的取值：frostbite。"]}
    assert refused.json["error"]["fields"]["conditions"] == unknown
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    project_input = next(s for name, s in schema.items() if name.startswith("ProjectInput"))
    assert "breast_cancer" in project_input["properties"]["conditions"]["items"]["enum"]
