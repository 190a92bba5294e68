"""The ledger in Open Referral HSDS 3.0: the demo's editions conform to the published schemas,
and read back they are the edition's charities and projects, under ids that do not move."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import LedgerEdition, Organization
from models.enums import OrganizationStatus
from tests.helpers import get_user
from web.services.hsds import (
    CURRENCY,
    FILES,
    HSDS_VERSION,
    HsdsExport,
    export_hsds,
    hsds_files,
    hsds_problems,
)
from web.services.ledgers import build_edition, township_departments
from web.services.regions import region_label

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
CONGHUA = "440117000000"
WENQUAN = "440117103000"  # 温泉镇: the township edition of local resources


def publish_all(db: Session, now: dt.datetime = NOW) -> list[LedgerEdition]:
    """An edition of every department with a verified provider, the township's included."""
    admin = get_user(db, "admin")
    departments = db.scalars(
        sa.select(Organization.registered_region_code)
        .where(Organization.status == OrganizationStatus.VERIFIED)
        .distinct()
        .order_by(Organization.registered_region_code)
    )
    codes = sorted({*departments, *township_departments(db)})
    return [build_edition(db, admin, code, "2026H2", now).edition for code in codes]


def read_back(export: HsdsExport) -> dict[str, Any]:
    """The files of an export as a consumer reads them."""
    return {name: json.loads(data) for name, data in hsds_files(export).items()}


def edition_of(editions: list[LedgerEdition], region_code: str) -> LedgerEdition:
    return next(e for e in editions if e.region_code == region_code)


def area_codes(service: dict[str, Any]) -> list[str]:
    return [a["attributes"][0]["taxonomy_term"]["code"] for a in service["service_areas"]]


def test_every_demo_edition_in_hsds_validates_against_the_published_schemas(
    db: Session,
) -> None:
    editions = publish_all(db)
    assert {CONGHUA, WENQUAN, "440000000000"} <= {e.region_code for e in editions}
    services = 0
    for edition in editions:
        export = export_hsds(db, edition, TODAY)
        assert hsds_problems(export) == [], edition.region_code
        services += len(export.services)
    assert services == sum(e.project_count for e in editions) > 20


def test_the_files_read_back_as_the_editions_charities_and_projects(db: Session) -> None:
    edition = edition_of(publish_all(db), CONGHUA)
    files = read_back(export_hsds(db, edition, TODAY))
    assert list(files) == list(FILES)
    assert files["edition.json"]["hsds_version"] == HSDS_VERSION
    assert files["edition.json"]["edition"]["id"] == edition.id
    assert files["edition.json"]["edition"]["state"] == "current"

    entries = sorted(edition.entries, key=lambda e: e.project_id)
    services, organizations = files["services.json"], files["organizations.json"]
    assert [s["name"] for s in services] == [e.snapshot["name"] for e in entries]
    assert len(services) == edition.project_count
    assert sorted(o["name"] for o in organizations) == sorted(
        {e.snapshot["organization_name"] for e in entries}
    )
    by_id = {o["id"]: o for o in organizations}
    for entry, service in zip(entries, services, strict=True):
        snapshot = entry.snapshot
        assert service["description"] == snapshot["description"]
        assert service["status"] == "active"
        assert by_id[service["organization_id"]]["name"] == snapshot["organization_name"]
        assert service["organization"]["id"] == service["organization_id"]
        assert area_codes(service) == snapshot["service_area"]
        assert [a["name"] for a in service["service_areas"]] == [
            region_label(db, code) for code in snapshot["service_area"]
        ]
        assert service["schedules"][0]["valid_from"] == snapshot["starts_on"]
        assert service["schedules"][0]["valid_to"] == snapshot["ends_on"]
    # Each organization lists exactly its services of the edition.
    for organization in organizations:
        listed = {s["id"] for s in organization["services"]}
        assert listed == {s["id"] for s in services if s["organization_id"] == organization["id"]}
    # Charities carry their 统一社会信用代码.
    usccs = {e.snapshot["organization_uscc"] for e in entries}
    identifiers = {i["identifier"] for o in organizations for i in o["organization_identifiers"]}
    assert identifiers == usccs


def test_a_project_maps_its_eligibility_ages_amounts_and_contact(db: Session) -> None:
    edition = edition_of(publish_all(db), "440000000000")
    services = read_back(export_hsds(db, edition, TODAY))["services.json"]
    grant = next(s for s in services if s["name"] == "圆梦助学·困难家庭大学新生资助")
    assert (grant["minimum_age"], grant["maximum_age"]) == (16, 25)
    assert "年龄 16–25 岁" in grant["eligibility_description"]
    assert "家庭月人均收入不超过 1800 元" in grant["eligibility_description"]
    assert "就学阶段：大学" in grant["eligibility_description"]
    figures = {
        a["taxonomy_term"]["code"]: a for a in grant["attributes"]
        if a["taxonomy_term"]["taxonomy"] == "帮扶标准"
    }  # fmt: skip
    assert {code: a["value"] for code, a in figures.items()} == {
        "amount_per_beneficiary": "5000.00", "quota": "400",
    }  # fmt: skip
    assert CURRENCY in figures["amount_per_beneficiary"]["taxonomy_term"]["name"]
    assert "项目预算 2000000 元" in grant["funding"][0]["source"]
    domains = [a["taxonomy_term"]["name"] for a in grant["attributes"]
               if a["taxonomy_term"]["taxonomy"] == "帮扶领域"]  # fmt: skip
    assert domains == ["教育助学"]
    contact = grant["contacts"][0]
    assert contact["name"] and contact["phones"][0]["number"] == grant["phones"][0]["number"]

    anyone = next(s for s in services if s["name"] == "粤善急难·临时困难援助金")
    assert anyone["eligibility_description"] == "不限。"
    assert "minimum_age" not in anyone and "maximum_age" not in anyone


def test_local_resources_name_the_station_answerable_and_no_givers_phone(db: Session) -> None:
    edition = edition_of(publish_all(db), WENQUAN)
    files = read_back(export_hsds(db, edition, TODAY))
    station = "温泉镇综合救助服务站"
    assert len(files["services.json"]) == len(edition.entries) == 2
    for organization in files["organizations.json"]:
        assert station in organization["description"]
        assert organization["contacts"][0]["name"] == station
        assert "organization_identifiers" not in organization  # no 统一社会信用代码
        kinds = {a["taxonomy_term"]["code"] for a in organization["attributes"]}
        assert "local" in kinds
    for service in files["services.json"]:
        assert service["contacts"] == [
            {"id": service["contacts"][0]["id"], "service_id": service["id"],
             "name": station, "title": "负责服务站"}
        ]  # fmt: skip
        assert "phones" not in service
        assert "提供方在" in service["application_process"]


def test_ids_are_uuids_that_stay_the_same_in_later_editions(db: Session) -> None:
    first = edition_of(publish_all(db), CONGHUA)
    before = export_hsds(db, first, TODAY)
    assert export_hsds(db, first, TODAY) == before
    later = build_edition(db, get_user(db, "admin"), CONGHUA, "2026H2", NOW).edition
    assert later.revision == 2
    after = export_hsds(db, later, TODAY)

    def ids(export: HsdsExport) -> dict[str, str]:
        records = [*export.services, *export.organizations]
        records += [a for s in export.services for a in s["service_areas"]]
        return {f"{r['name']}/{r.get('service_id', '')}": r["id"] for r in records}

    assert ids(after) == ids(before)
    assert all(uuid.UUID(i).version == 5 for i in ids(after).values())
    # The edition it replaced is superseded today: its services read as no longer offered.
    assert {s["status"] for s in export_hsds(db, first, TODAY).services} == {"inactive"}
    assert {s["status"] for s in after.services} == {"active"}


def test_a_project_that_has_ended_is_inactive(db: Session) -> None:
    edition = edition_of(publish_all(db), CONGHUA)
    last_day = max(dt.date.fromisoformat(e.snapshot["ends_on"]) for e in edition.entries)
    export = export_hsds(db, edition, last_day + dt.timedelta(days=1))
    assert {s["status"] for s in export.services} == {"inactive"}


@pytest.mark.parametrize(
    ("where", "change", "expected"),
    [
        ("services", {"id": "not-a-uuid"}, "services.json[0].id: 'not-a-uuid' is not a 'uuid'"),
        ("services", {"status": "open"}, "services.json[0].status: 'open' is not one of"),
        ("organizations", {"name": None}, "organizations.json[0].name: None is not of type"),
    ],
)
def test_an_export_that_breaks_the_schema_is_reported_where(
    db: Session, where: str, change: dict[str, Any], expected: str
) -> None:
    edition = edition_of(publish_all(db), CONGHUA)
    export = export_hsds(db, edition, TODAY)
    getattr(export, where)[0].update(change)
    problems = hsds_problems(export)
    assert any(p.startswith(expected) for p in problems), problems
