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


MEETING = timedelta(minutes=30)  # a check-in moved into shared hours starts at least this long before they end


def _hours(day: date, tz: str, window: WorkWindow) -> tuple[datetime, datetime]:
    return local_instant(day, window.start, tz), local_instant(day, window.end, tz)


def fit_both(when: datetime, tz: str, other: str, window: WorkWindow = DEFAULT_WINDOW) -> datetime:
    """`when`, a slot inside `tz`'s working hours, moved within that day's hours to the nearest instant inside
    `other`'s working hours too (a London manager's 10:00 is 05:00 in New York: 14:00 London is the nearest time
    both work). Unchanged when it already is, or when no time of that day is (Shanghai and New York share no
    hour of 9-18): then the end of the day nearest to `other`'s working hours, so the time out of hours is least.

    Worked in minutes from the two zones' offsets that day (planning 50,000 pairs in many zones stays fast);
    within a day of a clock change in either zone, instant by instant through the zone database.
    """
    utc = when if when.tzinfo is UTC else when.astimezone(UTC)
    day = utc.date()
    mine, theirs = _offset(tz, day), _offset(other, day)
    if mine is None or theirs is None:
        return _fit_exact(when, tz, other, window)
    local = utc.hour * 60 + utc.minute + mine  # the manager's wall clock, in minutes from the UTC day's start
    at, weekday = local % 1440, (day.weekday() + local // 1440) % 7
    moved = _best_minute(at, theirs - mine, weekday, _minute(window.start), _minute(window.end), window.weekdays) - at
    return when + _MINUTE * moved if moved else when


@lru_cache(maxsize=16384)
def _offset(tz: str, day: date) -> int | None:
    """`tz`'s UTC offset in minutes from the day before `day` (UTC) to the day after, or None when its clock
    changes in that span (then the minutes are not to be trusted). Clocks change at most twice a year, so the
    span's two ends and its middle tell."""
    base = datetime.combine(day, time(12), tzinfo=UTC)
    seen = {(base + timedelta(hours=h)).astimezone(zone(tz)).utcoffset() for h in (-36, 0, 36)}
    return round(seen.pop() / timedelta(minutes=1)) if len(seen) == 1 else None  # type: ignore[operator]


@lru_cache(maxsize=8192)
def _best_minute(at: int, shift: int, weekday: int, start: int, end: int, weekdays: frozenset[int]) -> int:
    """`fit_both` in minutes from the manager's midnight: `at` is the slot, `shift` how far the other's clock is
    ahead, `weekday` the manager's day, `start`-`end` and `weekdays` the working window (plain values: a cheap
    cache key); the same for every pair with these (a few hundred in any organisation)."""
    first, last = start, end - MEETING_MINUTES
    hours = [  # the other's hours near that day, as minutes from the manager's midnight
        (k * 1440 + first - shift, k * 1440 + last - shift)
        for k in range(-2, 3)
        if (weekday + k) % 7 in weekdays
    ]
    shared = [(max(first, a), min(last, b)) for a, b in hours if max(first, a) <= min(last, b)]
    if shared:
        return min((min(max(at, a), b) for a, b in shared), key=lambda m: abs(m - at))

    def apart(m: int) -> int:
        return min((a - m if m < a else m - b if m > b else 0) for a, b in hours) if hours else 0

    return min((first, max(first, last)), key=lambda m: (apart(m), abs(m - at)))


MEETING_MINUTES = round(MEETING / timedelta(minutes=1))
_MINUTE = timedelta(minutes=1)


def _minute(t: time) -> int:
    return t.hour * 60 + t.minute


def _fit_exact(when: datetime, tz: str, other: str, window: WorkWindow) -> datetime:
    """`fit_both` instant by instant (each bound through the zone database): for days with a clock change."""
    local = when.astimezone(zone(tz)).date()
    start, end = _hours(local, tz, window)
    latest = max(start, end - MEETING)
    theirs = [  # the instants a meeting can start in the other's hours, near that day
        (a, b - MEETING)
        for a, b in (_hours(local + timedelta(days=k), other, window) for k in range(-2, 3))
        if a.astimezone(zone(other)).weekday() in window.weekdays
    ]
    shared = [(max(start, a), min(latest, b)) for a, b in theirs if max(start, a) <= min(latest, b)]
    if any(a <= when <= b for a, b in shared):
        return when
    if shared:
        return min((min(max(when, a), b) for a, b in shared), key=lambda p: abs(p - when))

    def apart(p: datetime) -> timedelta:
        none = timedelta(0)
        return min((a - p if p < a else p - b if p > b else none) for a, b in theirs) if theirs else none

    return min((start, latest), key=lambda p: (apart(p), abs(p - when)))


@lru_cache(maxsize=65536)
def slots_around(
    rule: Rule, tz: str, day: date, holidays: frozenset[date], window: WorkWindow, other: str | None = None
) -> tuple[datetime, ...]:
    """Working-adjusted slot instants (UTC, ascending) from about two periods before `day` to two after; with
    `other` (the employee's zone when it is not the manager's `tz`), each moved into hours both work (`fit_both`).

    Cached per (rule, zone, day, other zone): pairs that share zones and a cadence share the computation, and the
    manager's side (per rule, zone and day) is shared by every other zone.
    """
    if other is None or other == tz:
        return _manager_slots(rule, tz, day, holidays, window)
    out: list[datetime] = []
    for slot in _manager_slots(rule, tz, day, holidays, window):
        slot = fit_both(slot, tz, other, window)
        if not out or slot > out[-1]:
            out.append(slot)
    return tuple(out)


@lru_cache(maxsize=16384)
def _manager_slots(
    rule: Rule, tz: str, day: date, holidays: frozenset[date], window: WorkWindow
) -> tuple[datetime, ...]:
    span = 2 * period_days(rule) + 3
    out: list[datetime] = []
    for d in nominal_dates(rule, day - timedelta(days=span)):
        if d > day + timedelta(days=span):
            break
        slot = to_working(local_instant(d, rule.at, tz), tz, holidays, window)
        if not out or slot > out[-1]:
            out.append(slot)
    return tuple(out)
