"""``/api/v1/allocation-plans`` and ``flask allocation plan``: a plan beside first come first
served, bad weights named by field, edits, and approval into the charities' inboxes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import AllocationPlan, Notification, Referral
from tests.helpers import bearer, get_user
from web.services.ledgers import build_edition
from web.services.matching import clear_cache

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
CONGHUA = "440117000000"
EDITIONS = ("440000000000", "440100000000", CONGHUA, "440117103000", "440117107000")


@pytest.fixture
def published(app: Flask, db: Session) -> None:
    app.config["CLOCK"] = lambda: NOW
    clear_cache()
    admin = get_user(db, "admin")
    for region in EDITIONS:
        build_edition(db, admin, region, "2026H2", NOW)
    db.commit()


@pytest.mark.usefixtures("published")
def test_an_office_plans_edits_and_another_approves(client: FlaskClient, db: Session) -> None:
    office = bearer(client, "ca_conghua")
    made = client.post("/api/v1/allocation-plans", json={"weights": {"urgent": 2}}, headers=office)
    assert made.status_code == 201, made.json
    plan = made.json
    assert plan["region_name"] == "从化区" and plan["status"] == "draft"
    assert plan["weights"]["urgent"] == 2 and plan["weights"]["township_floor"] is True
    assert plan["objective"] >= plan["fcfs_objective"] > 0
    assert plan["lines"] and plan["places_used"]
    assert sum(p["places"] for p in plan["places_used"]) == len(plan["lines"])
    assert all(p["places"] <= p["places_left"] for p in plan["places_used"])
    assert {t["name"] for t in plan["townships"]} == {"温泉镇", "吕田镇"}

    listed = client.get("/api/v1/allocation-plans", headers=office).json
    assert [p["id"] for p in listed] == [plan["id"]]

    bad = client.put(
        f"/api/v1/allocation-plans/{plan['id']}/weights", json={"urgent": 11}, headers=office
    )
    assert bad.status_code == 422
    assert "urgent" in bad.json["error"]["fields"]

    line = plan["lines"][0]
    removed = client.patch(
        f"/api/v1/allocation-plans/{plan['id']}/lines/{line['id']}",
        json={"project_id": None}, headers=office,
    )  # fmt: skip
    assert removed.status_code == 200
    assert next(x for x in removed.json["lines"] if x["id"] == line["id"])["status"] == "removed"
    back = client.post(
        f"/api/v1/allocation-plans/{plan['id']}/lines",
        json={"need_id": line["need_id"], "project_id": line["project_id"]}, headers=office,
    )  # fmt: skip
    assert back.status_code == 201
    assert back.json["objective"] == pytest.approx(plan["objective"])

    own = client.post(f"/api/v1/allocation-plans/{plan['id']}/approve", headers=office)
    assert own.status_code == 403 and "本县设置" in own.json["error"]["message"]
    city = bearer(client, "ca_guangzhou")
    approved = client.post(f"/api/v1/allocation-plans/{plan['id']}/approve", headers=city)
    assert approved.status_code == 200, approved.json
    assert approved.json["approved"] == len(plan["lines"]) and approved.json["conflicts"] == 0
    db.expire_all()
    referrals = db.scalars(
        sa.select(Referral).where(Referral.allocation_plan_id == plan["id"])
    ).all()  # fmt: skip
    assert len(referrals) == len(plan["lines"])
    charities = {r.project.organization_id for r in referrals}
    told = db.scalars(
        sa.select(Notification.user_id).where(
            Notification.referral_id.in_([r.id for r in referrals])
        )
    ).all()  # fmt: skip
    assert {get_user(db, u).organization_id for u in ("charity_f", "charity_g")} & charities
    assert told, "the charities (and stations) are told"


@pytest.mark.usefixtures("published")
def test_bad_input_is_named_by_field(client: FlaskClient) -> None:
    office = bearer(client, "ca_conghua")
    for body, field in (
        ({"weights": {"urgent": -1}}, "weights"),
        ({"weights": {"speed": 1}}, "weights"),
        ({"region_code": "从化"}, "region_code"),
        ({"region_code": "440117103217"}, "region_code"),  # a village
    ):
        answer = client.post("/api/v1/allocation-plans", json=body, headers=office)
        assert answer.status_code == 422, body
        assert field in answer.json["error"]["fields"], answer.json


@pytest.mark.usefixtures("published")
def test_flask_allocation_plan_prints_the_plan_and_its_json(app: Flask, db: Session) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["allocation", "plan", "--region", CONGHUA, "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    for key in ("objective", "fcfs_objective", "lines", "places_used"):
        assert key in document
    assert document["places_used"] and all("project_id" in p for p in document["places_used"])
    text = runner.invoke(
        args=["allocation", "plan", "--region", CONGHUA, "--weights", '{"urgent": 3}']
    )
    assert text.exit_code == 0, text.output
    assert "先到先得" in text.output and "温泉镇" in text.output
    assert db.scalar(sa.select(sa.func.count()).select_from(AllocationPlan)) == 2
    bad = runner.invoke(args=["allocation", "plan", "--region", CONGHUA, "--weights", "{urgent"])
    assert bad.exit_code != 0 and "JSON" in bad.output
    village = runner.invoke(args=["allocation", "plan", "--region", "440117103217"])
    assert village.exit_code != 0 and "乡镇" in village.output
