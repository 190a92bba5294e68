"""What charities may not see, masking of short phones, audited reads, and huge numbers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import AuditLog, Household, Need, Project, Referral
from models.base import utcnow
from models.enums import ReferralStatus, Relation
from tests.helpers import bearer, get_user
from web.services.crypto import mask_phone
from web.services.errors import ValidationFailed
from web.services.excel import _neutralise
from web.services.households import (
    HouseholdInput,
    MemberInput,
    create_household,
    update_household,
)


def accepted_referral(db: Session) -> tuple[Household, Need, Need]:
    """A household of station_a with one need accepted by charity_a and one never referred."""
    household = db.scalar(
        sa.select(Household)
        .where(Household.station_id == get_user(db, "station_a").station_id)
        .order_by(Household.id)
    )
    referred, other = household.needs[0], household.needs[1]
    project = db.scalar(
        sa.select(Project).where(
            Project.organization_id == get_user(db, "charity_a").organization_id
        )
    )
    db.add(
        Referral(
            need_id=referred.id,
            project_id=project.id,
            status=ReferralStatus.ACCEPTED,
            approved_at=utcnow(),
        )  # fmt: skip
    )
    db.commit()
    return household, referred, other


def test_a_charity_never_gets_the_full_household_or_a_whole_id(
    client: FlaskClient, db: Session
) -> None:
    household, referred, other = accepted_referral(db)
    charity = bearer(client, "charity_a")
    assert client.get(f"/api/v1/households/{household.id}", headers=charity).status_code == 403
    member = household.members[0].id
    reveal = client.post(
        f"/api/v1/households/{household.id}/members/{member}/reveal", headers=charity
    )
    assert reveal.status_code == 403
    assert client.post(f"/api/v1/households/{household.id}/phone/reveal",
                       headers=charity).status_code == 403  # fmt: skip
    assert client.get(f"/api/v1/needs/{referred.id}", headers=charity).status_code == 200
    assert client.get(f"/api/v1/needs/{other.id}", headers=charity).status_code == 404
    assert client.get(f"/api/v1/needs/{referred.id}/matches", headers=charity).status_code == 403


def test_withdrawn_consent_hides_the_referred_need_from_the_charity(
    client: FlaskClient, db: Session
) -> None:
    household, referred, _ = accepted_referral(db)
    charity = bearer(client, "charity_a")
    assert client.get(f"/api/v1/needs/{referred.id}", headers=charity).status_code == 200
    household.consent_withdrawn_at = utcnow()
    db.commit()
    assert client.get(f"/api/v1/needs/{referred.id}", headers=charity).status_code == 404


def test_short_phone_numbers_are_masked_too() -> None:
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("8765432") == "*****32"
    assert mask_phone("87654321") == "******21"
    assert mask_phone("020-87841236") == "020*****1236"


def test_reads_of_needs_and_the_worklist_are_audited(client: FlaskClient, db: Session) -> None:
    headers = bearer(client, "station_a")
    station = get_user(db, "station_a").station_id
    need = db.scalar(sa.select(Need).join(Household).where(Household.station_id == station))
    before = db.scalar(sa.select(sa.func.count(AuditLog.id)))
    client.get(f"/api/v1/stations/{station}/worklist", headers=headers)
    client.get(f"/api/v1/needs/{need.id}", headers=headers)
    client.get("/api/v1/needs", headers=headers)
    actions = db.scalars(sa.select(AuditLog.action).order_by(AuditLog.id).offset(before)).all()
    assert {"needs.worklist", "need.read", "need.list"} <= set(actions)


def test_huge_numbers_are_refused_not_a_server_error(client: FlaskClient, db: Session) -> None:
    headers = bearer(client, "station_a")
    household = db.scalar(
        sa.select(Household.id).where(Household.station_id == get_user(db, "station_a").station_id)
    )
    page = client.get("/api/v1/households?page=100000000000000000000", headers=headers)
    assert page.status_code == 422 and "page" in page.json["error"]["fields"]
    aid = client.post(
        f"/api/v1/households/{household}/aid",
        json={"aid_type": "dibao_allowance", "amount_fen": 10**20, "period_start_on": "2026-01-01"},
        headers=headers,
    )
    assert aid.status_code == 422 and "amount_fen" in aid.json["error"]["fields"]
    need = client.post(
        f"/api/v1/households/{household}/needs",
        json={"domain": "medical", "text": "x", "amount_gap_fen": 10**20}, headers=headers,
    )  # fmt: skip
    assert need.status_code == 422


def test_civil_affairs_export_a_station_below_them_and_stations_only_their_own(
    client: FlaskClient, db: Session
) -> None:
    station_a = get_user(db, "station_a").station_id
    county = bearer(client, "ca_conghua")
    url = f"/api/v1/households/export.xlsx?station_id={station_a}"
    assert client.get(url, headers=county).status_code == 200
    assert client.get(url, headers=bearer(client, "ca_ruyuan")).status_code == 404
    assert client.get(url, headers=bearer(client, "station_b")).status_code == 404
    assert client.get(url, headers=bearer(client, "station_a")).status_code == 200


def test_spreadsheet_cells_that_could_run_as_formulas_are_neutralised() -> None:
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert _neutralise(value).startswith("'")
    assert _neutralise("温泉镇") == "温泉镇"


def test_an_edit_cannot_give_two_members_the_same_id_number(db: Session) -> None:
    user = get_user(db, "station_a")
    head_id = "440122196503120032"
    data = HouseholdInput(
        region_code=user.station.region_code,
        members=[MemberInput(name="甲", relation=Relation.HEAD, id_number=head_id)],
    )
    household = create_household(db, user, data)
    edit = HouseholdInput(
        region_code=user.station.region_code,
        members=[
            MemberInput(name="甲", relation=Relation.HEAD),  # keeps the number on record
            MemberInput(name="乙", relation=Relation.SPOUSE, id_number=head_id),
        ],
    )
    with pytest.raises(ValidationFailed):
        update_household(db, user, household.id, edit)


def test_control_characters_in_a_household_do_not_break_its_export(
    client: FlaskClient, db: Session
) -> None:
    import io

    import openpyxl

    household = db.scalar(
        sa.select(Household).where(Household.station_id == get_user(db, "station_a").station_id)
    )
    household.address = "新田村\x0b3号"  # typed with a stray control character
    db.commit()
    export = client.get("/api/v1/households/export.xlsx", headers=bearer(client, "station_a"))
    assert export.status_code == 200
    cells = [c.value for row in openpyxl.load_workbook(io.BytesIO(export.data)).active.iter_rows()
             for c in row]  # fmt: skip
    assert "新田村3号" in cells


def test_ids_too_large_for_the_database_are_refused_in_queries(client: FlaskClient) -> None:
    headers = bearer(client, "ca_conghua")
    for too_large in (2**70, 2**40):  # past 64 bits, and past PostgreSQL's 32-bit INTEGER
        for path in ("/api/v1/households?station_id=", "/api/v1/projects?organization_id=",
                     "/api/v1/households/export.xlsx?station_id="):  # fmt: skip
            response = client.get(f"{path}{too_large}", headers=headers)
            assert response.status_code == 422, (path, too_large)
        assert client.get(f"/api/v1/households/{too_large}", headers=headers).status_code == 404
    station = bearer(client, "station_a")
    referral = client.post(
        f"/api/v1/needs/{2**40}/referrals", json={"project_id": 2**40}, headers=station
    )
    assert referral.status_code == 404
