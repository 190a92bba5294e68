"""Access ends when it should: closing a station or suspending an organization cuts its staff
off at once — signed-in pages, API tokens already issued, new tokens and new sign-ins."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import Household
from models.enums import OrganizationStatus
from tests.helpers import DEMO_PASSWORD, bearer, csrf_token, get_user, sign_in


def own_household(db: Session, username: str) -> Household:
    household = db.scalar(
        sa.select(Household)
        .where(Household.station_id == get_user(db, username).station_id)
        .order_by(Household.id)
    )
    assert household is not None
    return household


def test_a_closed_stations_staff_are_refused_everywhere_at_once(
    app: object, client: FlaskClient, db: Session
) -> None:
    household = own_household(db, "station_a")
    staff_pages = client
    sign_in(staff_pages, "station_a")
    assert staff_pages.get(f"/households/{household.id}").status_code == 200
    token = bearer(staff_pages, "station_a")
    assert client.get(f"/api/v1/households/{household.id}", headers=token).status_code == 200

    station = get_user(db, "station_a").station
    assert station is not None
    office = bearer(client, "ca_conghua")
    closed = client.put(
        f"/api/v1/stations/{station.id}", headers=office,
        json={"name": station.name, "is_active": False},
    )  # fmt: skip
    assert closed.status_code == 200 and closed.json["is_active"] is False

    # The page session signed in before the closing: sent to sign in, nothing shown.
    page = staff_pages.get(f"/households/{household.id}")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert household.head_name not in page.text
    # The token issued before: refused, for reads and for reveals.
    assert client.get(f"/api/v1/households/{household.id}", headers=token).status_code == 401
    reveal = client.post(f"/api/v1/households/{household.id}/phone/reveal", headers=token)
    assert reveal.status_code == 401
    assert client.get("/api/v1/households", headers=token).status_code == 401
    # No new token, no new sign-in.
    fresh = client.post(
        "/api/v1/auth/token", json={"username": "station_a", "password": DEMO_PASSWORD}
    )
    assert fresh.status_code == 401
    client.post("/logout", data={"csrf_token": csrf_token(client, "/login")})
    again = sign_in(client, "station_a")
    assert again.status_code != 302 or "/login" in again.headers.get("Location", "")
    assert client.get("/households").status_code == 302
    # Staff of other stations go on working.
    assert client.get("/api/v1/households", headers=bearer(client, "station_b")).status_code == 200


def test_a_suspended_organizations_staff_are_cut_off_at_once(
    client: FlaskClient, db: Session
) -> None:
    token = bearer(client, "charity_a")
    assert client.get("/api/v1/referrals", headers=token).status_code == 200
    organization = get_user(db, "charity_a").organization
    assert organization is not None
    organization.status = OrganizationStatus.SUSPENDED
    db.commit()
    assert client.get("/api/v1/referrals", headers=token).status_code == 401
    fresh = client.post(
        "/api/v1/auth/token", json={"username": "charity_a", "password": DEMO_PASSWORD}
    )
    assert fresh.status_code == 401
