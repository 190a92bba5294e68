"""The review queue as civil-affairs staff read it: a change to a project named by the form's
field names with amounts in yuan, each project opened to a before/after view, the ledger's
differences named the same way, and home-page counts that are the queues they link to."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import Organization, Project, User, clock
from models.base import utcnow
from models.enums import OrganizationStatus, ProjectStatus
from tests.helpers import get_user, sign_in
from web.services.ledgers import build_edition
from web.services.projects import input_of, review_project, update_project

CONGHUA = "440117000000"


def conghua_project(db: Session) -> Project:
    """A verified project of a charity registered with 从化区民政局 (ca_conghua reviews it)."""
    project = db.scalar(
        sa.select(Project)
        .join(Organization)
        .where(
            Organization.registered_region_code == CONGHUA,
            Organization.status == OrganizationStatus.VERIFIED,
            Project.status == ProjectStatus.VERIFIED,
        )
        .order_by(Project.id)
        .limit(1)
    )
    assert project is not None
    return project


def ask_for_change(db: Session, project: Project, **changes: Any) -> None:
    charity = db.scalars(
        sa.select(User).where(User.organization_id == project.organization_id).order_by(User.id)
    ).first()
    assert charity is not None
    data = dataclasses.replace(input_of(project), **changes)
    update_project(db, charity, project.id, data)
    db.commit()


def test_a_pending_change_is_shown_in_the_forms_words_and_in_yuan(
    client: FlaskClient, db: Session
) -> None:
    project = conghua_project(db)
    before = project.amount_per_beneficiary_fen
    ask_for_change(db, project, amount_per_beneficiary_fen=600000, quota=project.quota + 5)
    sign_in(client, "ca_conghua")

    queue = client.get("/review").text
    assert "每人帮扶金额（元）" in queue and "6,000.00" in queue and "名额" in queue
    assert "amount_per_beneficiary_fen" not in queue and "600000" not in queue
    link = f'href="/review/projects/{project.id}"'
    assert link in queue  # the row opens the project

    page = client.get(f"/review/projects/{project.id}")
    assert page.status_code == 200
    changed = re.findall(r'data-testid="changed-field"><th scope="row">([^<]+)</th>', page.text)
    assert changed == ["每人帮扶金额（元）", "名额"]  # in the order of the form
    shown_before = "—" if before is None else f"{before / 100:,.2f}"
    assert shown_before in page.text and "6,000.00" in page.text  # before and after
    assert "现行内容" in page.text and "修改后" in page.text
    assert "_fen" not in page.text and "quota" not in page.text


def test_another_department_may_not_open_a_project_it_does_not_review(
    client: FlaskClient, db: Session
) -> None:
    project = conghua_project(db)
    sign_in(client, "ca_ruyuan")
    assert client.get(f"/review/projects/{project.id}").status_code in (403, 404)


def test_the_ledger_names_what_changed_in_the_forms_words(client: FlaskClient, db: Session) -> None:
    project = conghua_project(db)
    now = utcnow()
    period = clock.period_of(clock.local_date(now))
    build_edition(db, None, CONGHUA, period, now)
    ask_for_change(db, project, amount_per_beneficiary_fen=600000)
    review_project(db, get_user(db, "ca_conghua"), project.id, approve=True, now=now)
    edition = build_edition(db, None, CONGHUA, period, now).edition
    db.commit()
    sign_in(client, "ca_conghua")
    page = client.get(f"/ledgers/{edition.id}").text
    assert f"{project.name}（每人帮扶金额（元））" in page
    assert "amount_per_beneficiary_fen" not in page


def figure(page: str, testid: str) -> int:
    found = re.search(rf'data-testid="{testid}"><span class="value">(\d+)</span>', page)
    assert found, testid
    return int(found.group(1))


def rows(page: str, testid: str) -> int:
    return page.count(f'<tr data-testid="{testid}">')


def test_home_figures_are_the_review_queues_they_link_to(client: FlaskClient, db: Session) -> None:
    # A change waiting besides the demo's queue, so a figure counts one at least.
    ask_for_change(db, conghua_project(db), quota=conghua_project(db).quota + 1)
    counted = {}
    for username in ("ca_province", "ca_guangzhou", "ca_conghua", "ca_ruyuan"):
        user = client.application.test_client()
        sign_in(user, username)
        home = user.get("/home").text
        review = user.get("/review").text
        assert 'href="/review#project-queue"' in home
        assert figure(home, "fig-projects-submitted") == rows(review, "project-row"), username
        assert figure(home, "fig-orgs-pending") == rows(review, "org-row"), username
        counted[username] = figure(home, "fig-projects-submitted")
    assert counted["ca_conghua"] >= 1
