"""The referral workflow through the API: the closed loop, every refusal, quota, disclosure."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from models import AuditLog, Need, Notification, Project, Referral, clock
from models.base import utcnow
from models.enums import NeedStatus, ReferralStatus
from tests.helpers import bearer, get_user, need_of, project_named
from web.services.crypto import cipher_of
from web.services.referrals.workflow import expire_unanswered, flag_overdue

SURGERY = "从化区慈善医疗救助"  # 荔乡慈善会 (charity_f), accepts the simplified procedure
HOUSING = "安居工程·困难老人住房修缮与适老化改造"  # also charity_f, normal procedure


class Parties:
    """Bearer headers of the people a referral passes through."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.station = bearer(client, "station_a")
        self.office = bearer(client, "ca_conghua")
        self.charity = bearer(client, "charity_f")

    def post(self, path: str, headers: dict[str, str], **body: object) -> TestResponse:
        return self.client.post(f"/api/v1{path}", json=body, headers=headers)

    def get(self, path: str, headers: dict[str, str]) -> TestResponse:
        return self.client.get(f"/api/v1{path}", headers=headers)

    def step(self, rid: int, action: str, headers: dict[str, str], **body: object) -> dict:
        version = self.get(f"/referrals/{rid}", headers).json["version"]
        response = self.post(f"/referrals/{rid}/{action}", headers, version=version, **body)
        assert response.status_code == 200, response.json
        return response.json


@pytest.fixture
def parties(client: FlaskClient) -> Parties:
    return Parties(client)


def draft(parties: Parties, need: Need, project: Project) -> int:
    response = parties.post(
        "/referrals", parties.station, need_id=need.id, project_id=project.id, score=0.81,
        model_version="weighted-v1",
    )  # fmt: skip
    assert response.status_code == 201, response.json
    return response.json["id"]


def approved(parties: Parties, need: Need, project: Project) -> int:
    """A referral drafted, submitted and approved: in the charity's inbox."""
    rid = draft(parties, need, project)
    parties.step(rid, "submit", parties.station)
    parties.step(rid, "approve", parties.office)
    return rid


def test_a_referral_goes_from_a_station_through_approval_to_completion(
    parties: Parties, db: Session
) -> None:
    need = need_of(db, "钟伟明", "medical")
    project = project_named(db, SURGERY)
    used_before = project.quota_used
    rid = draft(parties, need, project)

    submitted = parties.step(rid, "submit", parties.station)
    assert submitted["status"] == "submitted" and submitted["need"]["status"] == "referred"
    queue = parties.get("/referrals?box=queue", parties.office).json
    assert rid in [line["id"] for line in queue]

    approved = parties.step(rid, "approve", parties.office)
    assert approved["status"] == "approved" and approved["is_simplified"] is True
    assert approved["reserved_amount_fen"] == project.amount_per_beneficiary_fen  # gap is larger
    db.expire_all()
    assert project_named(db, SURGERY).quota_used == used_before + 1

    inbox = parties.get("/referrals?box=inbox", parties.charity).json
    assert [line["id"] for line in inbox] == [rid]
    assert inbox[0]["is_urgent"] and inbox[0]["is_simplified"]

    parties.step(rid, "accept", parties.charity)
    contact = parties.get(f"/referrals/{rid}/contact", parties.charity)
    assert contact.status_code == 200 and contact.json["head_name"] == "钟伟明"
    assert contact.json["phone"] and contact.json["station"]
    parties.step(rid, "start", parties.charity)
    for value, note in ((300_000, "住院押金"), (500_000, "手术费用")):
        logged = parties.post(
            f"/referrals/{rid}/episodes", parties.charity, on=clock.today().isoformat(),
            kind="medical_aid", quantity=1, unit="次", value_fen=value, note=note,
        )  # fmt: skip
        assert logged.status_code == 201, logged.json
    done = parties.step(rid, "complete", parties.charity)
    assert done["status"] == "completed" and done["delivered_amount_fen"] == 800_000
    assert done["delivered_service"] == "医疗费用资助 2 次"
    assert [e["to_status"] for e in done["events"]] == [
        "approved",
        "accepted",
        "in_service",
        "completed",
    ]  # fmt: skip  (the charity's timeline starts where it came in)

    station_view = parties.get(f"/referrals/{rid}", parties.station).json
    assert [e["to_status"] for e in station_view["events"]] == [
        "draft", "submitted", "approved", "accepted", "in_service", "completed",
    ]  # fmt: skip
    # ¥8,000 of the ¥40,000 gap: the need stays open for the rest.
    assert station_view["need"]["status"] == "partial"
    assert station_view["need"]["remaining_gap_fen"] == 3_200_000
    assert station_view["score"] == 0.81 and station_view["model_version"] == "weighted-v1"
    db.expire_all()
    assert db.get(Need, need.id).status == NeedStatus.PARTIAL
    audited = set(db.scalars(sa.select(AuditLog.action).where(AuditLog.object_id == str(rid))))
    assert {
        "referral.create", "referral.submitted", "referral.approved", "referral.accepted",
        "referral.contact_revealed", "referral.in_service", "referral.episode",
        "referral.completed",
    } <= audited  # fmt: skip
    told = db.scalars(
        sa.select(Notification.kind).where(
            Notification.referral_id == rid,
            Notification.user_id == get_user(db, "station_a").id,
        )
    ).all()
    assert {"approved", "accepted", "in_service", "completed"} <= set(told)


def test_illegal_steps_are_refused_with_a_message(parties: Parties, db: Session) -> None:
    rid = draft(parties, need_of(db, "钟伟明", "medical"), project_named(db, SURGERY))

    def attempt(action: str, headers: dict[str, str], **body: object) -> TestResponse:
        version = parties.get(f"/referrals/{rid}", parties.station).json["version"]
        return parties.post(f"/referrals/{rid}/{action}", headers, version=version, **body)

    refused = attempt("approve", parties.office)  # still a draft
    assert refused.status_code == 409 and "草稿" in refused.json["error"]["message"]
    assert attempt("complete", parties.station, delivered_amount_fen=1).status_code == 403
    parties.step(rid, "submit", parties.station)
    assert attempt("submit", parties.station).status_code == 409
    no_reason = attempt("return", parties.office)
    assert no_reason.status_code == 422 and "reason" in no_reason.json["error"]["fields"]
    parties.step(rid, "approve", parties.office)
    assert attempt("complete", parties.charity, delivered_amount_fen=1).status_code == 409
    assert attempt("decline", parties.charity).status_code == 422
    other = attempt("decline", parties.charity, reason="other")
    assert other.status_code == 422 and "note" in other.json["error"]["fields"]
    unknown = attempt("decline", parties.charity, reason="too_busy")
    assert unknown.status_code == 422 and "reason" in unknown.json["error"]["fields"]
    assert parties.get(f"/referrals/{rid}/contact", parties.charity).status_code == 403
    parties.step(rid, "accept", parties.charity)
    cancel = attempt("cancel", parties.station, reason="家属另有安排")
    assert cancel.status_code == 409 and "已接收" in cancel.json["error"]["message"]
    no_help = attempt("start", parties.charity)
    assert no_help.status_code == 200
    empty = attempt("complete", parties.charity)
    assert empty.status_code == 422 and "delivered_amount_fen" in empty.json["error"]["fields"]
    future = parties.post(
        f"/referrals/{rid}/episodes", parties.charity,
        on=(clock.today() + dt.timedelta(days=3)).isoformat(), kind="visiting_care",
    )  # fmt: skip
    assert future.status_code == 422 and "on" in future.json["error"]["fields"]


def test_a_stale_version_is_refused(parties: Parties, db: Session) -> None:
    rid = draft(parties, need_of(db, "钟伟明", "medical"), project_named(db, SURGERY))
    old = parties.get(f"/referrals/{rid}", parties.station).json["version"]
    parties.step(rid, "submit", parties.station)
    stale = parties.post(f"/referrals/{rid}/cancel", parties.station, version=old, reason="重复")
    assert stale.status_code == 409 and stale.json["error"]["code"] == "stale_version"
    missing = parties.post(f"/referrals/{rid}/cancel", parties.station, reason="重复")
    assert missing.status_code == 422 and "version" in missing.json["error"]["fields"]


def test_roles_and_scopes_are_refused(parties: Parties, client: FlaskClient, db: Session) -> None:
    rid = draft(parties, need_of(db, "钟伟明", "medical"), project_named(db, SURGERY))
    version = parties.get(f"/referrals/{rid}", parties.station).json["version"]
    other_station = bearer(client, "station_c")
    other_county = bearer(client, "ca_ruyuan")
    other_charity = bearer(client, "charity_h")
    admin = bearer(client, "admin")

    # Before approval the charity cannot see the referral at all.
    assert parties.get(f"/referrals/{rid}", parties.charity).status_code == 404
    assert parties.get(f"/referrals/{rid}", other_station).status_code == 404
    assert parties.get(f"/referrals/{rid}", other_county).status_code == 404
    submit_by = parties.post(f"/referrals/{rid}/submit", other_station, version=version)
    assert submit_by.status_code == 404
    assert (
        parties.post(f"/referrals/{rid}/submit", parties.charity, version=version).status_code
        == 403
    )
    assert parties.post(f"/referrals/{rid}/submit", admin, version=version).status_code == 403
    parties.step(rid, "submit", parties.station)
    version += 1
    assert (
        parties.post(f"/referrals/{rid}/approve", parties.station, version=version).status_code
        == 403
    )
    assert (
        parties.post(f"/referrals/{rid}/approve", other_county, version=version).status_code == 404
    )
    parties.step(rid, "approve", parties.office)
    version += 1
    assert (
        parties.post(f"/referrals/{rid}/accept", other_charity, version=version).status_code == 404
    )
    assert parties.get(f"/referrals/{rid}", other_charity).status_code == 404
    assert (
        parties.post(f"/referrals/{rid}/accept", parties.office, version=version).status_code == 403
    )
    assert parties.get(f"/referrals/{rid}/contact", other_charity).status_code == 404
    assert parties.get("/referrals?box=inbox", other_charity).json == []
    assert parties.get("/referrals", other_station).json == []
    # A station cannot start a referral for another station's need.
    theirs = need_of(db, "赵金福", "medical")
    started = parties.post("/referrals", parties.station, need_id=theirs.id, project_id=1)
    assert started.status_code == 404


def test_an_unaccepted_referral_shows_a_charity_no_name_id_or_phone(
    parties: Parties, db: Session
) -> None:
    need = need_of(db, "钟伟明", "medical")
    household = need.household
    cipher = cipher_of(db)
    phone = cipher.decrypt(household.phone_encrypted)
    ids = [
        cipher.decrypt(m.id_number_encrypted) for m in household.members if m.id_number_encrypted
    ]
    names = [household.head_name, *(m.name for m in household.members)]
    # A worker wrote the name and phone into the need's text; the charity must not get them.
    need.text = f"{household.head_name}（电话 {phone}）{need.text}"
    db.commit()
    rid = approved(parties, need, project_named(db, SURGERY))

    seen = [
        parties.get(f"/referrals/{rid}", parties.charity),
        parties.get("/referrals?box=inbox", parties.charity),
        parties.get("/notifications", parties.charity),
    ]
    for response in seen:
        assert response.status_code == 200
        text = json.dumps(response.json, ensure_ascii=False)
        for secret in [*names, phone, *ids]:
            assert secret not in text, secret
    detail = seen[0].json
    assert detail["household"]["place"].endswith("温泉镇")
    assert detail["household"]["priority_groups"] and detail["need"]["amount_gap_fen"]
    assert "head_name" not in detail["household"] and "id" not in detail["household"]
    # The station sees the household by name.
    assert parties.get(f"/referrals/{rid}", parties.station).json["household"]["head_name"]


def test_approvals_take_places_until_none_is_left_and_declines_give_them_back(
    parties: Parties, db: Session
) -> None:
    project = project_named(db, HOUSING)
    project.quota_used = project.quota - 1
    db.commit()
    first = draft(parties, need_of(db, "钟伟明", "medical"), project)
    second = draft(parties, need_of(db, "钟伟明", "education"), project)
    for rid in (first, second):
        parties.step(rid, "submit", parties.station)
    parties.step(first, "approve", parties.office)
    version = parties.get(f"/referrals/{second}", parties.office).json["version"]
    full = parties.post(f"/referrals/{second}/approve", parties.office, version=version)
    assert full.status_code == 409 and full.json["error"]["code"] == "quota_exhausted"
    assert parties.get(f"/referrals/{second}", parties.office).json["status"] == "submitted"

    declined = parties.step(first, "decline", parties.charity, reason="no_capacity")
    assert declined["decline_reason"] == "no_capacity" and declined["need"]["status"] == "open"
    db.expire_all()
    assert project_named(db, HOUSING).quota_used == project.quota - 1
    assert project_named(db, HOUSING).reserved_fen == 0
    assert parties.step(second, "approve", parties.office)["status"] == "approved"


def test_cancelling_an_approved_referral_releases_its_place_and_tells_the_charity(
    parties: Parties, db: Session
) -> None:
    project = project_named(db, SURGERY)
    used = project.quota_used
    rid = approved(parties, need_of(db, "钟伟明", "medical"), project)
    cancelled = parties.step(rid, "cancel", parties.station, reason="家属已自行筹到费用")
    assert cancelled["status"] == "cancelled" and cancelled["need"]["status"] == "open"
    db.expire_all()
    assert project_named(db, SURGERY).quota_used == used
    unread = parties.get("/notifications?unread_only=true", parties.charity).json
    cancelled_notes = [n["message"] for n in unread["items"] if n["kind"] == "cancelled"]
    assert cancelled_notes and unread["unread"] >= 1
    assert not any("家属已自行筹到费用" in m for m in cancelled_notes)  # the station's words
    marked = parties.post("/notifications/read", parties.charity)
    assert marked.json["marked"] == unread["unread"]
    assert parties.get("/notifications", parties.charity).json["unread"] == 0


def test_a_second_charity_for_a_need_already_helped_is_warned_about(
    parties: Parties, db: Session
) -> None:
    need = need_of(db, "钟伟明", "medical")
    approved(parties, need, project_named(db, SURGERY))
    second = draft(parties, need, project_named(db, "粤善同行·重特大疾病医疗救助"))
    version = parties.get(f"/referrals/{second}", parties.station).json["version"]
    warned = parties.post(f"/referrals/{second}/submit", parties.station, version=version)
    assert warned.status_code == 409 and warned.json["error"]["code"] == "already_helped"
    assert "荔乡慈善会" in warned.json["error"]["message"]
    confirmed = parties.post(
        f"/referrals/{second}/submit", parties.station, version=version, acknowledge_duplicate=True
    )
    assert confirmed.status_code == 200 and confirmed.json["status"] == "submitted"


def test_a_referral_left_unanswered_is_flagged_then_expires_and_goes_back(
    parties: Parties, db: Session
) -> None:
    project = project_named(db, SURGERY)
    used = project.quota_used
    rid = approved(parties, need_of(db, "钟伟明", "medical"), project)
    now = utcnow()
    assert flag_overdue(db, now + dt.timedelta(days=2), days=3) == 0
    assert flag_overdue(db, now + dt.timedelta(days=4), days=3) == 1
    assert flag_overdue(db, now + dt.timedelta(days=5), days=3) == 0  # once only
    assert expire_unanswered(db, now + dt.timedelta(days=project.response_days - 1)) == 0
    assert expire_unanswered(db, now + dt.timedelta(days=project.response_days + 1)) == 1
    db.commit()
    referral = db.get(Referral, rid)
    assert referral.status == ReferralStatus.EXPIRED
    assert db.get(Need, referral.need_id).status == NeedStatus.OPEN
    assert project_named(db, SURGERY).quota_used == used
    office = get_user(db, "ca_conghua").id
    kinds = set(db.scalars(sa.select(Notification.kind).where(
        Notification.referral_id == rid, Notification.user_id == office)))  # fmt: skip
    assert {"overdue", "expired"} <= kinds
    # The station chooses again: a new referral to the same project is allowed.
    assert draft(parties, referral.need, project)


def test_batch_approval_approves_each_it_can(parties: Parties, db: Session) -> None:
    project = project_named(db, SURGERY)
    good = draft(parties, need_of(db, "钟伟明", "medical"), project)
    stale = draft(
        parties, need_of(db, "冯建华", "emergency"), project_named(db, "从化区急难救助“一事一议”")
    )
    for rid in (good, stale):
        parties.step(rid, "submit", parties.station)
    body = {"items": [{"id": good, "version": 2}, {"id": stale, "version": 1}]}
    response = parties.client.post(
        "/api/v1/referrals/batch-approve", json=body, headers=parties.office
    )
    assert response.status_code == 200
    outcomes = {o["id"]: o for o in response.json}
    assert outcomes[good]["ok"] and outcomes[good]["status"] == "approved"
    assert not outcomes[stale]["ok"] and outcomes[stale]["code"] == "stale_version"
    assert parties.get(f"/referrals/{stale}", parties.office).json["status"] == "submitted"
    refused = parties.client.post(
        "/api/v1/referrals/batch-approve", json=body, headers=parties.station
    )
    assert refused.status_code == 403


def test_a_charity_refers_a_household_back_to_the_office(
    parties: Parties, client: FlaskClient, db: Session
) -> None:
    rid = approved(parties, need_of(db, "钟伟明", "medical"), project_named(db, SURGERY))
    parties.step(rid, "accept", parties.charity)
    back = parties.post(
        f"/referrals/{rid}/back-referral", parties.charity, aid_types=["temporary_assistance"],
        note="住院期间家中无收入，建议核查临时救助。",
    )  # fmt: skip
    assert back.status_code == 201, back.json
    queue = parties.get("/back-referrals", parties.office).json
    assert [b["id"] for b in queue] == [back.json["id"]]
    assert parties.get("/back-referrals", bearer(client, "ca_ruyuan")).json == []
    handled = parties.post(
        f"/back-referrals/{back.json['id']}/handle", parties.office, note="已受理临时救助申请"
    )
    assert handled.status_code == 200 and handled.json["status"] == "handled"
    assert parties.get("/back-referrals", parties.office).json == []
    again = parties.post(f"/back-referrals/{back.json['id']}/handle", parties.office, note="再次")
    assert again.status_code == 409


def test_a_charity_reads_the_need_itself_only_while_it_serves_the_household(
    parties: Parties, db: Session
) -> None:
    need = need_of(db, "钟伟明", "medical")
    rid = approved(parties, need, project_named(db, SURGERY))
    assert parties.get(f"/needs/{need.id}", parties.charity).status_code == 404
    parties.step(rid, "accept", parties.charity)
    assert parties.get(f"/needs/{need.id}", parties.charity).status_code == 200
    other = approved(parties, need_of(db, "钟伟明", "education"), project_named(db, HOUSING))
    parties.step(other, "decline", parties.charity, reason="no_capacity")
    declined_need = parties.get(f"/referrals/{other}", parties.station).json["need"]["id"]
    assert parties.get(f"/needs/{declined_need}", parties.charity).status_code == 404


def test_the_station_and_office_words_do_not_reach_the_charity(
    parties: Parties, db: Session
) -> None:
    rid = draft(parties, need_of(db, "钟伟明", "medical"), project_named(db, SURGERY))
    parties.step(rid, "submit", parties.station)
    parties.step(rid, "return", parties.office, reason="请补充钟伟明的住院证明")
    parties.step(rid, "submit", parties.station)
    parties.step(rid, "approve", parties.office)
    seen = parties.get(f"/referrals/{rid}", parties.charity).json
    assert seen["status_reason"] is None
    assert "住院证明" not in json.dumps(seen, ensure_ascii=False)


def test_a_charity_may_refer_back_only_a_household_it_took_on_and_sees_no_village(
    parties: Parties, client: FlaskClient, db: Session
) -> None:
    rid = approved(parties, need_of(db, "钟伟明", "medical"), project_named(db, SURGERY))
    early = parties.post(
        f"/referrals/{rid}/back-referral", parties.charity, aid_types=["dibao_allowance"],
        note="疑似符合低保",
    )  # fmt: skip
    assert early.status_code == 409
    parties.step(rid, "accept", parties.charity)
    back = parties.post(
        f"/referrals/{rid}/back-referral", parties.charity, aid_types=["dibao_allowance"],
        note="疑似符合低保",
    )  # fmt: skip
    assert back.status_code == 201
    assert "household_id" not in back.json and "region_code" not in back.json
    parties.post(f"/back-referrals/{back.json['id']}/handle", parties.office,
                 note="已联系钟伟明办理低保申请")  # fmt: skip
    (line,) = parties.get("/back-referrals?status=handled", parties.charity).json
    assert "钟伟明" not in line["handled_note"] and "办理低保申请" in line["handled_note"]
    office_line = parties.get("/back-referrals?status=handled", parties.office).json[0]
    assert office_line["household_id"] and office_line["region_code"]


def test_a_village_filter_tells_a_charity_nothing_more_than_the_township(
    parties: Parties, db: Session
) -> None:
    need = need_of(db, "钟伟明", "medical")
    rid = approved(parties, need, project_named(db, SURGERY))
    village = need.household.region_code
    other_village = village[:9] + ("999" if village[9:] != "999" else "998")
    lines = [
        [line["id"] for line in parties.get(f"/referrals?region_code={code}", parties.charity).json]
        for code in (village, other_village)
    ]
    assert lines[0] == lines[1] == [rid]


def test_a_settled_need_takes_no_approval_and_stays_settled(parties: Parties, db: Session) -> None:
    need = need_of(db, "钟伟明", "medical")
    rid = draft(parties, need, project_named(db, SURGERY))
    parties.step(rid, "submit", parties.station)
    moved = parties.post(f"/needs/{need.id}/status", parties.station, status="fulfilled")
    assert moved.status_code == 200, moved.json
    version = parties.get(f"/referrals/{rid}", parties.office).json["version"]
    refused = parties.post(f"/referrals/{rid}/approve", parties.office, version=version)
    assert refused.status_code == 409 and "已满足" in refused.json["error"]["message"]
    parties.step(rid, "cancel", parties.station, reason="需求已满足")
    assert parties.get(f"/needs/{need.id}", parties.station).json["status"] == "fulfilled"


def test_withdrawing_consent_ends_the_referrals_and_frees_their_places(
    parties: Parties, client: FlaskClient, db: Session
) -> None:
    need = need_of(db, "钟伟明", "medical")
    project = project_named(db, SURGERY)
    used = project.quota_used
    rid = approved(parties, need, project)
    parties.step(rid, "accept", parties.charity)
    waiting = draft(parties, need_of(db, "钟伟明", "education"), project_named(db, HOUSING))
    parties.step(waiting, "submit", parties.station)
    withdrawn = client.delete(f"/api/v1/households/{need.household_id}/consent",
                              headers=parties.station)  # fmt: skip
    assert withdrawn.status_code == 200, withdrawn.json
    for ended in (rid, waiting):
        assert parties.get(f"/referrals/{ended}", parties.station).json["status"] == "cancelled"
    db.expire_all()
    assert project_named(db, SURGERY).quota_used == used
    told = db.scalars(sa.select(Notification.message).where(
        Notification.referral_id == rid, Notification.kind == "cancelled",
        Notification.user_id == get_user(db, "charity_f").id))  # fmt: skip
    assert any("撤回授权" in m for m in told)


def test_spending_beyond_the_reserved_amount_is_charged_to_the_project(
    parties: Parties, db: Session
) -> None:
    project = project_named(db, SURGERY)
    before = project.reserved_fen
    rid = approved(parties, need_of(db, "钟伟明", "medical"), project)
    parties.step(rid, "accept", parties.charity)
    parties.step(rid, "start", parties.charity)
    parties.step(rid, "complete", parties.charity, delivered_amount_fen=2_400_000)
    db.expire_all()
    assert project_named(db, SURGERY).reserved_fen == before + 2_400_000


@pytest.mark.parametrize(
    "written",
    ["137-1924-8651", "137 1924 8651", "１３７１９２４８６５１", "4401 1719 8503 1200 12"],
)
def test_numbers_are_blanked_however_they_are_written(written: str) -> None:
    from web.services.public_text import blank

    assert not any(ch.isdigit() for ch in blank(f"联系电话{written}，谢谢", []))


def test_ids_too_large_for_the_database_are_not_found_not_a_server_error(
    parties: Parties,
) -> None:
    huge = 2**70
    assert parties.get(f"/referrals/{huge}", parties.station).status_code == 404
    assert parties.post(f"/referrals/{huge}/approve", parties.office, version=1).status_code == 404
    created = parties.post("/referrals", parties.station, need_id=huge, project_id=1)
    assert created.status_code == 422 and "need_id" in created.json["error"]["fields"]
    batch = parties.post("/referrals/batch-approve", parties.office,
                         items=[{"id": huge, "version": 1}])  # fmt: skip
    assert batch.status_code == 422
    assert parties.post("/notifications/read", parties.station, ids=[huge]).status_code == 422


def test_a_project_that_ran_out_of_places_takes_offers_again_when_one_comes_back(
    parties: Parties, client: FlaskClient, db: Session
) -> None:
    from web.services.projects import expire_projects

    project = project_named(db, SURGERY)
    project.quota_used = project.quota - 1
    db.commit()
    need = need_of(db, "钟伟明", "medical")
    rid = approved(parties, need, project)
    parties.step(rid, "accept", parties.charity)
    assert project in expire_projects(db, clock.today())  # every place taken and accepted
    db.commit()
    client.delete(f"/api/v1/households/{need.household_id}/consent", headers=parties.station)
    db.expire_all()
    assert project_named(db, SURGERY).status.value == "verified"
