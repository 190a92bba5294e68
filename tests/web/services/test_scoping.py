"""Each role sees exactly its share: a station its households, a region everything below it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Household, Organization, Project, Station
from models.enums import OrganizationStatus, ProjectStatus
from tests.helpers import get_user
from web.services.scoping import scoped


def visible_households(db: Session, username: str) -> set[int]:
    return set(db.scalars(scoped(sa.select(Household.id), get_user(db, username))))


def households_of_station(db: Session, username: str) -> set[int]:
    station_id = get_user(db, username).station_id
    return set(db.scalars(sa.select(Household.id).where(Household.station_id == station_id)))


def households_under(db: Session, prefix: str) -> set[int]:
    return set(db.scalars(sa.select(Household.id).where(Household.region_code.startswith(prefix))))


def test_station_staff_see_only_their_station(db: Session) -> None:
    for username in ("station_a", "station_b", "station_c"):
        own = households_of_station(db, username)
        assert own, f"demo station of {username} has households"
        assert visible_households(db, username) == own
    assert not visible_households(db, "station_a") & visible_households(db, "station_b")


def test_civil_affairs_see_their_region_and_below(db: Session) -> None:
    everything = set(db.scalars(sa.select(Household.id)))
    assert visible_households(db, "ca_province") == everything
    assert visible_households(db, "ca_guangzhou") == households_under(db, "4401")
    assert visible_households(db, "ca_conghua") == households_under(db, "440117")
    assert visible_households(db, "ca_ruyuan") == households_under(db, "440232")
    assert not visible_households(db, "ca_conghua") & visible_households(db, "ca_ruyuan")


def test_charity_staff_see_no_household_without_an_accepted_referral(db: Session) -> None:
    assert visible_households(db, "charity_a") == set()


def test_admin_sees_everything_and_a_disabled_user_nothing(db: Session) -> None:
    everything = set(db.scalars(sa.select(Household.id)))
    assert visible_households(db, "admin") == everything
    get_user(db, "ca_province").is_active = False
    assert visible_households(db, "ca_province") == set()


def test_stations_are_scoped_by_region(db: Session) -> None:
    conghua = set(db.scalars(scoped(sa.select(Station.id), get_user(db, "ca_conghua"))))
    expected = set(
        db.scalars(sa.select(Station.id).where(Station.region_code.startswith("440117")))
    )
    assert conghua == expected and conghua


def test_charity_sees_its_own_drafts_but_not_others(db: Session) -> None:
    charity = get_user(db, "charity_a")
    visible = list(db.scalars(scoped(sa.select(Project), charity)))
    for project in visible:
        assert (
            project.status == ProjectStatus.VERIFIED
            or project.organization_id == charity.organization_id
        )
    others_drafts = db.scalars(
        sa.select(Project).where(
            Project.status != ProjectStatus.VERIFIED,
            Project.organization_id != charity.organization_id,
        )
    ).all()
    assert others_drafts, "the demo has unverified projects of other charities"
    assert not {p.id for p in others_drafts} & {p.id for p in visible}


def test_pending_organizations_are_hidden_from_stations(db: Session) -> None:
    station = get_user(db, "station_a")
    statuses = set(db.scalars(scoped(sa.select(Organization.status), station)))
    assert statuses == {OrganizationStatus.VERIFIED}
