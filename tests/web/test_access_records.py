"""Every look on record: each page, API answer and export showing personal data writes one read
record naming whom it showed; refused attempts on personal data are recorded with who and from
where."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import AuditLog, Household
from tests.helpers import bearer, get_user, sign_in


def first_household(db: Session, username: str) -> Household:
    household = db.scalar(
        sa.select(Household)
        .where(Household.station_id == get_user(db, username).station_id)
        .order_by(Household.id)
    )
    assert household is not None
    return household


def records(db: Session, action: str) -> list[AuditLog]:
    return list(db.scalars(sa.select(AuditLog).where(AuditLog.action == action)
                           .order_by(AuditLog.id)))  # fmt: skip


def test_opening_the_edit_form_is_a_read_naming_the_household_and_its_members(
    client: FlaskClient, db: Session
) -> None:
    household = first_household(db, "station_a")
    before = len(records(db, "household.read"))
    sign_in(client, "station_a")
    page = client.get(f"/households/{household.id}/edit")
    assert page.status_code == 200 and household.members[0].name in page.text
    reads = records(db, "household.read")[before:]
    assert len(reads) == 1
    (read,) = reads
    assert read.actor_id == get_user(db, "station_a").id
    assert read.object_id == str(household.id)
    assert read.detail == {
        "view": "edit",
        "households": [household.id],
        "members": sorted(m.id for m in household.members),
    }


def test_lists_and_exports_name_whom_they_showed(client: FlaskClient, db: Session) -> None:
    household = first_household(db, "station_a")
    headers = bearer(client, "station_a")
    assert client.get("/api/v1/households", headers=headers).status_code == 200
    (listed,) = records(db, "household.list")[-1:]
    assert household.id in (listed.detail or {})["households"]
    assert client.get("/api/v1/households/export.xlsx", headers=headers).status_code == 200
    (exported,) = records(db, "household.export")[-1:]
    assert household.id in (exported.detail or {})["households"]
    assert household.members[0].id in (exported.detail or {})["members"]


def test_a_refused_look_at_another_stations_household_is_recorded_with_who_and_where(
    client: FlaskClient, db: Session
) -> None:
    other = first_household(db, "station_a")
    sign_in(client, "station_b")
    assert client.get(f"/households/{other.id}").status_code == 404
    assert client.get(f"/households/{other.id}/edit").status_code == 404
    headers = bearer(client, "station_b")
    assert client.get(f"/api/v1/households/{other.id}", headers=headers).status_code == 404
    refused = records(db, "access.refused")[-3:]
    station_b = get_user(db, "station_b")
    assert [(r.actor_id, r.ip) for r in refused] == [(station_b.id, "127.0.0.1")] * 3
    assert [(r.detail or {})["path"] for r in refused] == [
        f"/households/{other.id}", f"/households/{other.id}/edit",
        f"/api/v1/households/{other.id}",
    ]  # fmt: skip
    assert {(r.detail or {})["status"] for r in refused} == {404}


def test_a_charity_refused_the_needs_ledger_is_recorded(client: FlaskClient, db: Session) -> None:
    household = first_household(db, "station_a")
    headers = bearer(client, "charity_a")
    answer = client.get(f"/api/v1/households/{household.id}", headers=headers)
    assert answer.status_code in (403, 404)
    (refused,) = records(db, "access.refused")[-1:]
    assert refused.actor_id == get_user(db, "charity_a").id
    assert (refused.detail or {})["status"] == answer.status_code
