"""One contract per input: a project's or a household's field is refused the same way, with
the same words, whether it comes through the page's form, the API or an Excel import."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import Household, Project
from seed.synthetic import households_workbook, project_rows, projects_workbook
from tests.helpers import bearer, csrf_token, get_user, sign_in
from tests.web.test_supply_api import PROJECT

TOO_MANY_PLACES = "名额应在 0 至 100万 之间。"


def through_the_form(client: FlaskClient, places: int) -> tuple[int, list[str]]:
    """Register a project on the page; the status and the messages beside its fields."""
    sign_in(client, "charity_f")
    form = {
        "csrf_token": csrf_token(client, "/projects/new"), "name": PROJECT["name"],
        "domains": PROJECT["domains"], "service_area": "440117000000", "quota": str(places),
        "starts_on": PROJECT["starts_on"], "ends_on": PROJECT["ends_on"], "response_days": "7",
    }  # fmt: skip
    response = client.post("/projects/new", data=form)
    return response.status_code, _field_errors(response.text)


def _field_errors(page: str) -> list[str]:
    return re.findall(r'<span class="field-error">([^<]*)</span>', page)


def through_the_api(client: FlaskClient, places: int) -> tuple[int, Any]:
    response = client.post(
        "/api/v1/projects", json=dict(PROJECT, quota=places), headers=bearer(client, "charity_f")
    )
    return response.status_code, (response.json.get("error") or {}).get("fields")


def through_the_import(client: FlaskClient, places: int) -> tuple[int, Any]:
    (row,) = project_rows(1)
    row["名额"] = places
    data = {"file": (io.BytesIO(projects_workbook([row])), "projects.xlsx")}
    response = client.post(
        "/api/v1/imports/projects", data=data, headers=bearer(client, "charity_f"),
        content_type="multipart/form-data",
    )  # fmt: skip
    return response.status_code, (response.json.get("error") or {}).get("fields")


def projects_with(db: Session, places: int) -> int:
    charity = get_user(db, "charity_f")
    return db.scalar(
        sa.select(sa.func.count(Project.id)).where(
            Project.organization_id == charity.organization_id, Project.quota == places
        )
    ) or 0  # fmt: skip


def test_a_million_and_one_places_are_refused_the_same_way_on_every_road_in(
    client: FlaskClient, db: Session
) -> None:
    assert through_the_form(client, 1_000_001) == (422, [TOO_MANY_PLACES])
    assert through_the_api(client, 1_000_001) == (422, {"quota": [TOO_MANY_PLACES]})
    assert through_the_import(client, 1_000_001) == (422, {"rows": {"2": [TOO_MANY_PLACES]}})
    assert projects_with(db, 1_000_001) == 0


@pytest.mark.parametrize("road", [through_the_form, through_the_api, through_the_import])
def test_a_million_places_are_accepted_on_every_road_in(
    client: FlaskClient, db: Session, road: Any
) -> None:
    status, errors = road(client, 1_000_000)
    assert status in (201, 302) and not errors
    assert projects_with(db, 1_000_000) == 1


VILLAGE = "440117103220"  # served by station_a
INCOME_TOO_HIGH = "月人均收入（元）应在 0 至 1000亿 之间。"
GRADE_OUT_OF_RANGE = "残疾等级应在 1 至 4 之间。"


def household_through_the_form(
    client: FlaskClient, income_yuan: int, grade: int | None = None
) -> tuple[int, list[str]]:
    sign_in(client, "station_a")
    form: dict[str, Any] = {
        "csrf_token": csrf_token(client, "/households/new"), "region_code": VILLAGE,
        "income_per_head": str(income_yuan), "members-0-name": "罗振华",
        "members-0-relation": "head", "members-0-self_care": "independent",
    }  # fmt: skip
    if grade is not None:
        form |= {"members-0-disability_type": "physical", "members-0-disability_grade": grade}
    response = client.post("/households/new", data=form)
    return response.status_code, _field_errors(response.text)


def household_through_the_api(
    client: FlaskClient, income_yuan: int, grade: int | None = None
) -> tuple[int, Any]:
    member: dict[str, Any] = {"name": "罗振华", "relation": "head"}
    if grade is not None:
        member |= {"disability_type": "physical", "disability_grade": grade}
    body = {"region_code": VILLAGE, "income_per_head_fen": income_yuan * 100, "members": [member]}
    response = client.post("/api/v1/households", json=body, headers=bearer(client, "station_a"))
    return response.status_code, (response.json.get("error") or {}).get("fields")


def household_through_the_import(
    client: FlaskClient, income_yuan: int, grade: int | None = None
) -> tuple[int, Any]:
    row: dict[str, Any] = {
        "户编号": "H1", "与户主关系": "户主", "姓名": "罗振华", "所在村（社区）代码": VILLAGE,
        "月人均收入（元）": income_yuan,
    }  # fmt: skip
    if grade is not None:
        row |= {"残疾类别": "肢体残疾", "残疾等级": grade}
    data = {"file": (io.BytesIO(households_workbook([row])), "households.xlsx")}
    response = client.post(
        "/api/v1/imports/households", data=data, headers=bearer(client, "station_a"),
        content_type="multipart/form-data",
    )  # fmt: skip
    return response.status_code, (response.json.get("error") or {}).get("fields")


def households_named(db: Session) -> int:
    return db.scalar(
        sa.select(sa.func.count(Household.id)).where(Household.head_name == "罗振华")
    ) or 0  # fmt: skip


def test_an_income_over_the_bound_is_refused_the_same_way_on_every_road_in(
    client: FlaskClient, db: Session
) -> None:
    too_high = 100_000_000_001  # yuan
    assert household_through_the_form(client, too_high) == (422, [INCOME_TOO_HIGH])
    assert household_through_the_api(client, too_high) == (
        422, {"income_per_head_fen": [INCOME_TOO_HIGH]},
    )  # fmt: skip
    assert household_through_the_import(client, too_high) == (
        422, {"rows": {"2": [INCOME_TOO_HIGH]}},
    )  # fmt: skip
    assert households_named(db) == 0


def test_a_disability_grade_out_of_range_is_refused_the_same_way_on_every_road_in(
    client: FlaskClient, db: Session
) -> None:
    assert household_through_the_form(client, 800, grade=5) == (422, [GRADE_OUT_OF_RANGE])
    assert household_through_the_api(client, 800, grade=5) == (
        422, {"members": {"0": {"disability_grade": [GRADE_OUT_OF_RANGE]}}},
    )  # fmt: skip
    assert household_through_the_import(client, 800, grade=5) == (
        422, {"rows": {"2": [GRADE_OUT_OF_RANGE]}},
    )  # fmt: skip
    assert households_named(db) == 0


@pytest.mark.parametrize(
    "road", [household_through_the_form, household_through_the_api, household_through_the_import]
)
def test_an_income_at_the_bound_is_accepted_on_every_road_in(
    client: FlaskClient, db: Session, road: Any
) -> None:
    status, errors = road(client, 100_000_000_000, grade=4)
    assert status in (201, 302) and not errors
    assert households_named(db) == 1
