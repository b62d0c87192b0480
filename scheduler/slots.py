"""Cadence calendars: nominal check-in dates and working-hours adjustment, in a person's local time.

Pure functions over `datetime`/`zoneinfo`; no store, no Slack. Instants returned are timezone-aware UTC.
"""

from __future__ import annotations

import calendar as _cal
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

FREQUENCIES = ("weekly", "biweekly", "monthly")
EPOCH = date(2024, 1, 1)  # a Monday: biweekly cadences without an anchor alternate from this week


@dataclass(frozen=True)
class Rule:
    """How often a pair meets: frequency, weekday (Monday=0) and local time; `anchor` fixes biweekly parity
    and the day of the month for monthly cadences (clamped to the month's last day)."""

    frequency: str = "weekly"
    weekday: int = 1
    at: time = time(10, 0)
    anchor: date | None = None


@dataclass(frozen=True)
class WorkWindow:
    """Working hours (local, [start, end)) and working weekdays."""

    start: time = time(9, 0)
    end: time = time(18, 0)
    weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))


DEFAULT_RULE = Rule()
DEFAULT_WINDOW = WorkWindow()


@lru_cache(maxsize=2048)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_instant(day: date, at: time, tz: str) -> datetime:
    """`day` at `at` in `tz`, as UTC. A wall time inside a spring-forward gap maps to the instant after the gap."""
    return datetime.combine(day, at, tzinfo=zone(tz)).astimezone(UTC)


def is_working_day(day: date, holidays: frozenset[date], window: WorkWindow = DEFAULT_WINDOW) -> bool:
    return day.weekday() in window.weekdays and day not in holidays


def next_working_day(day: date, holidays: frozenset[date], window: WorkWindow = DEFAULT_WINDOW) -> date:
    d = day + timedelta(days=1)
    for _ in range(400):
        if is_working_day(d, holidays, window):
            return d
        d += timedelta(days=1)
    raise ValueError("no working day within a year")


def previous_working_day(day: date, holidays: frozenset[date], window: WorkWindow = DEFAULT_WINDOW) -> date:
    d = day - timedelta(days=1)
    for _ in range(400):
        if is_working_day(d, holidays, window):
            return d
        d -= timedelta(days=1)
    raise ValueError("no working day within a year")


def clamp_time(at: time, window: WorkWindow) -> time:
    return at if window.start <= at < window.end else window.start


def to_working(when: datetime, tz: str, holidays: frozenset[date], window: WorkWindow = DEFAULT_WINDOW) -> datetime:
    """The first instant at or after `when` inside the person's working window.

    Inside the window: unchanged. Before the start of a working day: that day's start. Otherwise (evening,
    weekend, holiday): the next working day at the same wall time if that is inside the window, else its start.
    """
    local = when.astimezone(zone(tz))
    day, at = local.date(), local.time().replace(tzinfo=None)
    if is_working_day(day, holidays, window):
        if window.start <= at < window.end:
            return when.astimezone(UTC)
        if at < window.start:
            return local_instant(day, window.start, tz)
    return local_instant(next_working_day(day, holidays, window), clamp_time(at, window), tz)


def _month_day(year: int, month: int, rule: Rule) -> date:
    if rule.anchor is not None:  # the anchor's day of month, clamped (31st -> 30th/29th/28th)
        return date(year, month, min(rule.anchor.day, _cal.monthrange(year, month)[1]))
    first = date(year, month, 1)  # no anchor: the first `weekday` of the month
    return first + timedelta(days=(rule.weekday - first.weekday()) % 7)


def nominal_dates(rule: Rule, start: date) -> Iterator[date]:
    """The cadence's local dates on or after `start`, in order (endless)."""
    if rule.frequency == "monthly":
        y, m = start.year, start.month
        while True:
            d = _month_day(y, m, rule)
            if d >= start:
                yield d
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    step = 14 if rule.frequency == "biweekly" else 7
    d = start + timedelta(days=(rule.weekday - start.weekday()) % 7)
    if step == 14:
        base = rule.anchor or EPOCH
        base_monday = base - timedelta(days=base.weekday())
        if ((d - base_monday).days // 7) % 2:
            d += timedelta(days=7)
    while True:
        yield d
        d += timedelta(days=step)


def period_days(rule: Rule) -> int:
    return {"weekly": 7, "biweekly": 14}.get(rule.frequency, 31)


@lru_cache(maxsize=65536)
def slots_around(rule: Rule, tz: str, day: date, holidays: frozenset[date], window: WorkWindow) -> tuple[datetime, ...]:
    """Working-adjusted slot instants (UTC, ascending) from about two periods before `day` to two after.

    Cached per (rule, zone, day): people who share a zone and a cadence share the computation.
    """
    span = 2 * period_days(rule) + 3
    out: list[datetime] = []
    for d in nominal_dates(rule, day - timedelta(days=span)):
        if d > day + timedelta(days=span):
            break
        slot = to_working(local_instant(d, rule.at, tz), tz, holidays, window)
        if not out or slot > out[-1]:
            out.append(slot)
    return tuple(out)
