"""Column types and constraints that guard the data whatever code writes it."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from models import AuditLog, Member, Project


def test_naive_timestamps_are_refused(db: Session) -> None:
    db.add(AuditLog(action="test.naive", at=dt.datetime(2026, 1, 1, 8, 0)))
    with pytest.raises(StatementError, match="naive datetime"):
        db.flush()


def test_timestamps_come_back_as_utc(db: Session) -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    entry = AuditLog(action="test.aware", at=dt.datetime(2026, 7, 1, 0, 30, tzinfo=shanghai))
    db.add(entry)
    db.flush()
    db.expire(entry)
    assert entry.at == dt.datetime(2026, 6, 30, 16, 30, tzinfo=dt.UTC)
    assert entry.at.tzinfo is not None


def test_quota_used_cannot_exceed_quota(db: Session) -> None:
    project = db.scalars(sa.select(Project).where(Project.quota > 0)).first()
    assert project is not None
    with pytest.raises(IntegrityError), db.begin_nested():
        project.quota_used = project.quota + 1
        db.flush()


def test_disability_grade_is_between_one_and_four(db: Session) -> None:
    member = db.scalars(sa.select(Member)).first()
    assert member is not None
    with pytest.raises(IntegrityError), db.begin_nested():
        member.disability_grade = 5
        db.flush()
