"""一家慈善组织服务过的家庭, and the audit of every read of a charity's record.

The data set is the charity record's (``test_charity_record.record``): one 从化 charity, its
referrals in known states. Accepted by it, in service or completed: r1 (h1, completed
08-01, ¥500, rated 5), r2 (h2, completed 09-01, a service, rated 4), r3 (h3, in service),
r9 (h4, accepted 07-02, completed 12-31, ¥200, rated 1) and rR (乳源's hR, completed 07-20,
¥1,000, rated 2); the rest were declined, expired or wait for an answer, and are not listed.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import AuditLog, Need, Project, Referral, User, clock
from models.enums import NeedStatus, ReferralStatus
from tests.helpers import bearer, get_user, sign_in
from tests.web.services import test_charity_record
from web.services.archives import archive_closed_cases
from web.services.errors import NotFound
from web.services.households_served import list_households_served

S = ReferralStatus
CONGHUA = "440117000000"
PASSWORD = test_charity_record.PASSWORD
#: The charity record's data set, as a fixture of this module too.
record = test_charity_record.record


def audits(db: Session, action: str) -> list[AuditLog]:
    return list(db.scalars(sa.select(AuditLog).where(AuditLog.action == action)))


def test_a_charity_sees_every_household_it_took_on_without_names(db: Session, record: dict) -> None:
    charity = db.get(User, record["user"])
    assert charity is not None

    served = list_households_served(db, charity, record["organization"])

    assert served.total == 5 and served.households == 5
    assert {row["status"] for row in served.items} == {"completed", "in_service"}
    for row in served.items:
        assert "head_name" not in row and "household_id" not in row
    assert "温泉镇" in {row["place"] for row in served.items}
    rated = sorted(row["satisfaction"] for row in served.items if row["satisfaction"])
    assert rated == [1, 2, 4, 5]
    assert sorted(r["delivered_amount_fen"] or 0 for r in served.items) == [
        0, 0, 20_000, 50_000, 100_000,
    ]  # fmt: skip


def test_a_household_that_withdrew_consent_is_gone_from_the_charitys_list(
    db: Session, record: dict
) -> None:
    charity = db.get(User, record["user"])
    assert charity is not None
    before = list_households_served(db, charity, record["organization"])
    withdrawn = db.get(Referral, before.items[0]["referral_id"])
    assert withdrawn is not None
    withdrawn.need.household.consent_withdrawn_at = clock.now()
    db.flush()

    after = list_households_served(db, charity, record["organization"])

    assert after.total == before.total - 1
    assert withdrawn.id not in {row["referral_id"] for row in after.items}


def test_an_office_sees_only_its_regions_households_by_name(db: Session, record: dict) -> None:
    office = get_user(db, "ca_conghua")

    served = list_households_served(db, office, record["organization"])

    assert served.total == 4 and served.region_code == CONGHUA
    assert sorted(row["head_name"] for row in served.items) == ["户h1", "户h2", "户h3", "户h4"]
    assert all(row["household_id"] for row in served.items)


def test_another_charity_a_station_and_an_office_elsewhere_are_told_it_does_not_exist(
    db: Session, record: dict
) -> None:
    for username in ("charity_f", "station_a", "ca_ruyuan"):
        with pytest.raises(NotFound):
            list_households_served(db, get_user(db, username), record["organization"])


def test_the_half_year_filter_keeps_the_help_that_ran_in_it(db: Session, record: dict) -> None:
    office = get_user(db, "ca_conghua")

    second = list_households_served(db, office, record["organization"], period="2026H2")
    first = list_households_served(db, office, record["organization"], period="2026H1")
    later = list_households_served(db, office, record["organization"], period="2027H1")

    assert second.total == 4
    assert first.total == 0  # r9 was approved in H1 but accepted on 07-02
    assert {row["status"] for row in later.items} == {"in_service"}  # r3, still serving


def test_a_completion_that_left_part_of_the_gap_reads_partial_not_done(
    db: Session, record: dict
) -> None:
    office = get_user(db, "ca_conghua")
    first = db.scalar(
        sa.select(Referral)
        .join(Project, Project.id == Referral.project_id)
        .where(Project.organization_id == record["organization"],
               Referral.delivered_amount_fen == 50_000)
    )  # fmt: skip
    assert first is not None
    need = db.get(Need, first.need_id)
    assert need is not None
    need.status = NeedStatus.PARTIAL
    db.flush()

    rows = {
        r["referral_id"]: r
        for r in list_households_served(db, office, record["organization"]).items
    }

    assert rows[first.id]["outcome"] == "partial" and rows[first.id]["outcome_label"] == "部分满足"
    assert {r["outcome"] for i, r in rows.items() if i != first.id} <= {"completed", "in_service"}


def test_archived_referrals_stay_on_the_list(db: Session, record: dict) -> None:
    office = get_user(db, "ca_conghua")
    # Completed referrals carry no timeline in this data set; their follow-ups are done.
    archive_closed_cases(db, dt.datetime.now(dt.UTC) + dt.timedelta(days=4000))

    served = list_households_served(db, office, record["organization"])

    assert served.total == 4
    assert sum(1 for row in served.items if row["archived_at"] is not None) == 3


def test_the_list_is_paged(db: Session, record: dict) -> None:
    office = get_user(db, "ca_conghua")

    first = list_households_served(db, office, record["organization"], per_page=3)
    second = list_households_served(db, office, record["organization"], page=2, per_page=3)

    assert (first.pages, len(first.items), len(second.items)) == (2, 3, 1)
    ids = [r["referral_id"] for r in first.items + second.items]
    assert len(set(ids)) == 4
    assert first.items[0]["accepted_at"] >= first.items[-1]["accepted_at"]


def test_every_read_is_audited_with_the_households_shown(db: Session, record: dict) -> None:
    office = get_user(db, "ca_conghua")

    served = list_households_served(db, office, record["organization"], period="2026H2")

    [entry] = audits(db, "charity_households.read")
    assert entry.actor_id == office.id and entry.object_id == str(record["organization"])
    assert entry.region_code == CONGHUA
    assert entry.detail["period"] == "2026H2" and entry.detail["count"] == served.total
    assert len(entry.detail["households"]) == 4


def test_the_api_answers_by_role(client: FlaskClient, record: dict) -> None:
    path = f"/api/v1/organizations/{record['organization']}/households-served"
    own = client.get(path, headers=bearer(client, "record_charity", PASSWORD))
    assert own.status_code == 200, own.json
    assert own.json["total"] == 5 and own.json["per_page"] == 50
    assert all("head_name" not in row for row in own.json["items"])
    office = client.get(f"{path}?period=2026H2", headers=bearer(client, "ca_conghua"))
    assert office.status_code == 200 and office.json["total"] == 4
    assert {row["head_name"] for row in office.json["items"]} == {"户h1", "户h2", "户h3", "户h4"}
    for username in ("charity_f", "station_a", "ca_ruyuan"):
        assert client.get(path, headers=bearer(client, username)).status_code == 404, username
    assert client.get(f"{path}?page=0", headers=bearer(client, "ca_conghua")).status_code == 422


def test_the_page_speaks_chinese_with_amounts_in_yuan(app: Flask, record: dict) -> None:
    browser = app.test_client()
    sign_in(browser, "record_charity", PASSWORD)
    recorded = browser.get("/charity-record?period=2026H2")
    link = f"/organizations/{record['organization']}/households-served?period=2026H2"
    assert link in recorded.text

    page = browser.get(link)

    assert page.status_code == 200
    assert "服务过的家庭" in page.text and "记录测试·生活帮扶" in page.text
    assert "1,000.00" in page.text and "500.00" in page.text and "服务中" in page.text
    assert "户h1" not in page.text  # a charity never sees the head's name here
    visible = re.sub(r"<[^>]+>", " ", page.text.split("<main", 1)[-1])
    for code in ("in_service", "completed", "delivered_amount_fen", "100000", "2026H2"):
        assert code not in visible
    office = app.test_client()
    sign_in(office, "ca_conghua")
    theirs = office.get(link)
    assert theirs.status_code == 200 and "户h1" in theirs.text
    station = app.test_client()
    sign_in(station, "station_a")
    assert station.get(link).status_code == 404
