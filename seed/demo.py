"""The demo: charities, projects, stations, households and users drawn from real cases.

Everything goes through the services, as a user's actions would; the statuses a demo needs
already reached (verified charities and projects) are set as the reviewing department would
have left them. Loading twice changes nothing the second time: each record is looked up by
its natural key (credit code, project name, station name, head's ID number, username).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from matcher.conditions import shipped_catalogue
from models import Household, Member, Organization, Project, Station, User, clock
from models.base import utcnow
from models.enums import (
    Domain,
    GovAidType,
    LocalProviderKind,
    OrganizationKind,
    OrganizationStatus,
    ProjectStatus,
    Relation,
    Role,
    StationKind,
    Urgency,
)
from web.services.crypto import cipher_of
from web.services.households import (
    HouseholdInput,
    MemberInput,
    add_gov_aid,
    add_need,
    create_household,
)
from web.services.local_resources import LocalResourceInput, register_local_resource
from web.services.organizations import register_organization
from web.services.projects import ProjectInput, create_project
from web.services.regions import Progress, load_regions
from web.services.stations import create_station
from web.services.users import create_user

DATA_DIR = Path(__file__).with_name("data")
GUANGDONG_REGIONS = DATA_DIR / "guangdong_regions.csv"
#: Every township and village, National Bureau of Statistics 2023 codes (see data/README.md).
TOWNSHIPS_VILLAGES = DATA_DIR / "guangdong_townships_villages.csv"
DEMO_FILE = DATA_DIR / "demo.json"

#: The password every demo account gets unless another is given (documented in README).
DEMO_PASSWORD = "cishan-demo-2026"  # nosec B105


@dataclass
class DemoCounts:
    created: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1


def load_all_regions(
    db: Session, townships: Path = TOWNSHIPS_VILLAGES, progress: Progress | None = None
) -> tuple[int, int]:
    """Guangdong's province, cities and counties, then the townships and villages of
    ``townships`` (the shipped file, or a later edition of the codes): (inserted, updated)."""
    return load_regions(db, [GUANGDONG_REGIONS, townships], progress=progress)


def _fen(yuan: float | None) -> int | None:
    return None if yuan is None else round(yuan * 100)


def _day(value: str, shift: dt.timedelta = dt.timedelta(0)) -> dt.date:
    return dt.date.fromisoformat(value) + shift


def _date(value: str | None, shift: dt.timedelta = dt.timedelta(0)) -> dt.date | None:
    return _day(value, shift) if value else None


#: The day the demo's dates were written for. Loaded later, the projects' dates, the aid
#: periods and the consents move forward by the days since, so the demo keeps its story
#: (which projects run, which have not started, which aid goes on) instead of expiring at the
#: end of 2026. Birth dates stay: they are part of the ID numbers.
DEMO_DATES_AS_OF = dt.date(2026, 11, 29)


def demo_shift(today: dt.date | None = None) -> dt.timedelta:
    """How far the demo's dates move when loaded ``today``."""
    return max(dt.timedelta(0), (today or clock.today()) - DEMO_DATES_AS_OF)


def load_demo(db: Session, password: str = DEMO_PASSWORD, path: Path = DEMO_FILE) -> DemoCounts:
    """Load the demo data set (regions must be loaded first)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    counts = DemoCounts()
    now = utcnow()
    shift = demo_shift()
    organizations = _load_organizations(db, data["organizations"], counts, now)
    _load_projects(db, data["projects"], organizations, counts, now, shift)
    stations = _load_stations(db, data["stations"], counts)
    users = _load_users(db, data["users"], stations, organizations, password, counts)
    staff_of = {u.station_id: u for u in users.values() if u.role == Role.STATION_STAFF}
    _load_households(db, data["households"], stations, staff_of, counts, shift)
    _load_local_resources(db, data.get("local_resources", []), users, counts, now, shift)
    return counts


def _project_input(row: dict[str, Any], shift: dt.timedelta) -> ProjectInput:
    rules = row.get("eligibility") or {}
    return ProjectInput(
        name=row["name"],
        description=row.get("description", ""),
        starts_on=_day(row["starts_on"], shift),
        ends_on=_day(row["ends_on"], shift),
        domains=row["domains"],
        target_groups=row.get("target_groups", []),
        forms=row.get("forms", []),
        service_types=row.get("service_types", []),
        service_area=row["service_area"],
        min_age=rules.get("min_age"),
        max_age=rules.get("max_age"),
        household_categories=rules.get("household_categories") or [],
        max_income_per_head_fen=_fen(rules.get("max_income_per_head_yuan")),
        max_disability_grade=rules.get("max_disability_grade"),
        illness_kinds=rules.get("illness_kinds") or [],
        school_stages=rules.get("school_stages") or [],
        sexes=rules.get("sexes") or [],
        disability_types=rules.get("disability_types") or [],
        conditions=list(shipped_catalogue().resolve(rules.get("conditions") or [])),
        child_statuses=rules.get("child_statuses") or [],
        household_situations=rules.get("household_situations") or [],
        amount_per_beneficiary_fen=_fen(row.get("amount_per_beneficiary_yuan")),
        budget_fen=_fen(row.get("budget_yuan")),
        quota=row.get("quota", 0),
        accepts_simplified=row.get("accepts_simplified", False),
        contact_name=row.get("contact_name"),
        contact_phone=row.get("contact_phone"),
    )


def _load_local_resources(
    db: Session,
    rows: list[dict[str, Any]],
    users: dict[str, User],
    counts: DemoCounts,
    now: dt.datetime,
    shift: dt.timedelta,
) -> None:
    """Local resources (本地资源) registered by a station, as its worker would, and verified
    as the county office would."""
    for row in rows:
        staff = users[row["registered_by"]]
        exists = db.scalar(
            sa.select(Project.id)
            .join(Organization)
            .where(
                Organization.kind == OrganizationKind.LOCAL,
                Organization.name == row["provider_name"],
                Project.name == row["name"],
            )
        )
        if exists is not None:
            continue
        kind = LocalProviderKind(row["provider_kind"])
        data = LocalResourceInput(_project_input(row, shift), row["provider_name"], kind)
        project = register_local_resource(db, staff, data)
        project.status = ProjectStatus.VERIFIED
        project.verified_at = project.confirmed_at = now
        counts.add("local_resources")


def _load_organizations(
    db: Session, rows: list[dict[str, Any]], counts: DemoCounts, now: dt.datetime
) -> dict[str, Organization]:
    found: dict[str, Organization] = {}
    for row in rows:
        organization = db.scalar(sa.select(Organization).where(Organization.uscc == row["uscc"]))
        if organization is None:
            organization = register_organization(
                db,
                None,
                name=row["name"],
                uscc_code=row["uscc"],
                registered_region_code=row["registered_region_code"],
                is_certified_charity=row["is_certified_charity"],
                has_public_fundraising=row["has_public_fundraising"],
                contact_name=row.get("contact_name"),
                contact_phone=row.get("contact_phone"),
                address=row.get("address"),
            )
            organization.status = OrganizationStatus(row["status"])
            if organization.status == OrganizationStatus.VERIFIED:
                organization.verified_at = now
            counts.add("organizations")
        found[row["key"]] = organization
    return found


def _load_projects(
    db: Session,
    rows: list[dict[str, Any]],
    organizations: dict[str, Organization],
    counts: DemoCounts,
    now: dt.datetime,
    shift: dt.timedelta,
) -> None:
    for row in rows:
        organization = organizations[row["organization"]]
        exists = db.scalar(
            sa.select(Project.id).where(
                Project.organization_id == organization.id, Project.name == row["name"]
            )
        )
        if exists is not None:
            continue
        project = create_project(db, None, organization, _project_input(row, shift))
        project.quota_used = row.get("quota_used", 0)
        project.status = ProjectStatus(row["status"])
        if project.status == ProjectStatus.VERIFIED:
            project.verified_at = now
            project.confirmed_at = now
        counts.add("projects")


def _load_stations(
    db: Session, rows: list[dict[str, Any]], counts: DemoCounts
) -> dict[str, Station]:
    found: dict[str, Station] = {}
    for row in rows:
        station = db.scalar(
            sa.select(Station).where(
                Station.region_code == row["region_code"], Station.name == row["name"]
            )
        )
        if station is None:
            station = create_station(
                db,
                None,
                name=row["name"],
                kind=StationKind(row["kind"]),
                region_code=row["region_code"],
                contact_name=row.get("contact_name"),
                phone=row.get("phone"),
                address=row.get("address"),
            )
            counts.add("stations")
        found[row["key"]] = station
    return found


def _load_users(
    db: Session,
    rows: list[dict[str, Any]],
    stations: dict[str, Station],
    organizations: dict[str, Organization],
    password: str,
    counts: DemoCounts,
) -> dict[str, User]:
    found: dict[str, User] = {}
    for row in rows:
        user = db.scalar(sa.select(User).where(User.username == row["username"]))
        if user is None:
            station = stations.get(row["station"]) if row.get("station") else None
            organization = (
                organizations.get(row["organization"]) if row.get("organization") else None
            )
            user = create_user(
                db,
                None,
                username=row["username"],
                password=password,
                display_name=row["display_name"],
                role=Role(row["role"]),
                region_code=row["region_code"],
                station_id=station.id if station else None,
                organization_id=organization.id if organization else None,
            )
            counts.add("users")
        found[row["username"]] = user
    return found


def _load_households(
    db: Session,
    rows: list[dict[str, Any]],
    stations: dict[str, Station],
    staff_of: dict[int | None, User],
    counts: DemoCounts,
    shift: dt.timedelta,
) -> None:
    cipher = cipher_of(db)
    for row in rows:
        station = stations[row["station"]]
        head = next(m for m in row["members"] if m["relation"] == Relation.HEAD.value)
        head_hash = cipher.lookup_hash(head["id_number"])
        exists = db.scalar(
            sa.select(Member.id)
            .join(Household)
            .where(Member.id_number_hash == head_hash, Household.station_id == station.id)
        )
        staff = staff_of.get(station.id)
        if exists is not None or staff is None:
            # Already there; or its station was renamed since and a new one stands in with no
            # demo staff: the demo does not re-create households a user has taken over.
            continue
        household = create_household(
            db,
            staff,
            HouseholdInput(
                region_code=row["region_code"],
                address=row.get("address"),
                phone=row.get("phone"),
                categories=row.get("categories", []),
                income_per_head_fen=_fen(row.get("income_per_head_yuan")) or 0,
                medical_expense_fen=_fen(row.get("medical_expense_yuan")) or 0,
                education_expense_fen=_fen(row.get("education_expense_yuan")) or 0,
                consent_on=_date(row.get("consent_on"), shift),
                consent_scope="困难情况核实、慈善帮扶转介" if row.get("consent_on") else None,
                members=[
                    MemberInput(
                        name=m["name"],
                        relation=Relation(m["relation"]),
                        id_number=m.get("id_number"),
                        birth_on=_date(m.get("birth_on")),
                        sex=m.get("sex"),
                        disability_type=m.get("disability_type"),
                        disability_grade=m.get("disability_grade"),
                        illness=m.get("illness"),
                        illness_kind=m.get("illness_kind"),
                        self_care=m.get("self_care") or "independent",
                        school_stage=m.get("school_stage"),
                    )
                    for m in row["members"]
                ],
            ),
            station_id=station.id,
        )
        for aid in row.get("gov_aid", []):
            add_gov_aid(
                db,
                staff,
                household,
                GovAidType(aid["aid_type"]),
                _fen(aid["amount_yuan"]) or 0,
                _day(aid["period_start_on"], shift),
                _date(aid.get("period_end_on"), shift),
            )
        for need in row.get("needs", []):
            member_index = need.get("member")
            add_need(
                db,
                staff,
                household,
                domain=Domain(need["domain"]),
                text=need["text"],
                member_id=household.members[member_index].id if member_index is not None else None,
                amount_gap_fen=_fen(need.get("amount_gap_yuan")),
                urgency=Urgency(need.get("urgency", "normal")),
            )
        counts.add("households")
