"""归档: a closed case kept longer than the retention period is archived by the daily job,
read-only from then on and never deleted; an open or recent one is left alone.
"""

from __future__ import annotations

import datetime as dt
import io
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from jobs.runs import run_slot
from models import (
    Attachment,
    AuditLog,
    FollowUp,
    Need,
    NeedEvent,
    Referral,
    ReferralEvent,
    ServiceEpisode,
    clock,
    utcnow,
)
from models.enums import AttachmentKind, GovAidType, NeedStatus, ReferralStatus, ServiceType
from tests.helpers import bearer, need_of, sign_in
from tests.web.services.referrals.steps import Parties, Walk, refused
from web.services.archives import CASE_RETENTION_DAYS, archive_closed_cases
from web.services.errors import Archived
from web.services.needs import actions_for, set_need_status
from web.services.referrals import attachments, back_referrals, episodes, followups, workflow
from web.services.referrals.followups import FollowUpInput
from web.services.storage import LocalDiskStorage

S = ReferralStatus
ALL_WELL = FollowUpInput(received=True, as_recorded=True, satisfaction=5, need_met=True)
NOTHING_ARRIVED = FollowUpInput(received=False, as_recorded=False, satisfaction=1, need_met=False)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def later(days: int) -> dt.datetime:
    """``days`` from now: when the job runs in these tests."""
    return utcnow() + dt.timedelta(days=days)


#: Past the default retention period, and well within it.
PAST_RETENTION = CASE_RETENTION_DAYS + 1
WITHIN_RETENTION = CASE_RETENTION_DAYS - 30


@pytest.fixture
def closed_case(db: Session, parties: Parties, referral_in: Walk) -> Referral:
    """A completed referral whose follow-up said all arrived: closed, nothing left to do."""
    referral = referral_in(S.COMPLETED)
    followups.record_follow_up(db, parties.station, referral.id, ALL_WELL)
    return referral


def counts(db: Session) -> dict[str, int]:
    tables = (Referral, ReferralEvent, ServiceEpisode, FollowUp, Attachment, Need, NeedEvent)
    return {t.__name__: db.scalar(sa.select(sa.func.count()).select_from(t)) or 0 for t in tables}


def test_a_closed_case_older_than_the_retention_period_is_archived(
    db: Session, closed_case: Referral
) -> None:
    now = later(PAST_RETENTION)

    result = archive_closed_cases(db, now)

    assert result.archived >= 1
    db.refresh(closed_case)
    assert closed_case.archived_at == now and closed_case.is_archived
    audit = db.scalar(sa.select(AuditLog).where(AuditLog.action == "case.archive"))
    assert audit is not None and closed_case.id in audit.detail["referrals"]


def test_a_recent_closed_case_is_not_archived(db: Session, closed_case: Referral) -> None:
    archive_closed_cases(db, later(WITHIN_RETENTION))

    db.refresh(closed_case)
    assert closed_case.archived_at is None


def test_an_open_referral_is_never_archived(db: Session, referral_in: Walk) -> None:
    open_ones = [
        referral_in(S.IN_SERVICE),
        referral_in(S.SUBMITTED, need=need_of(db, "钟伟明", "education")),
    ]

    archive_closed_cases(db, later(10 * PAST_RETENTION))

    for referral in open_ones:
        db.refresh(referral)
        assert referral.archived_at is None


def test_a_completed_referral_waits_for_its_follow_up_and_any_doubt_resolved(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    not_followed_up = referral_in(S.COMPLETED)
    flagged = referral_in(S.COMPLETED)
    followups.record_follow_up(db, parties.station, flagged.id, NOTHING_ARRIVED)

    archive_closed_cases(db, later(PAST_RETENTION))

    db.refresh(not_followed_up)
    db.refresh(flagged)
    assert not_followed_up.archived_at is None and flagged.archived_at is None
    followups.resolve_follow_up(db, parties.office, flagged.id, "已核实，款项已补发。")
    archive_closed_cases(db, later(PAST_RETENTION))
    db.refresh(flagged)
    assert flagged.archived_at is not None


def test_archiving_deletes_nothing_and_a_second_run_archives_nothing_new(
    db: Session, closed_case: Referral, referral_in: Walk
) -> None:
    referral_in(S.DECLINED)
    before = counts(db)

    first = archive_closed_cases(db, later(PAST_RETENTION))
    second = archive_closed_cases(db, later(PAST_RETENTION))

    assert first.archived >= 2
    assert (second.archived, second.needs_archived) == (0, 0)
    assert counts(db) == before


def test_a_settled_need_is_archived_once_all_its_referrals_are_but_a_partly_met_one_is_not(
    db: Session, parties: Parties, referral_in: Walk, closed_case: Referral
) -> None:
    # 钟伟明's medical need: ¥8,000 delivered of a ¥40,000 gap leaves it 部分满足.
    partial = closed_case.need
    assert partial.status == NeedStatus.PARTIAL
    declined = referral_in(S.DECLINED, need=need_of(db, "钟伟明", "medical"))
    closed = need_of(db, "钟伟明", "education")
    set_need_status(db, parties.station, closed.id, NeedStatus.CLOSED, "家属已安排照护")

    result = archive_closed_cases(db, later(PAST_RETENTION))

    db.refresh(partial)
    db.refresh(closed)
    db.refresh(declined)
    assert declined.archived_at is not None
    assert partial.archived_at is None  # still waiting for the rest of its gap
    assert closed.archived_at is not None and result.needs_archived >= 1
    assert actions_for(parties.station, closed) == []
    error = refused(db, set_need_status, db, parties.station, closed.id, NeedStatus.OPEN, "再看看")
    assert isinstance(error, Archived) and error.status == 409 and "已归档，只读" in error.message


def test_an_archived_referral_refuses_every_change_but_still_reads(
    db: Session, parties: Parties, closed_case: Referral, tmp_path: Path
) -> None:
    archive_closed_cases(db, later(PAST_RETENTION))
    store = LocalDiskStorage(tmp_path)
    rid = closed_case.id

    upload = refused(db, attachments.add_attachment, db, parties.charity, store, rid, PDF,
                     "收据.pdf", AttachmentKind.COMPLETION)  # fmt: skip
    back = refused(db, back_referrals.refer_back, db, parties.charity, rid,
                   [GovAidType.TEMPORARY_ASSISTANCE], "家庭仍有困难")  # fmt: skip
    visit = episodes.EpisodeInput(on=clock.today(), kind=ServiceType.VISITING_CARE)
    log = partial(episodes.add_episode, today=clock.today())
    episode = refused(db, log, db, parties.charity, rid, visit)
    follow_up = refused(db, followups.record_follow_up, db, parties.station, rid, ALL_WELL)

    for error in (upload, back, episode, follow_up):
        assert isinstance(error, Archived), error
        assert error.status == 409 and "已归档，只读" in error.message
    assert workflow.steps_open_to(parties.station, closed_case) == ()
    assert attachments.attachable_kinds(db, parties.station, closed_case) == []
    assert attachments.list_attachments(db, parties.station, rid) == []
    assert db.scalar(sa.select(sa.func.count(Attachment.id))) == 0


def test_the_job_archives_by_the_configured_retention_and_says_how_many(
    app: Flask, db: Session, session_factory: sessionmaker[Session], closed_case: Referral
) -> None:
    slot = utcnow().replace(microsecond=0) + dt.timedelta(seconds=5)

    kept = run_slot(session_factory, "archive_cases", slot, config={"CASE_RETENTION_DAYS": 30})
    archived = run_slot(session_factory, "archive_cases", slot + dt.timedelta(seconds=1),
                        config={"CASE_RETENTION_DAYS": 0})  # fmt: skip

    assert kept is not None and archived is not None
    assert kept.counts == {"archived": 0, "needs_archived": 0}
    assert archived.counts is not None and archived.counts["archived"] >= 1
    db.refresh(closed_case)
    assert closed_case.archived_at is not None
    office = app.test_client()
    sign_in(office, "ca_conghua")
    page = office.get("/jobs")
    assert page.status_code == 200
    assert "<td>结案归档</td>" in page.text and "已归档转介" in page.text


def test_the_api_refuses_an_episode_and_an_upload_with_409_and_the_page_shows_it_archived(
    app: Flask, db: Session, closed_case: Referral, tmp_path: Path
) -> None:
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    now = later(PAST_RETENTION)
    archive_closed_cases(db, now)
    client = app.test_client()
    charity = bearer(client, "charity_f")
    path = f"/api/v1/referrals/{closed_case.id}"

    visit = {"on": clock.today().isoformat(), "kind": "visiting_care"}
    episode = client.post(f"{path}/episodes", headers=charity, json=visit)
    receipt = {"kind": "completion", "file": (io.BytesIO(PDF), "收据.pdf")}
    upload = client.post(f"{path}/attachments", headers=charity, data=receipt)
    follow_up = client.post(f"{path}/follow-up", headers=bearer(client, "station_a"),
                            json={"received": True, "as_recorded": True, "satisfaction": 5,
                                  "need_met": True})  # fmt: skip

    for answer in (episode, upload, follow_up):
        assert answer.status_code == 409, answer.json
        assert answer.json["error"]["code"] == "archived"
        assert "已归档，只读" in answer.json["error"]["message"]
    assert client.get(path, headers=charity).status_code == 200
    browser = app.test_client()
    sign_in(browser, "station_a")
    page = browser.get(f"/referrals/{closed_case.id}")
    assert page.status_code == 200
    assert 'data-testid="archived"' in page.text and "已归档" in page.text
    assert clock.local_date(now).isoformat() in page.text
