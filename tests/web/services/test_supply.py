"""The supply side: charities, project review, edits under review, ledger editions."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import LedgerEdition, Organization, Project
from models.base import utcnow
from models.enums import OrganizationStatus, ProjectStatus
from models.projects import STALE_AFTER_DAYS
from tests.helpers import credit_code, get_user
from web.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from web.services.ledgers import build_edition, current_editions, edition_diff
from web.services.organizations import (
    list_organizations,
    register_organization,
    review_organization,
)
from web.services.projects import (
    ProjectInput,
    expire_projects,
    input_of,
    own_project,
    register_project,
    review_project,
    stale_projects,
    submit_project,
    update_project,
    withdraw_project,
)

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
NEW_USCC = "53440000MJ0000001K"


def project_of(db: Session, username: str, status: ProjectStatus) -> Project:
    organization_id = get_user(db, username).organization_id
    project = db.scalar(
        sa.select(Project)
        .where(Project.organization_id == organization_id, Project.status == status)
        .limit(1)
    )
    assert project is not None, (username, status)
    return project


def new_project(name: str = "乳源县留守儿童周末课堂") -> ProjectInput:
    return ProjectInput(
        name=name,
        starts_on=dt.date(2026, 7, 1),
        ends_on=dt.date(2027, 6, 30),
        description="每周六为留守儿童提供作业辅导和陪伴。",
        domains=["children", "education"],
        target_groups=["minor"],
        forms=["service"],
        service_types=["school_aid"],
        service_area=["440232000000"],
        quota=40,
    )


def test_a_duplicate_credit_code_is_refused(db: Session) -> None:
    registered = sa.select(Organization.uscc).where(Organization.uscc.is_not(None))
    existing = db.scalar(registered.limit(1))
    with pytest.raises(Conflict, match="已登记"):
        register_organization(
            db, None, name="另一家", uscc_code=existing, registered_region_code="440000000000"
        )


def test_a_bad_credit_code_is_refused(db: Session) -> None:
    with pytest.raises(ValidationFailed) as raised:
        register_organization(
            db, None, name="某基金会", uscc_code="51440000MJL081522D",
            registered_region_code="440000000000",
        )  # fmt: skip
    assert "uscc" in raised.value.fields


def test_county_staff_cannot_verify_a_province_registered_charity(db: Session) -> None:
    organization = register_organization(
        db, None, name="广东省新成立慈善基金会", uscc_code=NEW_USCC,
        registered_region_code="440000000000",
    )  # fmt: skip
    assert organization.status == OrganizationStatus.PENDING
    with pytest.raises(Forbidden):
        review_organization(db, get_user(db, "ca_conghua"), organization.id, approve=True, now=NOW)
    with pytest.raises(ValidationFailed):
        review_organization(
            db, get_user(db, "ca_province"), organization.id, approve=False, now=NOW
        )
    review_organization(db, get_user(db, "ca_province"), organization.id, approve=True, now=NOW)
    assert organization.status == OrganizationStatus.VERIFIED
    with pytest.raises(Conflict):
        review_organization(db, get_user(db, "ca_province"), organization.id, approve=True, now=NOW)


def test_a_departments_review_queue_holds_only_the_charities_registered_with_it(
    db: Session,
) -> None:
    province, county = (
        register_organization(
            db, None, name=name, uscc_code=credit_code(serial), registered_region_code=region
        )  # fmt: skip
        for name, serial, region in (
            ("广东省新成立慈善基金会", 9001, "440000000000"),
            ("从化区新成立慈善会", 9002, "440117000000"),
        )
    )
    ca_province, ca_conghua = get_user(db, "ca_province"), get_user(db, "ca_conghua")
    assert county in list_organizations(db, ca_province, OrganizationStatus.PENDING)
    in_queue = list_organizations(db, ca_province, reviewable=True)
    assert province in in_queue and county not in in_queue
    in_queue = list_organizations(db, ca_conghua, reviewable=True)
    assert county in in_queue and province not in in_queue
    review_organization(db, ca_conghua, county.id, approve=True, now=NOW)
    assert county not in list_organizations(db, ca_conghua, reviewable=True)


def test_a_charity_cannot_see_or_change_another_charitys_draft(db: Session) -> None:
    draft = project_of(db, "charity_g", ProjectStatus.DRAFT)
    other = get_user(db, "charity_f")
    with pytest.raises(NotFound):
        own_project(db, other, draft.id)
    with pytest.raises(NotFound):
        update_project(db, other, draft.id, input_of(draft))
    verified = project_of(db, "charity_g", ProjectStatus.VERIFIED)
    with pytest.raises(NotFound):
        update_project(db, other, verified.id, input_of(verified))


def test_project_lifecycle_from_draft_to_ledger(db: Session) -> None:
    charity = get_user(db, "charity_h")  # 乳源 county charity
    project = register_project(db, charity, new_project())
    assert project.status == ProjectStatus.DRAFT
    submit_project(db, charity, project.id)
    with pytest.raises(Forbidden):
        review_project(db, get_user(db, "ca_conghua"), project.id, approve=True, now=NOW)
    review_project(db, get_user(db, "ca_ruyuan"), project.id, approve=True, now=NOW)
    assert project.status == ProjectStatus.VERIFIED
    edition = build_edition(db, get_user(db, "ca_ruyuan"), "440232000000", "2026H2", NOW).edition
    assert project.id in {e.project_id for e in edition.entries}
    station = get_user(db, "station_c")
    editions = current_editions(db, station.region_code)
    assert edition in editions


def test_an_edited_verified_project_stays_as_verified_until_approved(db: Session) -> None:
    charity = get_user(db, "charity_f")
    project = project_of(db, "charity_f", ProjectStatus.VERIFIED)
    original_quota = project.quota
    change = input_of(project)
    change.quota = original_quota + 50
    update_project(db, charity, project.id, change)
    assert project.status == ProjectStatus.VERIFIED
    assert project.quota == original_quota
    assert project.pending_changes == {"quota": original_quota + 50}
    reviewer = get_user(db, "ca_conghua")
    before = build_edition(db, reviewer, "440117000000", "2026H2", NOW).edition
    entry = next(e for e in before.entries if e.project_id == project.id)
    assert entry.snapshot["quota"] == original_quota
    review_project(db, reviewer, project.id, approve=True, now=NOW)
    assert project.quota == original_quota + 50 and project.pending_changes is None
    after = build_edition(db, reviewer, "440117000000", "2026H2", NOW).edition
    changed = next(e for e in after.entries if e.project_id == project.id)
    assert changed.change == "changed" and changed.changed_fields == ["quota"]


def test_an_edition_does_not_change_when_its_projects_do(db: Session) -> None:
    reviewer = get_user(db, "ca_conghua")
    edition = build_edition(db, reviewer, "440117000000", "2026H2", NOW).edition
    project = db.get(Project, edition.entries[0].project_id)
    frozen = dict(edition.entries[0].snapshot)
    project.name = "改过的名称"
    project.quota += 7
    db.flush()
    db.expire_all()
    reloaded = db.get(LedgerEdition, edition.id)
    assert reloaded.entries[0].snapshot == frozen


def test_the_diff_names_added_removed_and_changed_projects(db: Session) -> None:
    reviewer = get_user(db, "ca_conghua")
    first = build_edition(db, reviewer, "440117000000", "2026H2", NOW).edition
    ids = [e.project_id for e in first.entries]
    assert len(ids) >= 3
    removed = db.get(Project, ids[0])
    removed.status = ProjectStatus.WITHDRAWN
    changed = db.get(Project, ids[1])
    changed.description = changed.description + "（2026年下半年起扩大服务范围）"
    added = register_project(db, get_user(db, "charity_f"), new_project("荔乡助学金"))
    added.status = ProjectStatus.VERIFIED
    added.verified_at = added.confirmed_at = NOW
    db.flush()
    second = build_edition(db, reviewer, "440117000000", "2026H2", NOW).edition
    diff = edition_diff(db, second)
    assert [e.project_id for e in diff.removed] == [removed.id]
    assert [(e.project_id, e.changed_fields) for e in diff.changed] == [
        (changed.id, ["description"])
    ]
    assert [e.project_id for e in diff.added] == [added.id]
    assert (second.added_count, second.removed_count, second.changed_count) == (1, 1, 1)
    assert db.get(LedgerEdition, first.id).status.value == "superseded"


def test_stale_projects_are_left_out_and_reported(db: Session) -> None:
    reviewer = get_user(db, "ca_conghua")
    project = project_of(db, "charity_f", ProjectStatus.VERIFIED)
    project.confirmed_at = NOW - dt.timedelta(days=200)
    project.verified_at = NOW - dt.timedelta(days=400)
    result = build_edition(db, reviewer, "440117000000", "2026H2", NOW)
    assert project in result.stale
    assert project.id not in {e.project_id for e in result.edition.entries}


def test_the_charity_and_the_ledger_agree_on_which_projects_are_stale(db: Session) -> None:
    charity = get_user(db, "charity_f")
    fresh, due, never = db.scalars(
        sa.select(Project)
        .where(
            Project.organization_id == charity.organization_id,
            Project.status == ProjectStatus.VERIFIED,
        )
        .order_by(Project.id)
        .limit(3)
    )
    half_year = dt.timedelta(days=STALE_AFTER_DAYS)
    fresh.confirmed_at = NOW - half_year + dt.timedelta(minutes=1)
    due.confirmed_at = NOW - half_year - dt.timedelta(minutes=1)
    # Verified before confirmations were recorded: its registration is its last word.
    never.confirmed_at = never.verified_at = None
    never.created_at = NOW - 2 * half_year
    db.flush()
    flagged = set(stale_projects(db, charity, NOW))
    left_out = set(build_edition(db, get_user(db, "ca_conghua"), "440117000000", "2026H2",
                                 NOW).stale)  # fmt: skip
    assert {fresh, due, never} & flagged == {due, never}
    assert {fresh, due, never} & left_out == {due, never}
    assert [p.is_stale(NOW) for p in (fresh, due, never)] == [False, True, True]


def test_only_the_department_builds_its_edition(db: Session) -> None:
    with pytest.raises(Forbidden):
        build_edition(db, get_user(db, "ca_conghua"), "440100000000", "2026H2", utcnow())
    with pytest.raises(ValidationFailed):
        build_edition(db, get_user(db, "ca_conghua"), "440117000000", "2026-2", utcnow())


def test_withdrawn_and_expired_projects_leave_the_next_edition(db: Session) -> None:
    charity = get_user(db, "charity_f")
    verified = db.scalars(
        sa.select(Project).where(
            Project.organization_id == charity.organization_id,
            Project.status == ProjectStatus.VERIFIED,
        )
    ).all()
    assert len(verified) >= 2
    with pytest.raises(ValidationFailed):
        withdraw_project(db, charity, verified[0].id, " ")
    withdraw_project(db, charity, verified[0].id, "资金已用完")
    verified[1].ends_on = dt.date(2026, 11, 1)
    verified[1].starts_on = min(verified[1].starts_on, dt.date(2026, 1, 1))
    expired = expire_projects(db, dt.date(2026, 11, 23))
    assert verified[1] in expired and verified[1].status == ProjectStatus.EXPIRED
    assert expire_projects(db, dt.date(2026, 11, 23)) == []  # running again changes nothing
    edition = build_edition(db, get_user(db, "ca_conghua"), "440117000000", "2026H2", NOW).edition
    included = {e.project_id for e in edition.entries}
    assert verified[0].id not in included and verified[1].id not in included


def test_the_diff_names_a_new_rule_and_not_the_rules_older_editions_lacked(db: Session) -> None:
    reviewer = get_user(db, "ca_conghua")
    first = build_edition(db, reviewer, "440117000000", "2026H2", NOW).edition
    # An edition published before the second language: its snapshots lack the new lists.
    for entry in first.entries:
        entry.snapshot = {k: v for k, v in entry.snapshot.items()
                          if k not in ("sexes", "conditions", "child_statuses")}  # fmt: skip
    changed = db.get(Project, first.entries[0].project_id)
    changed.sexes = ["female"]
    db.flush()
    second = build_edition(db, reviewer, "440117000000", "2026H2", NOW).edition
    diff = edition_diff(db, second)
    assert [(e.project_id, e.changed_fields) for e in diff.changed] == [(changed.id, ["sexes"])]
    assert second.changed_count == 1
