"""A charity's half-year record (慈善组织帮扶记录) against counts made by hand on a fixed
data set.

One new charity registered with 从化区 has one project, and eleven referrals in known states
with known times and amounts: ten of five 温泉镇 households (从化), one of a 必背镇 household
(乳源). Times are Guangdong's (UTC+8); the half-year is 2026H2 (2026-07-01 to 2026-12-31).

  ref  household  approved        answered (hours)         then                           fen
  r1   h1         07-01 10:00     accepted (+24)           completed 08-01                50000
  r2   h2         07-10 08:00     accepted (+12)           completed 09-01, a service,
                                                           episodes 08-05 and 08-20
  r3   h3         08-01 08:00     accepted (+48)           in service since 08-05,
                                                           episode 09-10
  r4   h4         09-01 08:00     declined 名额已满 (+6)
  r5   h5         09-02 08:00     declined 不符合条件 (+96)
  r6   h1         10-01 08:00     declined 名额已满 (+30)
  r7   h2         11-20 08:00     none: expired, due 11-27
  r8   h3         12-20 08:00     none yet (due 12-27 is not past in the data)
  r9   h4         06-25 (H1)      accepted 07-02 (+168)    completed 12-31 23:00          20000
                                                           (episode 06-30, in H1)
  r10  h5         2027-01-01 01:00 (H1 of 2027)
  rR   乳源 hR    07-05 08:00     accepted (+10)           completed 07-20               100000

Follow-ups (回访) rate r1 5 (08-10), r2 4 (09-10), rR 2 (08-01), and r9 1 on 2027-01-05 (H1).

By hand, the charity's own view (every household):
  received (approved in H2): r1–r8, rR = 9
  accepted (answered yes in H2): r1 r2 r3 r9 rR = 5
  declined: r4 r5 r6 = 3 (名额已满 2, 不符合条件 1) expired: r7 = 1
  completed in H2: r1 r2 r9 rR = 4                households served: h1 h2 h3 h4 hR = 5
  delivered: 50000 + 20000 + 100000 = 170000 fen = 1,700.00 元
  services completed: r2 = 1                       episodes in H2: 2 (r2) + 1 (r3) = 3
  acceptance: 5 / (5 + 3 + 1) = 0.556
  answer hours, sorted: 6 10 12 24 30 48 96 168 → median (24+30)/2 = 27.0;
  90th percentile at rank 7 × 0.9 = 6.3: 96 + 0.3 × (168 − 96) = 117.6
  satisfaction: 3 ratings, (5 + 4 + 2) / 3 = 3.67
The 从化 office's view (从化's households only, rR left out):
  received 8, accepted 4, declined 3, expired 1, completed 3, households 4, 70000 fen,
  services 1, episodes 3, acceptance 4 / 8 = 0.5;
  hours 6 12 24 30 48 96 168 → median 30.0; 90th at 6 × 0.9 = 5.4: 96 + 0.4 × 72 = 124.8;
  satisfaction 2 ratings, (5 + 4) / 2 = 4.5
"""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import (
    AuditLog,
    FollowUp,
    Household,
    Need,
    Organization,
    Project,
    ProjectArea,
    Referral,
    ServiceEpisode,
    Station,
)
from models.enums import (
    DeclineReason,
    Domain,
    NeedStatus,
    OrganizationKind,
    OrganizationStatus,
    ProjectStatus,
    ReferralStatus,
    RegionLevel,
    Role,
    ServiceType,
    StationKind,
)
from tests.helpers import bearer, get_user, sign_in
from web.services.charity_record import get_charity_record, record_rows, region_charity_records
from web.services.errors import Forbidden, NotFound
from web.services.users import create_user

S = ReferralStatus
CONGHUA, WENQUAN, VILLAGE = "440117000000", "440117103000", "440117103217"
RUYUAN_VILLAGE = "440232113201"
CST = dt.timezone(dt.timedelta(hours=8))
PASSWORD = "record-charity-2026"


def at(day: str, hour: int = 8) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=CST).astimezone(dt.UTC)


def hours(moment: dt.datetime, n: int) -> dt.datetime:
    return moment + dt.timedelta(hours=n)


@pytest.fixture
def record(db: Session) -> dict[str, int]:
    station = Station(name="温泉镇记录测试服务站", kind=StationKind.TOWNSHIP, region_code=WENQUAN)
    db.add(station)
    db.flush()
    homes = {
        key: Household(station_id=station.id, region_code=code, head_name=f"户{key}",
                       consent_on=dt.date(2026, 3, 1))
        for key, code in (("h1", VILLAGE), ("h2", VILLAGE), ("h3", VILLAGE), ("h4", VILLAGE),
                          ("h5", VILLAGE), ("hR", RUYUAN_VILLAGE))
    }  # fmt: skip
    db.add_all(homes.values())
    db.flush()
    needs = {
        key: Need(household_id=h.id, domain=Domain.LIVING, text="生活困难",
                  status=NeedStatus.REFERRED)
        for key, h in homes.items()
    }  # fmt: skip
    db.add_all(needs.values())
    organization = Organization(
        name="从化区记录测试慈善会", uscc="53440117MJ0000977X", registered_region_code=CONGHUA,
        registered_level=RegionLevel.COUNTY, status=OrganizationStatus.VERIFIED,
    )  # fmt: skip
    db.add(organization)
    db.flush()
    project = Project(
        organization_id=organization.id, name="记录测试·生活帮扶", domains=["living"], quota=50,
        starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2030, 12, 31),
        status=ProjectStatus.VERIFIED, areas=[ProjectArea(region_code=CONGHUA)],
    )  # fmt: skip
    db.add(project)
    db.flush()

    def referral(need: str, status: S, approved: dt.datetime, answer: int | None = None,
                 **extra: object) -> Referral:  # fmt: skip
        r = Referral(
            need_id=needs[need].id, project_id=project.id, status=status,
            submitted_at=approved - dt.timedelta(days=1), approved_at=approved,
            due_at=approved + dt.timedelta(days=7),
            answered_at=None if answer is None else hours(approved, answer), **extra,
        )  # fmt: skip
        db.add(r)
        return r

    r1 = at("2026-07-01", 10)
    first = referral("h1", S.COMPLETED, r1, 24, started_at=at("2026-07-03"),
             completed_at=at("2026-08-01"), delivered_amount_fen=50_000)  # fmt: skip
    r2 = referral("h2", S.COMPLETED, at("2026-07-10"), 12, started_at=at("2026-07-11"),
                  completed_at=at("2026-09-01"), delivered_service="上门照护 2 次")  # fmt: skip
    r3 = referral("h3", S.IN_SERVICE, at("2026-08-01"), 48, started_at=at("2026-08-05"))
    referral("h4", S.DECLINED, at("2026-09-01"), 6, decline_reason=DeclineReason.NO_CAPACITY)
    referral("h5", S.DECLINED, at("2026-09-02"), 96, decline_reason=DeclineReason.NOT_ELIGIBLE)
    referral("h1", S.DECLINED, at("2026-10-01"), 30, decline_reason=DeclineReason.NO_CAPACITY)
    referral("h2", S.EXPIRED, at("2026-11-20"))
    referral("h3", S.APPROVED, at("2026-12-20"))
    r9 = referral("h4", S.COMPLETED, at("2026-06-25"), 168, started_at=at("2026-07-03"),
                  completed_at=at("2026-12-31", 23), delivered_amount_fen=20_000)  # fmt: skip
    referral("h5", S.APPROVED, at("2027-01-01", 1))
    ruyuan = referral("hR", S.COMPLETED, at("2026-07-05"), 10, started_at=at("2026-07-06"),
             completed_at=at("2026-07-20"), delivered_amount_fen=100_000)  # fmt: skip
    db.flush()
    for r, day in ((r2, "2026-08-05"), (r2, "2026-08-20"), (r3, "2026-09-10"), (r9, "2026-06-30")):
        db.add(ServiceEpisode(referral_id=r.id, on=dt.date.fromisoformat(day),
                              kind=ServiceType.VISITING_CARE))  # fmt: skip
    for r, rating, day in (
        (first, 5, "2026-08-10"),
        (r2, 4, "2026-09-10"),
        (ruyuan, 2, "2026-08-01"),
        (r9, 1, "2027-01-05"),
    ):
        db.add(FollowUp(referral_id=r.id, due_on=dt.date.fromisoformat(day),
                        received=True, satisfaction=rating, done_at=at(day)))  # fmt: skip
    user = create_user(
        db, None, username="record_charity", password=PASSWORD, display_name="林记录",
        role=Role.CHARITY_STAFF, region_code=CONGHUA, organization_id=organization.id,
    )  # fmt: skip
    db.flush()
    return {"organization": organization.id, "user": user.id}


def test_the_charitys_own_record_matches_the_hand_count(db: Session, record: dict) -> None:
    charity = db.get(type(get_user(db, "charity_f")), record["user"])
    assert charity is not None
    got = get_charity_record(db, charity, record["organization"], "2026H2")
    assert (got.received, got.accepted, got.declined, got.expired, got.completed) == (
        9, 5, 3, 1, 4
    )  # fmt: skip
    assert got.households_served == 5
    assert got.delivered_fen == 170_000
    assert (got.services_completed, got.episodes) == (1, 3)
    assert got.acceptance_rate == 0.556
    assert (got.response_hours_median, got.response_hours_p90) == (27.0, 117.6)
    assert (got.satisfaction_ratings, got.satisfaction_average) == (3, 3.67)
    assert [(d.reason, d.label, d.count) for d in got.declines] == [
        ("no_capacity", "名额已满", 2), ("not_eligible", "不符合条件", 1)
    ]  # fmt: skip
    assert got.region_code is None


def test_an_office_counts_its_own_regions_households(db: Session, record: dict) -> None:
    got = get_charity_record(db, get_user(db, "ca_conghua"), record["organization"], "2026H2")
    assert (got.received, got.accepted, got.declined, got.expired, got.completed) == (
        8, 4, 3, 1, 3
    )  # fmt: skip
    assert (got.households_served, got.delivered_fen) == (4, 70_000)
    assert (got.services_completed, got.episodes) == (1, 3)
    assert got.acceptance_rate == 0.5
    assert (got.response_hours_median, got.response_hours_p90) == (30.0, 124.8)
    assert (got.satisfaction_ratings, got.satisfaction_average) == (2, 4.5)
    assert got.region_code == CONGHUA


def test_the_half_year_before_holds_only_its_own_events(db: Session, record: dict) -> None:
    # 2026H1: r9 approved 06-25 (nothing answered yet), its episode of 06-30.
    got = get_charity_record(db, get_user(db, "admin"), record["organization"], "2026H1")
    assert (got.received, got.accepted, got.completed, got.episodes) == (1, 0, 0, 1)
    assert got.response_hours_median is None and got.acceptance_rate is None
    # 2027H1: r10, approved at 01:00 on New Year's Day in Guangdong (still 2026 in UTC).
    assert get_charity_record(db, get_user(db, "admin"), record["organization"],
                              "2027H1").received == 1  # fmt: skip


def test_a_local_provider_has_a_record_like_a_charity(db: Session, record: dict) -> None:
    organization = db.get(Organization, record["organization"])
    assert organization is not None
    organization.kind = OrganizationKind.LOCAL
    db.flush()
    got = get_charity_record(db, get_user(db, "ca_conghua"), organization.id, "2026H2")
    assert (got.kind, got.received, got.delivered_fen) == ("local", 8, 70_000)


def test_who_may_see_a_record(db: Session, record: dict) -> None:
    own = record["organization"]
    with pytest.raises(NotFound):  # another charity's record
        get_charity_record(db, get_user(db, "charity_f"), own, "2026H2")
    with pytest.raises(NotFound):  # registered in and serving 乳源 only
        ruyuan_charity = get_user(db, "charity_h").organization_id
        assert ruyuan_charity is not None
        get_charity_record(db, get_user(db, "ca_conghua"), ruyuan_charity, "2026H2")
    with pytest.raises(NotFound):  # registered in 从化, serving no part of 乳源
        get_charity_record(db, get_user(db, "ca_ruyuan"), own, "2026H2")
    with pytest.raises(Forbidden):
        get_charity_record(db, get_user(db, "station_a"), own, "2026H2")
    # A provincial charity serves 从化 with its province-wide projects.
    provincial = get_user(db, "charity_a").organization_id
    assert provincial is not None
    assert get_charity_record(db, get_user(db, "ca_conghua"), provincial, "2026H2").received >= 0


def test_the_api_gives_the_record(client: FlaskClient, record: dict) -> None:
    path = f"/api/v1/organizations/{record['organization']}/record?period=2026H2"
    own = bearer(client, "record_charity", PASSWORD)
    got = client.get(path, headers=own)
    assert got.status_code == 200, got.json
    assert got.json["received"] == 9 and got.json["delivered_fen"] == 170_000
    assert got.json["response_hours_median"] == 27.0
    assert got.json["satisfaction_average"] == 3.67
    assert got.json["declines"][0] == {"reason": "no_capacity", "label": "名额已满", "count": 2}
    office = client.get(path, headers=bearer(client, "ca_conghua")).json
    assert office["received"] == 8 and office["region_code"] == CONGHUA
    assert client.get(path, headers=bearer(client, "charity_f")).status_code == 404
    assert client.get(path, headers=bearer(client, "station_a")).status_code == 403
    bad = client.get(path.replace("2026H2", "2026H3"), headers=own)
    assert bad.status_code == 422 and "period" in bad.json["error"]["fields"]


def test_the_page_speaks_chinese_with_amounts_in_yuan(app: Flask, record: dict) -> None:
    browser = app.test_client()
    sign_in(browser, "record_charity", PASSWORD)
    page = browser.get("/charity-record?period=2026H2")
    assert page.status_code == 200
    text = page.text
    assert "从化区记录测试慈善会" in text and "2026年下半年" in text
    assert "1,700.00" in text and "帮扶金额（元）" in text
    assert "名额已满" in text and "不符合条件" in text
    assert "27.0 小时" in text and "4.9 天" in text  # median; 90th percentile 117.6 hours
    assert "3.67（3 份回访）" in text
    visible = re.sub(r"<[^>]+>", " ", text.split("<main", 1)[-1])
    for code in ("no_capacity", "not_eligible", "delivered_fen", "2026H2", "received"):
        assert code not in visible
    assert "<script>" not in text  # the chart's figures travel in data attributes
    assert 'href="/charity-record"' in text  # in the charity's menu
    office = app.test_client()
    sign_in(office, "ca_conghua")
    listed = office.get("/organizations")
    assert f"/organizations/{record['organization']}/record" in listed.text
    theirs = office.get(f"/organizations/{record['organization']}/record?period=2026H2")
    assert theirs.status_code == 200 and "700.00" in theirs.text


def test_the_half_year_report_has_the_charities_sheet(
    db: Session, client: FlaskClient, record: dict
) -> None:
    records = region_charity_records(db, None, CONGHUA, "2026H2")
    assert records[0].name == "从化区记录测试慈善会"  # the busiest first
    report = client.get(f"/api/v1/stats/report.xlsx?region_code={CONGHUA}&period=2026H2",
                        headers=bearer(client, "ca_conghua"))  # fmt: skip
    assert report.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(report.data))["慈善组织帮扶记录"]
    assert "2026年下半年" in str(sheet["A1"].value)
    assert [c.value for c in sheet[2]][:3] == ["慈善组织", "接到转介", "接收"]
    row = [c.value for c in sheet[3]]
    assert row == ["从化区记录测试慈善会", 8, 4, 3, 1, 3, 4, 700.0, 1, 3, "50.0%", 30.0, 124.8,
                   2, 4.5, "名额已满 2；不符合条件 1"]  # fmt: skip
    english = {"名额已满": "No places left", "不符合条件": "Not eligible"}
    assert record_rows(records[:1], lambda text: english.get(text, text))[0][-1] == (
        "No places left 2；Not eligible 1"
    )


def test_reading_a_charity_record_is_audited_in_each_form(
    db: Session, client: FlaskClient, record: dict
) -> None:
    office = get_user(db, "ca_conghua")
    get_charity_record(db, office, record["organization"], "2026H2")
    region_charity_records(db, office, CONGHUA, "2026H2")
    api = client.get(f"/api/v1/organizations/{record['organization']}/record?period=2026H2",
                     headers=bearer(client, "record_charity", PASSWORD))  # fmt: skip
    assert api.status_code == 200

    entries = list(db.scalars(sa.select(AuditLog).where(AuditLog.action == "charity_record.read")))

    forms = sorted(e.detail["form"] for e in entries)
    assert forms == ["api", "page", "report"]
    page = next(e for e in entries if e.detail["form"] == "page")
    assert page.actor_id == office.id and page.region_code == CONGHUA
    assert page.object_id == str(record["organization"]) and page.detail["period"] == "2026H2"
    report = next(e for e in entries if e.detail["form"] == "report")
    assert record["organization"] in report.detail["organizations"]
    by_charity = next(e for e in entries if e.detail["form"] == "api")
    assert by_charity.actor_id == record["user"]
