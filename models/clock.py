"""The project's calendar: Guangdong's time zone, "today" there, and the half-years.

Every date the service shows, compares or files under is a day in Asia/Shanghai, whatever
zone the server runs in: ``today()`` here, never ``datetime.date.today()``. Timestamps are
still stored in UTC (``models.base.utcnow``). The ledger is handed to stations every half-year
(``2026H1`` is January–June, ``2026H2`` July–December), so the half-year helpers live here
too, and so do the slots of a schedule (a trigger's firings, as in APScheduler), which are
moments in this zone. Nothing here knows Flask, the database or the web layer, so models,
matcher, services and jobs can all use it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Protocol
from zoneinfo import ZoneInfo

#: The zone of every local date and schedule.
TZ = ZoneInfo("Asia/Shanghai")

#: A half-year: ``2026H1`` or ``2026H2``.
PERIOD = re.compile(r"^(\d{4})H([12])$")
#: Half-years the service files anything under.
PERIOD_YEARS = range(2000, 2100)


def now() -> dt.datetime:
    """The current time in Guangdong (aware)."""
    return dt.datetime.now(TZ)


def today() -> dt.date:
    """The current day in Guangdong."""
    return now().date()


def local_date(moment: dt.datetime) -> dt.date:
    """The day in Guangdong on which the aware ``moment`` falls."""
    return moment.astimezone(TZ).date()


def start_of(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in Guangdong (aware)."""
    return dt.datetime.combine(day, dt.time(0), TZ)


# --- half-years ---------------------------------------------------------------------------


class InvalidPeriod(ValueError):
    """Not a half-year the service knows; the message says why, in Chinese."""


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """``2026H2`` → (2026-07-01, 2026-12-31).

    :raise InvalidPeriod: not of the form ``2026H1``, or a year outside 2000–2099.
    """
    match = PERIOD.match(period)
    if match is None:
        raise InvalidPeriod("期次格式应为“2026H1”或“2026H2”。")
    year, half = int(match[1]), int(match[2])
    if year not in PERIOD_YEARS:
        raise InvalidPeriod("期次年份应在 2000 到 2099 年之间。")
    return (dt.date(year, 1, 1), dt.date(year, 6, 30)) if half == 1 else (
        dt.date(year, 7, 1), dt.date(year, 12, 31)
    )  # fmt: skip


def period_of(day: dt.date) -> str:
    """The half-year ``day`` falls in: 2026-11-29 → ``2026H2``."""
    return f"{day.year}H{1 if day.month <= 6 else 2}"


def half_year_name(period: str) -> str:
    """How people write a half-year: ``2026H2`` → 2026年下半年 (anything else as given)."""
    match = PERIOD.match(period)
    if match is None:
        return period
    return f"{match[1]}年{'上' if match[2] == '1' else '下'}半年"


def next_period(period: str) -> str:
    """The half-year after ``period``: ``2026H2`` → ``2027H1``."""
    starts, ends = period_bounds(period)
    return period_of(ends + dt.timedelta(days=1))


def recent_periods(today: dt.date, count: int = 4) -> list[str]:
    """The current half-year and the ones before it, newest first."""
    periods, day = [], today
    for _ in range(count):
        periods.append(period_of(day))
        # The last day of the half-year before.
        day = dt.date(day.year - 1, 12, 31) if day.month <= 6 else dt.date(day.year, 6, 30)
    return periods


def period_window(period: str) -> tuple[dt.datetime, dt.datetime]:
    """The half-year as aware UTC instants: its first midnight in Guangdong, and the midnight
    after its last day (the window is half-open).

    :raise InvalidPeriod: see :func:`period_bounds`.
    """
    starts, ends = period_bounds(period)
    return (
        start_of(starts).astimezone(dt.UTC),
        start_of(ends + dt.timedelta(days=1)).astimezone(dt.UTC),
    )


# --- slots of a schedule ------------------------------------------------------------------


class Trigger(Protocol):
    """What the slot helpers need of a schedule (APScheduler's triggers have it)."""

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime | None: ...


def latest_slot(trigger: Trigger, now: dt.datetime) -> dt.datetime | None:
    """The last time ``trigger`` fired at or before ``now`` (None if not within a year).

    APScheduler only looks forward, so this walks forward from ever earlier starting points.
    """
    for back in (dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1),
                 dt.timedelta(days=32), dt.timedelta(days=367)):  # fmt: skip
        found = None
        at = trigger.get_next_fire_time(None, now - back)
        while at is not None and at <= now:
            found = at
            at = trigger.get_next_fire_time(at, at + dt.timedelta(microseconds=1))
        if found is not None:
            return found
    return None


def next_slot(trigger: Trigger, now: dt.datetime) -> dt.datetime | None:
    """The first time ``trigger`` fires after ``now``."""
    return trigger.get_next_fire_time(None, now + dt.timedelta(microseconds=1))


def first_slot_on(trigger: Trigger, day: dt.date) -> dt.datetime:
    """The first time ``trigger`` fires on or after the start of ``day`` (local time)."""
    at = trigger.get_next_fire_time(None, start_of(day))
    assert at is not None
    return at


def period_slot(trigger: Trigger, period: str) -> dt.datetime:
    """A half-year's own slot (``2027H1`` → its first firing, 00:30 on 1 January): a run for
    that half-year by hand is the same claim as the scheduler's run of it.

    :raise InvalidPeriod: not a half-year.
    """
    return first_slot_on(trigger, period_bounds(period)[0])
