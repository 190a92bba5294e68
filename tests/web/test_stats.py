"""The dashboard's figures against counts made by hand on a small fixed data set.

In two of 荔湾区's (440103) 22 streets, one community each gets households: one station, three
households, seven needs, four projects (one serving another district) and four referrals in
known states; every other project is taken off offer, so only these count.
"""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import (
    Household,
    Member,
    Need,
    Organization,
    Project,
    ProjectArea,
    Referral,
    Station,
    clock,
    utcnow,
)
from models.enums import (
    DeclineReason,
    DisabilityType,
    Domain,
    IllnessKind,
    NeedStatus,
    OrganizationStatus,
    ProjectStatus,
    ReferralStatus,
    RegionLevel,
    Relation,
    SelfCare,
    StationKind,
)
from tests.helpers import bearer, get_user, sign_in
from web.services.stats import overview, stats_scope

COUNTY = "440103000000"
T1, T2 = "440103001000", "440103002000"
#: 沙面街道翠洲社区, 岭南街道扬仁东社区 (the first community of each street).
V1, V2 = "440103001101", "440103002101"
CST = dt.timezone(dt.timedelta(hours=8))


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=CST).astimezone(dt.UTC)


def years_ago(years: int) -> dt.date:
    today = clock.today()
    return today.replace(year=today.year - years, month=1, day=1)


@pytest.fixture
def liwan(db: Session) -> dict[str, int]:
    db.execute(sa.update(Project).values(status=ProjectStatus.EXPIRED))
    station = Station(name="沙面街道综合救助服务站", kind=StationKind.TOWNSHIP, region_code=T1)
    db.add(station)
    db.flush()

    def household(code: str, head: str, *members: Member) -> Household:
        h = Household(station_id=station.id, region_code=code, head_name=head,
                      consent_on=dt.date(2026, 3, 1), members=list(members))  # fmt: skip
        db.add(h)
        return h

    h1 = household(
        V1, "甲",
        Member(name="甲", relation=Relation.HEAD, birth_year=years_ago(40).year),
        Member(name="甲子", relation=Relation.CHILD, birth_year=years_ago(10).year),
    )  # fmt: skip
    h2 = household(V1, "乙", Member(
        name="乙", relation=Relation.HEAD, birth_year=years_ago(70).year,
        self_care=SelfCare.DEPENDENT,
        disability_type=DisabilityType.PHYSICAL))  # fmt: skip
    h3 = household(V2, "丙", Member(name="丙", relation=Relation.HEAD,
                                   birth_year=years_ago(45).year,
                                   illness_kind=IllnessKind.SERIOUS))  # fmt: skip
    db.flush()
    now = utcnow()

    def need(h: Household, domain: Domain, status: NeedStatus, days_old: int) -> Need:
        n = Need(household_id=h.id, domain=domain, text=f"{domain.label}需求", status=status,
                 created_at=now - dt.timedelta(days=days_old))  # fmt: skip
        db.add(n)
        return n

    n1 = need(h1, Domain.EDUCATION, NeedStatus.OPEN, 40)
    need(h1, Domain.CHILDREN, NeedStatus.OPEN, 20)
    need(h2, Domain.ELDERLY, NeedStatus.OPEN, 1)
    n4 = need(h3, Domain.MEDICAL, NeedStatus.FULFILLED, 90)
    n5 = need(h2, Domain.DISABILITY, NeedStatus.OPEN, 5)
    n6 = need(h3, Domain.HOUSING, NeedStatus.REFERRED, 60)
    n7 = need(h1, Domain.LIVING, NeedStatus.IN_SERVICE, 60)
    orgs = [
        Organization(name=name, uscc=f"53440103MJ0000{i}00X", registered_region_code=COUNTY,
                     registered_level=RegionLevel.COUNTY, status=OrganizationStatus.VERIFIED)
        for i, name in enumerate(("荔湾区慈善会", "沙面社工服务中心"))
    ]  # fmt: skip
    db.add_all(orgs)
    db.flush()

    def project(org: Organization, name: str, domains: list[str], quota: int, used: int,
                area: str) -> Project:  # fmt: skip
        p = Project(
            organization_id=org.id, name=name, domains=domains, quota=quota, quota_used=used,
            starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2030, 12, 31),
            status=ProjectStatus.VERIFIED, areas=[ProjectArea(region_code=area)],
        )  # fmt: skip
        db.add(p)
        return p

    p1 = project(orgs[0], "助学金", ["education"], 10, 4, COUNTY)
    p2 = project(orgs[1], "大病救助", ["medical", "emergency"], 5, 5, T2)
    p3 = project(orgs[0], "长者照护", ["elderly"], 3, 1, V1)
    project(orgs[1], "儿童陪伴（越秀）", ["children"], 8, 0, "440104000000")
    db.flush()

    def referral(n: Need, p: Project, status: ReferralStatus, submitted: str, approved: str,
                 answered: str | None = None, started: str | None = None,
                 completed: str | None = None, **extra: object) -> Referral:  # fmt: skip
        r = Referral(
            need_id=n.id, project_id=p.id, status=status, submitted_at=at(submitted),
            approved_at=at(approved), answered_at=at(answered) if answered else None,
            started_at=at(started) if started else None,
            completed_at=at(completed) if completed else None, **extra,
        )  # fmt: skip
        db.add(r)
        return r

    referral(n4, p2, ReferralStatus.COMPLETED, "2026-08-01", "2026-08-03", "2026-08-04",
             "2026-08-05", "2026-10-15", delivered_amount_fen=300_000)  # fmt: skip
    referral(n5, p1, ReferralStatus.DECLINED, "2026-05-10", "2026-05-14", "2026-05-15",
             decline_reason=DeclineReason.NOT_ELIGIBLE)  # fmt: skip
    referral(n6, p1, ReferralStatus.APPROVED, "2026-09-01", "2026-09-02")
    referral(n7, p3, ReferralStatus.IN_SERVICE, "2026-09-10", "2026-09-13", "2026-09-14",
             "2026-09-20")  # fmt: skip
    db.commit()
    return {"n1": n1.id}


def figures(db: Session, username: str = "ca_guangzhou", period: str | None = None,
            region: str = COUNTY) -> dict:  # fmt: skip
    scope = stats_scope(db, get_user(db, username), region, clock.today(), period)
    return overview(db, scope)


def test_open_needs_against_places_by_domain(liwan: dict, db: Session) -> None:
    rows = {r["domain"]: (r["open_needs"], r["places"], r["gap"])
            for r in figures(db)["needs_and_places"]}  # fmt: skip
    assert rows["education"] == (1, 6, 0)
    assert rows["children"] == (1, 0, 1)  # the children's project serves another district
    assert rows["elderly"] == (1, 2, 0)
    assert rows["disability"] == (1, 0, 1)
    assert rows["medical"] == rows["emergency"] == (0, 0, 0)  # that project is full
    assert sum(r[0] for r in rows.values()) == 4


def test_coverage_waiting_and_durations(liwan: dict, db: Session) -> None:
    f = figures(db)
    assert f["coverage"] == {"open_needs": 4, "with_project": 2, "share": 0.5}
    assert f["waiting"] == {"open": 4, "over_15_days": 2, "over_30_days": 1}
    assert f["durations"] == {"submission_to_approval_days": 2.5,
                              "approval_to_acceptance_days": 1.0}  # fmt: skip


def test_the_funnel_and_the_charities_answers(liwan: dict, db: Session) -> None:
    f = figures(db)
    assert [(s["step"], s["count"]) for s in f["funnel"]["steps"]] == [
        ("submitted", 4), ("approved", 4), ("accepted", 2), ("in_service", 2), ("completed", 1),
    ]  # fmt: skip
    by_status = {s["status"]: s["count"] for s in f["funnel"]["by_status"] if s["count"]}
    assert by_status == {"completed": 1, "declined": 1, "approved": 1, "in_service": 1}
    assert [(c["name"], c["accepted"], c["declined"], c["expired"], c["acceptance_rate"])
            for c in f["charities"]] == [
        ("荔湾区慈善会", 1, 1, 0, 0.5), ("沙面社工服务中心", 1, 0, 0, 1.0),
    ]  # fmt: skip


def test_amounts_groups_reached_and_the_townships_below(liwan: dict, db: Session) -> None:
    f = figures(db)
    assert f["delivered"] == [{"month": "2026-10", "domain": "medical", "label": "医疗/大病",
                               "amount_fen": 300_000, "referrals": 1}]  # fmt: skip
    assert {g["group"]: g["households"] for g in f["groups_reached"]} == {
        "disabled_elderly": 0, "minor": 1, "disabled": 0, "serious_illness": 1, "all": 2,
    }  # fmt: skip
    lines = [(c["name"], c["open_needs"], c["referrals"], c["completed"], c["delivered_fen"])
             for c in f["children"]]  # fmt: skip
    assert len(lines) == 22  # every street of 荔湾区, the quiet ones with zeros
    assert lines[:2] == [("沙面街道", 4, 2, 0, 0), ("岭南街道", 0, 2, 1, 300_000)]
    assert all(line[1:] == (0, 0, 0, 0) for line in lines[2:])
    township = figures(db, region=T2)
    assert township["children"][0]["name"] == "扬仁东社区居民委员会"
    assert township["waiting"]["open"] == 0 and township["funnel"]["steps"][0]["count"] == 2


def test_a_half_year_counts_only_its_own_flows(liwan: dict, db: Session) -> None:
    second = figures(db, period="2026H2")
    assert second["funnel"]["steps"][0]["count"] == 3  # the May referral is in 2026H1
    assert second["delivered"][0]["amount_fen"] == 300_000
    first = figures(db, period="2026H1")
    assert first["funnel"]["steps"][0]["count"] == 1 and first["delivered"] == []
    assert first["waiting"] == second["waiting"]  # what is open now does not depend on it


def test_a_county_user_cannot_see_another_countys_figures(
    liwan: dict, client: FlaskClient, db: Session
) -> None:
    own = bearer(client, "ca_conghua")
    refused = client.get(f"/api/v1/stats/overview?region_code={COUNTY}", headers=own)
    assert refused.status_code == 403
    assert client.get("/api/v1/stats/overview", headers=own).json["region"]["code"] == (
        "440117000000"
    )
    station = bearer(client, "station_a")
    assert client.get("/api/v1/stats/overview", headers=station).status_code == 403
    city = bearer(client, "ca_guangzhou")
    ok = client.get(f"/api/v1/stats/overview?region_code={COUNTY}", headers=city)
    assert ok.status_code == 200 and ok.json["coverage"]["share"] == 0.5
    assert client.get("/api/v1/stats/overview?region_code=449999999999",
                      headers=city).status_code == 404  # fmt: skip


def test_figures_download_as_spreadsheets(liwan: dict, client: FlaskClient, app: Flask) -> None:
    city = bearer(client, "ca_guangzhou")
    one = client.get(f"/api/v1/stats/figure.xlsx?figure=charities&region_code={COUNTY}",
                     headers=city)  # fmt: skip
    assert one.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(one.data)).active
    assert [c.value for c in sheet[3]] == ["荔湾区慈善会", 1, 1, 0, "50.0%"]
    report = client.get(f"/api/v1/stats/report.xlsx?region_code={COUNTY}&period=2026H2",
                        headers=city)  # fmt: skip
    book = openpyxl.load_workbook(io.BytesIO(report.data))
    assert {"转介漏斗", "沙面街道", "岭南街道"} <= set(book.sheetnames)
    assert "2026年下半年" in str(book["转介漏斗"]["A1"].value)  # the half-year in words
    assert "2026%E5%B9%B4%E4%B8%8B%E5%8D%8A%E5%B9%B4" in report.headers["Content-Disposition"]
    browser = app.test_client()
    sign_in(browser, "ca_guangzhou")
    dashboard = browser.get(f"/dashboard?region={COUNTY}")
    for name in ("needs_and_places", "funnel", "coverage", "waiting", "durations", "children"):
        assert f'data-testid="xlsx-{name}"' in dashboard.text  # every figure downloads
    page = browser.get(f"/reports/half-year?region={COUNTY}&period=2026H2")
    assert page.status_code == 200 and "岭南街道" in page.text
    assert "荔湾区 2026年下半年" in page.text
    assert "2026H2" not in page.text.replace("period=2026H2", "")  # only in links


def test_a_half_year_outside_the_calendar_is_refused_not_a_server_error(
    client: FlaskClient,
) -> None:
    city = bearer(client, "ca_guangzhou")
    for path in ("/api/v1/stats/overview", "/api/v1/stats/report.xlsx",
                 "/api/v1/stats/figure.xlsx?figure=funnel&"):  # fmt: skip
        sep = "" if path.endswith("&") else "?"
        refused = client.get(f"{path}{sep}period=0000H1", headers=city)
        assert refused.status_code == 422 and "period" in refused.json["error"]["fields"]
