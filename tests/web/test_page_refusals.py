"""A page a service refuses shows why and keeps nothing of the refused step.

The after-request hook commits every response under 400, and a refused page mostly answers
with a redirect or its form again: what the service had written before refusing must not
reach the database, nor be shown as if it had happened.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import AuditLog, JobRun, Referral, ReferralEvent
from models.enums import JobRunStatus, ReferralStatus
from tests.helpers import csrf_token, need_of, project_named, sign_in
from tests.web.test_referrals_api import SURGERY, Parties, draft


def browser_of(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    sign_in(client, username)
    return client


def test_an_approval_refused_for_want_of_places_leaves_the_referral_waiting(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    parties = Parties(client)
    rid = draft(parties, need_of(db, "钟伟明", "medical"), project_named(db, SURGERY))
    parties.step(rid, "submit", parties.station)
    project = project_named(db, SURGERY)
    project.quota = project.quota_used  # the last place has just gone elsewhere
    db.commit()
    version = parties.get(f"/referrals/{rid}", parties.office).json["version"]
    office = browser_of(app, "ca_conghua")
    refused = office.post(
        f"/referrals/{rid}/approve",
        data={"csrf_token": csrf_token(office, f"/referrals/{rid}"), "version": version},
    )
    assert refused.status_code == 409 and "名额（或资金）已用完" in refused.text
    status = re.search(r'data-testid="referral-status">([^<]+)<', refused.text)
    assert status is not None and status[1] == "待审批"
    assert 'data-testid="step-approve"' in refused.text
    db.expire_all()
    assert db.get(Referral, rid).status == ReferralStatus.SUBMITTED
    events = db.scalars(sa.select(ReferralEvent.to_status).where(ReferralEvent.referral_id == rid))
    assert ReferralStatus.APPROVED not in set(events)
    approvals = sa.select(sa.func.count()).where(
        AuditLog.action == "referral.approve", AuditLog.object_id == str(rid)
    )
    assert db.scalar(approvals) == 0


def test_a_refused_run_request_leaves_the_waiting_one_as_it_was(app: Flask, db: Session) -> None:
    admin = browser_of(app, "admin")
    first = admin.post(
        "/jobs/ledger_refresh/run",
        data={"csrf_token": csrf_token(admin, "/jobs"), "period": "2027H1"},
    )
    assert first.status_code == 302
    waiting = db.scalar(sa.select(JobRun).where(JobRun.job_name == "ledger_refresh"))
    assert waiting is not None and waiting.status == JobRunStatus.QUEUED
    # No scheduler has picked it up for two hours: a new request gives it up first.
    waiting.started_at -= dt.timedelta(hours=2)
    db.commit()
    again = admin.post(
        "/jobs/ledger_refresh/run",
        data={"csrf_token": csrf_token(admin, "/jobs"), "period": "2027H1"},
        follow_redirects=True,
    )
    assert "该期次的台账更新已经运行过" in again.text  # the same half-year slot is taken
    db.expire_all()
    assert db.get(JobRun, waiting.id).status == JobRunStatus.QUEUED
