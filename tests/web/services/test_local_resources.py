"""Local resources (本地资源): a township's own givers, registered by its stations, verified by
the county office, published in the township's edition, matched, and answered by the
responsible station."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import Household, Need, Notification, Project, Station, User
from models.enums import (
    LocalProviderKind,
    NeedStatus,
    ProjectStatus,
    ReferralStatus,
    Role,
    StationKind,
)
from models.regions import covering_ledger_codes, supply_ledger_codes
from tests.helpers import bearer, get_user, need_of
from web.services.errors import Forbidden, NotFound, ValidationFailed
from web.services.ledgers import build_edition, current_editions, refresh_ledgers
from web.services.local_resources import (
    LocalResourceInput,
    get_local_resource,
    register_local_resource,
)
from web.services.matching import clear_cache, match_need
from web.services.projects import ProjectInput, review_project
from web.services.referrals import episodes, views, workflow
from web.services.stations import create_station
from web.services.users import create_user

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
WENQUAN = "440117103000"  # 温泉镇, 从化区
NANPING = "440117103220"  # 南平村, 温泉镇
LIANMA = "440117107210"  # 莲麻村, 吕田镇 (station_b)


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    clear_cache()


def medical_grant(**changes: object) -> LocalResourceInput:
    project = ProjectInput(
        name="温泉镇爱心商户大病应急金",
        description="镇上爱心商户捐资，为重病患者家庭补助透析、住院自付费用。",
        domains=["medical"], target_groups=["serious_illness"], forms=["cash"],
        service_types=["medical_aid"], service_area=[WENQUAN], quota=5,
        amount_per_beneficiary_fen=300_000, budget_fen=1_500_000,
        starts_on=dt.date(2026, 7, 1), ends_on=dt.date(2027, 6, 30),
        contact_name="黄炳坤", contact_phone="13902261187",
    )  # fmt: skip
    for name, value in changes.items():
        setattr(project, name, value)
    return LocalResourceInput(project, "温泉镇爱心商户联合会", LocalProviderKind.MERCHANT)


def nanping_station(db: Session) -> User:
    """A village station of 温泉镇 (南平村) with one worker: another station of the township."""
    station = create_station(
        db, None, name="温泉镇南平村救助服务点", kind=StationKind.VILLAGE, region_code=NANPING,
        contact_name="何振东", phone="13711356024",
    )  # fmt: skip
    return create_user(
        db, None, username="station_nanping", password="Nanping-2026!", display_name="何振东",
        role=Role.STATION_STAFF, region_code=NANPING, station_id=station.id,
    )  # fmt: skip


def verified_and_published(db: Session, project: Project) -> None:
    office = get_user(db, "ca_conghua")
    review_project(db, office, project.id, approve=True, now=NOW)
    build_edition(db, office, WENQUAN, "2026H2", NOW)


def lianma_need(db: Session) -> Need:
    need = db.scalar(
        sa.select(Need)
        .join(Household)
        .where(Household.region_code == LIANMA, Need.status == NeedStatus.OPEN)
        .order_by(Need.id)
    )
    assert need is not None
    return need


def test_the_township_edition_sits_under_the_three_levels_and_has_no_office() -> None:
    assert supply_ledger_codes("440117103217") == [
        "440000000000", "440100000000", "440117000000", WENQUAN,
    ]  # fmt: skip
    assert supply_ledger_codes("440117000000") == covering_ledger_codes("440117000000")
    assert WENQUAN not in covering_ledger_codes("440117103217")  # offices: three levels only


def test_a_local_resource_of_wenquan_is_matched_there_and_not_in_lvtian(db: Session) -> None:
    station = get_user(db, "station_a")
    resource = register_local_resource(db, station, medical_grant())
    assert resource.status == ProjectStatus.SUBMITTED
    provider = resource.organization
    assert provider.is_local and provider.uscc is None and not provider.is_certified_charity
    assert provider.registered_region_code == WENQUAN
    assert provider.responsible_station_id == station.station_id
    verified_and_published(db, resource)

    dialysis = need_of(db, "钟伟明", "medical")  # 温泉镇新田村
    items = match_need(db, station, dialysis.id, today=TODAY, limit=20).ranking.items
    found = [m for m in items if m.project.id == resource.id]
    assert found, [m.project.name for m in items]
    assert found[0].reasons[0] == "本地资源"
    assert found[0].project.ledger_level == "township"
    assert found[0].project.responsible_station == "温泉镇综合救助服务站"
    assert found[0].project.organization_name == "温泉镇爱心商户联合会"

    far = lianma_need(db)
    ranking = match_need(
        db, get_user(db, "station_b"), far.id, today=TODAY, limit=50, explain=True
    ).ranking
    assert resource.id not in {m.project.id for m in ranking.items}
    excluded = {e.project.id: e.reason for e in ranking.excluded}
    assert excluded[resource.id] == "其他乡镇的本地资源"


def test_a_second_resource_reuses_the_provider_and_the_area_stays_in_the_township(
    db: Session,
) -> None:
    station = get_user(db, "station_a")
    first = register_local_resource(db, station, medical_grant())
    second = register_local_resource(db, station, medical_grant(name="温泉镇爱心商户年货包"))
    assert second.organization_id == first.organization_id
    with pytest.raises(ValidationFailed) as refused:
        register_local_resource(db, station, medical_grant(service_area=[LIANMA], contact_phone=""))
    assert set(refused.value.fields) == {"service_area", "contact_phone"}
    with pytest.raises(Forbidden):
        register_local_resource(db, get_user(db, "charity_f"), medical_grant())


def test_only_the_county_office_reviews_it_and_only_it_publishes_the_township(
    db: Session,
) -> None:
    resource = register_local_resource(db, get_user(db, "station_a"), medical_grant())
    with pytest.raises(Forbidden):
        review_project(db, get_user(db, "ca_ruyuan"), resource.id, approve=True, now=NOW)
    with pytest.raises(Forbidden):
        build_edition(db, get_user(db, "ca_ruyuan"), WENQUAN, "2026H2", NOW)
    verified_and_published(db, resource)
    editions = current_editions(db, "440117103217", TODAY)
    assert [e.region_code for e in editions][-1] == WENQUAN
    entry = editions[-1].entries[0]
    # Ledgers are read by all: the responsible person's phone stays out of them.
    assert entry.snapshot["contact_phone"] is None
    assert entry.snapshot["responsible_station_name"] == "温泉镇综合救助服务站"


def test_the_half_year_refresh_publishes_townships_with_local_providers(db: Session) -> None:
    resource = register_local_resource(db, get_user(db, "station_a"), medical_grant())
    review_project(db, get_user(db, "ca_conghua"), resource.id, approve=True, now=NOW)
    refresh_ledgers(db, "2027H1", NOW)
    upcoming = [e for e in current_editions(db, NANPING, dt.date(2027, 1, 2))]
    township = [e for e in upcoming if e.region_code == WENQUAN]
    assert township and resource.id in {e.project_id for e in township[0].entries}


def test_station_registers_county_verifies_and_the_responsible_station_delivers(
    db: Session,
) -> None:
    """From registration to completion; the household is of another station, so the
    responsible station sees it as a charity would."""
    village = nanping_station(db)
    resource = register_local_resource(db, village, medical_grant())
    verified_and_published(db, resource)

    station = get_user(db, "station_a")
    office = get_user(db, "ca_conghua")
    dialysis = need_of(db, "钟伟明", "medical")
    items = match_need(db, station, dialysis.id, today=TODAY, limit=20).ranking.items
    assert "本地资源" in next(m.reasons for m in items if m.project.id == resource.id)
    referral = workflow.start_referral(db, station, dialysis.id, resource.id)
    assert village.station_id is not None
    with pytest.raises(NotFound):  # not the village station's until approved
        views.get_referral(db, village, referral.id)
    workflow.submit_referral(db, station, referral.id)
    workflow.approve_referral(db, office, referral.id, now=NOW)
    told = db.scalars(
        sa.select(Notification.message).where(
            Notification.user_id == village.id, Notification.referral_id == referral.id
        )
    ).all()
    assert told and "本地资源" in told[0]

    inbox = views.list_referrals(
        db, village, views.ReferralFilter(status=views.BOXES["inbox"])
    )  # fmt: skip
    assert [r.id for r in inbox] == [referral.id]
    line = views.referral_summaries(db, village, inbox)[0]
    assert "head_name" not in line and "household_id" not in line
    before = views.referral_view(db, village, referral, TODAY)
    assert before["need"]["text"] is None and "head_name" not in before["household"]
    assert not before["contact_available"]
    assert workflow.steps_open_to(village, referral) == ("accept", "decline")
    assert workflow.steps_open_to(station, referral) == ("cancel",)
    with pytest.raises(Forbidden):
        workflow.accept_referral(db, station, referral.id)  # the household's station
    with pytest.raises(Forbidden):
        workflow.cancel_referral(db, village, referral.id, "不办了")  # not its household

    workflow.accept_referral(db, village, referral.id, now=NOW)
    after = views.referral_view(db, village, referral, TODAY)
    assert after["need"]["text"] == dialysis.text and after["contact_available"]
    assert "head_name" not in after["household"]  # what an accepting charity sees
    assert views.referral_contact(db, village, referral.id)["head_name"] == "钟伟明"
    workflow.start_service(db, village, referral.id, now=NOW)
    episodes.add_episode(
        db, village, referral.id,
        episodes.EpisodeInput(on=TODAY, kind=episodes.ServiceType.MEDICAL_AID, value_fen=300_000),
        today=TODAY,
    )  # fmt: skip
    done = workflow.complete_referral(
        db, village, referral.id, delivered_amount_fen=300_000, now=NOW
    )
    assert done.status == ReferralStatus.COMPLETED and done.delivered_amount_fen == 300_000
    assert resource.quota_used == 1


def test_other_townships_and_charities_cannot_read_or_edit_it(
    client: FlaskClient, db: Session
) -> None:
    resource = register_local_resource(db, get_user(db, "station_a"), medical_grant())
    nanping_station(db)
    db.flush()
    path = f"/api/v1/local-resources/{resource.id}"
    same_township = bearer(client, "station_nanping", "Nanping-2026!")
    seen = client.get(path, headers=same_township)
    assert seen.status_code == 200 and seen.json["contact_phone"] == "13902261187"
    for username in ("station_b", "station_c", "charity_f"):
        headers = bearer(client, username)
        assert client.get(path, headers=headers).status_code == 404, username
        changed = client.patch(path, json={"quota": 50}, headers=headers)
        assert changed.status_code in (403, 404), username
        listed = client.get("/api/v1/local-resources", headers=headers).json
        assert resource.id not in {r["id"] for r in listed}, username
        assert client.get(f"/api/v1/projects/{resource.id}", headers=headers).status_code == 404
    with pytest.raises(NotFound):
        get_local_resource(db, get_user(db, "ca_ruyuan"), resource.id)


def test_the_api_registers_and_names_the_fields_in_error(client: FlaskClient, db: Session) -> None:
    headers = bearer(client, "station_a")
    body = {
        "provider_name": "温泉镇青年志愿服务队", "provider_kind": "volunteer_team",
        "contact_name": "陈晓林", "contact_phone": "13826540019",
        "name": "独居老人周末探访", "domains": ["elderly"], "forms": ["service"],
        "service_types": ["visiting_care"], "service_area": [NANPING], "quota": 20,
        "starts_on": "2026-07-01", "ends_on": "2027-06-30",
    }  # fmt: skip
    created = client.post("/api/v1/local-resources", json=body, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["status"] == "submitted"
    assert created.json["provider_kind_label"] == "志愿服务队"
    assert created.json["organization_name"] == "温泉镇青年志愿服务队"

    wrong = {**body, "service_area": [LIANMA], "quota": -1}
    del wrong["provider_name"]
    refused = client.post("/api/v1/local-resources", json=wrong, headers=headers)
    assert refused.status_code == 422
    assert {"provider_name", "quota"} <= set(refused.json["error"]["fields"])
    outside = client.post(
        "/api/v1/local-resources", json={**body, "service_area": [LIANMA]}, headers=headers
    )
    assert outside.status_code == 422 and "service_area" in outside.json["error"]["fields"]

    path = f"/api/v1/local-resources/{created.json['id']}"
    patched = client.patch(path, json={"quota": 25, "provider_kind": "other"}, headers=headers)
    assert patched.status_code == 200 and patched.json["quota"] == 25
    assert patched.json["provider_kind"] == "other"
    bad = client.patch(path, json={"ends_on": "2026-01-01"}, headers=headers)
    assert bad.status_code == 422 and "ends_on" in bad.json["error"]["fields"]
    charity = bearer(client, "charity_f")
    assert client.post("/api/v1/local-resources", json=body, headers=charity).status_code == 403


def test_the_page_form_keeps_what_was_typed_on_error(client: FlaskClient, db: Session) -> None:
    from tests.helpers import csrf_token, sign_in

    sign_in(client, "station_a")
    page = client.get("/local-resources/new")
    assert page.status_code == 200 and "提供方名称" in page.text
    token = csrf_token(client, "/local-resources/new")
    response = client.post(
        "/local-resources/new",
        data={
            "csrf_token": token, "name": "温泉镇乡贤敬老餐", "provider_name": "",
            "provider_kind": "individual", "contact_name": "刘汉文",
            "contact_phone": "13902263518", "domains": ["elderly"], "quota": "10",
            "service_area": "440117107210", "starts_on": "2026-07-01",
            "ends_on": "2027-06-30", "response_days": "7",
        },
    )  # fmt: skip
    assert response.status_code == 422
    assert 'value="温泉镇乡贤敬老餐"' in response.text and 'value="刘汉文"' in response.text
    assert "请填写提供方名称" in response.text
    listed = client.get("/local-resources")
    assert listed.status_code == 200 and "本地资源" in listed.text


def test_the_county_review_queue_and_ledger_page_show_local_resources(
    client: FlaskClient, db: Session
) -> None:
    from tests.helpers import csrf_token, sign_in

    resource = register_local_resource(db, get_user(db, "station_a"), medical_grant())
    db.flush()
    sign_in(client, "ca_conghua")
    queue = client.get("/review")
    assert resource.name in queue.text and 'data-testid="local-resource"' in queue.text
    review_project(db, get_user(db, "ca_conghua"), resource.id, approve=True, now=NOW)
    db.flush()
    ledgers = client.get("/ledgers")
    assert 'data-testid="township-build-form"' in ledgers.text and "温泉镇" in ledgers.text
    published = client.post(
        "/ledgers",
        data={"csrf_token": csrf_token(client, "/ledgers"), "region_code": WENQUAN,
              "period": "2026H2"},
    )  # fmt: skip
    assert published.status_code == 302, published.text
    station = db.scalar(sa.select(Station).where(Station.region_code == WENQUAN))
    assert station is not None


def test_the_match_page_names_the_provider_and_the_referral_page_hides_the_household(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    from tests.helpers import sign_in

    village = nanping_station(db)
    resource = register_local_resource(db, village, medical_grant())
    verified_and_published(db, resource)
    dialysis = need_of(db, "钟伟明", "medical")
    referral = workflow.start_referral(db, get_user(db, "station_a"), dialysis.id, resource.id)
    workflow.submit_referral(db, get_user(db, "station_a"), referral.id)
    workflow.approve_referral(db, get_user(db, "ca_conghua"), referral.id, now=NOW)
    db.flush()

    sign_in(client, "station_a")
    page = client.get(f"/needs/{dialysis.id}/matches").text
    assert "温泉镇爱心商户联合会" in page and "负责服务站：温泉镇南平村救助服务点" in page
    client = app.test_client()
    sign_in(client, "station_nanping", "Nanping-2026!")
    mine = client.get("/referrals").text
    assert resource.name in mine and "钟伟明" not in mine
    detail = client.get(f"/referrals/{referral.id}").text
    assert 'data-testid="step-accept"' in detail and "钟伟明" not in detail
    assert 'data-testid="local-resource"' in detail
