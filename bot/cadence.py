"""Cadence, pause/resume/status and company holidays: the domain behind `/checkin pause|resume|status`.

The `/checkin` listener parses the command and calls these functions; they know nothing of Slack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.i18n import fmt_dt, norm_locale, t
from bot.services import Services
from scheduler.planning import Pair, PersonView, build_pairs, next_slot
from storage import scheduling as repo
from storage.db import session_scope
from storage.people import get_person

MAX_PAUSE = timedelta(days=365)


class UserError(ValueError):
    """A mistake the user can fix; `text(locale)` is the message to show them (str() is the English one)."""

    def __init__(self, key: str, **kw: Any) -> None:
        self.key, self.kw = key, kw
        super().__init__(t(key, "en", **kw))

    def text(self, locale: str | None) -> str:
        return t(self.key, locale, **self.kw)


class DurationError(UserError):
    """`parse_duration` could not accept the text."""


_UNITS = {
    **dict.fromkeys(("d", "day", "days", "天", "日"), 1),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks", "周", "星期", "个星期", "個星期", "礼拜", "个礼拜"), 7),
}
_DURATION = re.compile(r"^\s*([+-]?)\s*([0-9]+|[零一二两三四五六七八九十百]+)\s*(" + "|".join(
    sorted((re.escape(u) for u in _UNITS), key=len, reverse=True)) + r")\s*$", re.IGNORECASE)
_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _zh_number(s: str) -> int:
    """Chinese numerals up to 999 ('十' 10, '十二' 12, '二十' 20, '三百六十五' 365)."""
    total, current = 0, 0
    for ch in s:
        if ch in _ZH_DIGITS:
            current = _ZH_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
    return total + current


def parse_duration(text: str) -> timedelta:
    """Parse a pause length: '2w', '10d', '3 days', '1 week', '2周', '10天', '两周'.

    Raises:
        DurationError: (a ValueError) malformed, zero or negative, or longer than one year; `.text(locale)`
            explains it to the user.
    """
    raw = (text or "").strip()
    m = _DURATION.match(raw)
    if not m:
        raise DurationError("scheduler_duration_malformed", text=raw[:40])
    sign, number, unit = m.groups()
    if len(number) > 6:  # absurdly long digit strings are simply too long, not worth an int
        raise DurationError("scheduler_duration_too_long", text=raw[:40])
    n = int(number) if number.isdigit() else _zh_number(number)
    if sign == "-" or n <= 0:
        raise DurationError("scheduler_duration_not_positive", text=raw[:40])
    days = n * _UNITS[unit.lower()]
    if days > MAX_PAUSE.days:
        raise DurationError("scheduler_duration_too_long", text=raw[:40])
    return timedelta(days=days)


def pause(services: Services, *, slack_id: str, duration: timedelta) -> datetime:
    """Pause every nudge to and about `slack_id` for `duration` from now; returns the end (UTC).

    Raises:
        DurationError: the duration is not positive or longer than a year.
        UserError: the person is unknown.
    """
    if duration <= timedelta(0):
        raise DurationError("scheduler_duration_not_positive", text=str(duration))
    if duration > MAX_PAUSE:
        raise DurationError("scheduler_duration_too_long", text=str(duration))
    until = services.now() + duration
    with session_scope(services.engine) as session:
        if repo.set_paused_until(session=session, slack_id=slack_id, until=until) is None:
            raise UserError("scheduler_unknown_person")
    return until


def resume(services: Services, *, slack_id: str) -> None:
    """End a pause now (no-op when not paused). Raises UserError for an unknown person."""
    with session_scope(services.engine) as session:
        if repo.set_paused_until(session=session, slack_id=slack_id, until=None) is None:
            raise UserError("scheduler_unknown_person")


@dataclass(frozen=True)
class NextCheckin:
    other_slack_id: str
    at: datetime  # UTC
    frequency: str


@dataclass(frozen=True)
class StatusInfo:
    """A person's schedule: as a manager (one entry per report) and as an employee (with their manager)."""

    slack_id: str
    paused_until: datetime | None
    as_manager: list[NextCheckin] = field(default_factory=list)
    as_employee: NextCheckin | None = None


def status(services: Services, *, slack_id: str) -> StatusInfo:
    """The next check-in instant(s) of `slack_id` (pauses and holidays taken into account)."""
    now = services.now()
    with session_scope(services.engine) as session:
        person = get_person(session=session, slack_id=slack_id)
        if person is None:
            raise UserError("scheduler_unknown_person")
        people = [p for p in repo.person_views(session=session)
                  if p.slack_id == slack_id or p.manager_slack_id == slack_id or p.slack_id == person.manager_slack_id]
        pairs = build_pairs(people, repo.cadence_views(session=session))
        hol = repo.holiday_dates(session=session)
    paused = person.paused_until if person.paused_until and person.paused_until > now else None

    def entry(pair: Pair, other: PersonView) -> NextCheckin:
        return NextCheckin(other.slack_id, next_slot(pair, now, hol), pair.rule.frequency)

    mine = [entry(p, p.employee) for p in pairs if p.manager.slack_id == slack_id]
    boss = next((entry(p, p.manager) for p in pairs if p.employee.slack_id == slack_id), None)
    return StatusInfo(slack_id, paused, sorted(mine, key=lambda e: e.at), boss)


def status_text(info: StatusInfo, *, tz: str, locale: str | None) -> str:
    """`/checkin status` as the person reads it, dates in their zone and language."""
    loc = norm_locale(locale)
    lines = [t("scheduler_status_header", loc)]
    if info.paused_until:
        lines.append(t("scheduler_status_paused", loc, until=fmt_dt(info.paused_until, tz, loc)))
    else:
        lines.append(t("scheduler_status_active", loc))
    if info.as_employee:
        e = info.as_employee
        lines.append(t("scheduler_status_as_employee", loc, other=e.other_slack_id, when=fmt_dt(e.at, tz, loc),
                       frequency=t(f"scheduler_freq_{e.frequency}", loc)))
    for e in info.as_manager:
        lines.append(t("scheduler_status_as_manager", loc, other=e.other_slack_id, when=fmt_dt(e.at, tz, loc),
                       frequency=t(f"scheduler_freq_{e.frequency}", loc)))
    if not info.as_employee and not info.as_manager:
        lines.append(t("scheduler_status_none", loc))
    return "\n".join(lines)


def paused_text(until: datetime, *, tz: str, locale: str | None) -> str:
    """The confirmation after `pause`."""
    return t("scheduler_paused", locale, until=fmt_dt(until, tz, locale))


def resumed_text(locale: str | None) -> str:
    return t("scheduler_resumed", locale)


def set_cadence(services: Services, *, frequency: str, weekday: int = 1, local_time: str = "10:00",
                team: str | None = None, manager_slack_id: str | None = None, employee_slack_id: str | None = None,
                anchor_date: date | None = None) -> None:
    """Set a team's default cadence (`team=`) or one pair's (`manager_slack_id=` and `employee_slack_id=`)."""
    if frequency not in ("weekly", "biweekly", "monthly"):
        raise ValueError(f"unknown frequency {frequency!r}")
    if not 0 <= weekday <= 6:
        raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
    hh, mm = local_time.split(":")
    time(int(hh), int(mm))  # validates
    scope = "pair" if manager_slack_id and employee_slack_id else "team"
    if scope == "team" and not team:
        raise ValueError("a cadence needs a team or a pair")
    with session_scope(services.engine) as session:
        repo.upsert_cadence(session=session, scope=scope, team=team if scope == "team" else None,
                            manager_slack_id=manager_slack_id, employee_slack_id=employee_slack_id,
                            frequency=frequency, weekday=weekday, local_time=f"{int(hh):02d}:{int(mm):02d}",
                            anchor_date=anchor_date)


# --- HR: admin check and company holidays ----------------------------------------------------------------


def require_hr_admin(*, session: Any, slack_id: str) -> Any:
    """The Person if they are an HR admin; UserError("not_hr_admin") otherwise."""
    person = get_person(session=session, slack_id=slack_id)
    if person is None or not person.is_hr_admin:
        raise UserError("not_hr_admin")
    return person


def add_holiday(services: Services, *, admin_slack_id: str, day: date, name: str = "") -> bool:
    """Make `day` a company holiday (no nudges anywhere that local day). Returns True when it is new."""
    with session_scope(services.engine) as session:
        require_hr_admin(session=session, slack_id=admin_slack_id)
        return repo.add_holiday(session=session, day=day, name=name.strip()[:80])[1]


def remove_holiday(services: Services, *, admin_slack_id: str, day: date) -> bool:
    with session_scope(services.engine) as session:
        require_hr_admin(session=session, slack_id=admin_slack_id)
        return repo.remove_holiday(session=session, day=day)


def list_holidays(services: Services, *, admin_slack_id: str, from_day: date | None = None) -> list[tuple[date, str]]:
    """Company holidays from `from_day` on (all when None)."""
    with session_scope(services.engine) as session:
        require_hr_admin(session=session, slack_id=admin_slack_id)
        return [(h.day, h.name) for h in repo.holidays(session=session) if from_day is None or h.day >= from_day]
