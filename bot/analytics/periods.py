"""Reporting periods: the current cycle and the four before it, or the last five calendar months."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property

from storage.models import Cycle

N_PERIODS = 5


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC dates; `cycle_id` is None for calendar-month periods."""

    label: str
    start: date
    end: date
    cycle_id: int | None = None
    current: bool = False

    @cached_property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=UTC)

    @cached_property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time(0), tzinfo=UTC)

    def holds(self, when: datetime | None) -> bool:
        return when is not None and self.start_at <= when < self.end_at


def _month_start(d: date, back: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - back, 12)
    return date(y, m + 1, 1)


def month_periods(today: date, n: int = N_PERIODS) -> list[Period]:
    """The current calendar month and the n-1 before it, oldest first."""
    out = []
    for back in range(n - 1, -1, -1):
        start = _month_start(today, back)
        end = _month_start(today, back - 1)
        out.append(Period(f"{start:%Y-%m}", start, end, None, back == 0))
    return out


def cycle_periods(cycles: list[Cycle], today: date, n: int = N_PERIODS) -> list[Period]:
    """The current cycle (the one holding today, else the latest started) and up to n-1 before it."""
    ordered = sorted(cycles, key=lambda c: (c.start_date, c.id or 0))
    started = [c for c in ordered if c.start_date <= today] or ordered[:1]
    holding = [c for c in started if c.start_date <= today <= c.end_date]
    current = holding[-1] if holding else started[-1]
    idx = ordered.index(current)
    chosen = ordered[max(0, idx - n + 1) : idx + 1]
    return [Period(c.name, c.start_date, c.end_date + timedelta(days=1), c.id, c is current) for c in chosen]


def report_periods(cycles: list[Cycle], today: date) -> list[Period]:
    return cycle_periods(cycles, today) if cycles else month_periods(today)
