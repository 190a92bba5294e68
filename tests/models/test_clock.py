"""The project's calendar: days and half-years are Guangdong's, whatever the server's zone."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from models import clock

GUANGDONG = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def server_in_honolulu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone is UTC-10, so its calendar day is behind Guangdong's."""
    monkeypatch.setenv("TZ", "Pacific/Honolulu")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_today_is_the_day_in_guangdong_whatever_the_servers_zone(server_in_honolulu: None) -> None:
    before = dt.datetime.now(GUANGDONG).date()
    today = clock.today()
    after = dt.datetime.now(GUANGDONG).date()
    assert today in {before, after}
    assert clock.now().utcoffset() == dt.timedelta(hours=8)


def test_half_past_midnight_on_new_years_day_in_guangdong_is_still_the_old_year_in_utc() -> None:
    moment = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)
    assert clock.local_date(moment) == dt.date(2027, 1, 1)
    assert clock.period_of(clock.local_date(moment)) == "2027H1"
    assert clock.start_of(dt.date(2027, 1, 1)) == dt.datetime(2026, 12, 31, 16, tzinfo=dt.UTC)


def test_a_half_year_runs_january_to_june_or_july_to_december() -> None:
    assert clock.period_bounds("2026H1") == (dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    assert clock.period_bounds("2026H2") == (dt.date(2026, 7, 1), dt.date(2026, 12, 31))
    assert clock.period_of(dt.date(2026, 6, 30)) == "2026H1"
    assert clock.period_of(dt.date(2026, 7, 1)) == "2026H2"


def test_a_half_years_window_is_guangdongs_midnight_to_midnight_in_utc() -> None:
    assert clock.period_window("2026H2") == (
        dt.datetime(2026, 6, 30, 16, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 31, 16, tzinfo=dt.UTC),
    )


@pytest.mark.parametrize(
    ("period", "message"),
    [("2026", "期次格式"), ("2026H3", "期次格式"), ("1999H2", "2000 到 2099"), ("2100H1", "2000")],
)
def test_what_is_not_a_half_year_is_refused_with_the_reason(period: str, message: str) -> None:
    with pytest.raises(clock.InvalidPeriod, match=message):
        clock.period_bounds(period)
    with pytest.raises(clock.InvalidPeriod):
        clock.period_window(period)


def test_recent_periods_count_back_from_the_current_half_year() -> None:
    assert clock.recent_periods(dt.date(2027, 1, 1)) == ["2027H1", "2026H2", "2026H1", "2025H2"]
    assert clock.recent_periods(dt.date(2026, 12, 31), count=2) == ["2026H2", "2026H1"]


def test_a_half_years_slot_is_the_schedules_first_firing_in_it_in_guangdong_time() -> None:
    twice_a_year = CronTrigger(month="1,7", day="1", hour="0", minute="30", timezone=GUANGDONG)
    assert clock.period_slot(twice_a_year, "2027H1") == dt.datetime(
        2027, 1, 1, 0, 30, tzinfo=GUANGDONG
    )
    assert clock.period_slot(twice_a_year, "2026H2") == dt.datetime(
        2026, 7, 1, 0, 30, tzinfo=GUANGDONG
    )
    daily = CronTrigger(hour="7", minute="0", timezone=GUANGDONG)
    assert clock.first_slot_on(daily, dt.date(2027, 3, 1)) == dt.datetime(
        2027, 3, 1, 7, tzinfo=GUANGDONG
    )
