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

from models import Project
from seed.synthetic import project_rows, projects_workbook
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
