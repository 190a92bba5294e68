"""The half-year refresh of every department's ledger, and what counts as a half-year."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import LedgerEdition, Notification, Region, utcnow
from models.enums import LEDGER_LEVELS
from tests.helpers import get_user
from web.services.errors import ValidationFailed
from web.services.ledgers import build_edition, check_period, refresh_ledgers, township_departments

COUNTY = "440117000000"  # 从化区, station_a's county


def departments(db: Session) -> int:
    """The three levels' departments, and the townships with local resources (本地资源)."""
    offices = db.scalar(
        sa.select(sa.func.count()).select_from(Region).where(Region.level.in_(LEDGER_LEVELS))
    )
    return offices + len(township_departments(db))


def ledger_news(db: Session, username: str) -> list[str]:
    return list(
        db.scalars(
            sa.select(Notification.message).where(
                Notification.user_id == get_user(db, username).id, Notification.kind == "ledger"
            )
        )
    )


def test_a_refresh_publishes_every_department_once_and_tells_each_station_once(
    db: Session,
) -> None:
    steps: list[tuple[int, int]] = []
    first = refresh_ledgers(db, "2027H1", utcnow(), lambda done, total: steps.append((done, total)))
    total = departments(db)
    assert (first.period, first.departments, first.published, first.skipped) == (
        "2027H1", total, total, 0
    )  # fmt: skip
    assert first.notified > 0 and first.projects > 0
    assert steps[-1] == (total, total) and len(steps) == total
    (news,) = ledger_news(db, "station_a")
    assert "2027年上半年" in news and "从化区" in news

    again = refresh_ledgers(db, "2027H1", utcnow())
    assert (again.published, again.skipped, again.notified) == (0, total, 0)
    assert len(ledger_news(db, "station_a")) == 1


def test_a_refresh_leaves_a_department_that_already_has_a_later_half_year(db: Session) -> None:
    build_edition(db, get_user(db, "ca_conghua"), COUNTY, "2027H2", utcnow())
    result = refresh_ledgers(db, "2027H1", utcnow())
    assert result.skipped == 1 and result.published == departments(db) - 1
    county = db.scalars(
        sa.select(LedgerEdition.period).where(LedgerEdition.region_code == COUNTY)
    ).all()
    assert "2027H1" not in county


def test_a_refresh_for_what_is_not_a_half_year_publishes_nothing(db: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        refresh_ledgers(db, "2027H3", utcnow())
    assert "period" in refused.value.fields
    assert db.scalar(sa.select(sa.func.count()).select_from(LedgerEdition)) == 0


def test_a_half_year_from_a_user_is_checked_with_the_reason_on_its_field() -> None:
    assert check_period("2026H2") == (dt.date(2026, 7, 1), dt.date(2026, 12, 31))
    with pytest.raises(ValidationFailed) as refused:
        check_period("2026-07")
    assert refused.value.fields == {"period": ["期次格式应为“2026H1”或“2026H2”。"]}
