"""Cadence, pause/resume/status and company holidays: the domain behind `/checkin pause|resume|status`.

The `/checkin` listener parses the command and calls these functions; they know nothing of Slack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import select

from bot.i18n import fmt_dt, norm_locale, t
from bot.services import Services
from scheduler.planning import LATE_GRACE, CadenceView, Pair, PersonView, build_pairs, neighbours, next_slot
from scheduler.slots import DEFAULT_RULE, DEFAULT_WINDOW, Rule, zone
from storage import scheduling as repo
from storage.db import session_scope
from storage.models import Cadence, Person
from storage.people import get_person, list_people

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
_DURATION = re.compile(
    r"^\s*([+-]?)\s*([0-9]+|[零一二两三四五六七八九十百]+)\s*("
    + "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
    + r")\s*$",
    re.IGNORECASE,
)
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
        people = [
            p
            for p in repo.person_views(session=session)
            if p.slack_id == slack_id or p.manager_slack_id == slack_id or p.slack_id == person.manager_slack_id
        ]
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
    entries = [("scheduler_status_as_employee", info.as_employee)] if info.as_employee else []
    entries += [("scheduler_status_as_manager", e) for e in info.as_manager]
    for key, e in entries:
        lines.append(
            t(
                key,
                loc,
                other=e.other_slack_id,
                when=fmt_dt(e.at, tz, loc),
                frequency=t(f"scheduler_freq_{e.frequency}", loc),
            )
        )
    if not info.as_employee and not info.as_manager:
        lines.append(t("scheduler_status_none", loc))
    return "\n".join(lines)


def paused_text(until: datetime, *, tz: str, locale: str | None) -> str:
    """The confirmation after `pause`."""
    return t("scheduler_paused", locale, until=fmt_dt(until, tz, locale))


def resumed_text(locale: str | None) -> str:
    return t("scheduler_resumed", locale)


def set_cadence(
    services: Services,
    *,
    frequency: str,
    weekday: int = 1,
    local_time: str = "10:00",
    team: str | None = None,
    manager_slack_id: str | None = None,
    employee_slack_id: str | None = None,
    anchor_date: date | None = None,
) -> None:
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
        repo.upsert_cadence(
            session=session,
            scope=scope,
            team=team if scope == "team" else None,
            manager_slack_id=manager_slack_id,
            employee_slack_id=employee_slack_id,
            frequency=frequency,
            weekday=weekday,
            local_time=f"{int(hh):02d}:{int(mm):02d}",
            anchor_date=anchor_date,
        )


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


# --- HR: cadences from Slack (`/hr cadence …`) ------------------------------------------------------------

_FREQUENCIES = {
    **dict.fromkeys(("weekly", "week", "每周", "每週", "周", "每星期"), "weekly"),
    **dict.fromkeys(("biweekly", "bi-weekly", "fortnightly", "每两周", "每兩週", "双周", "隔周", "两周"), "biweekly"),
    **dict.fromkeys(("monthly", "month", "每月", "每个月", "月"), "monthly"),
}
_WEEKDAY_WORDS: dict[str, int] = {}
for _i, _names in enumerate(
    [
        ("mon", "monday", "一"),
        ("tue", "tues", "tuesday", "二"),
        ("wed", "weds", "wednesday", "三"),
        ("thu", "thur", "thurs", "thursday", "四"),
        ("fri", "friday", "五"),
        ("sat", "saturday", "六"),
        ("sun", "sunday", "日", "天"),
    ]
):
    for _n in _names:
        if len(_n) == 1:  # Chinese: 周二, 星期二, 礼拜二, 週二
            _WEEKDAY_WORDS.update(dict.fromkeys((f"周{_n}", f"週{_n}", f"星期{_n}", f"礼拜{_n}", f"禮拜{_n}"), _i))
        else:
            _WEEKDAY_WORDS[_n] = _i
_TIME = re.compile(r"^([01]?\d|2[0-3])[:：]([0-5]\d)$")
_RESET = {"reset", "default", "重置", "默认", "默認"}
_PERSON = re.compile(r"^<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class CadenceSpec:
    """What `/hr cadence` was asked to set: a frequency, and optionally a weekday (Monday=0) and a local time.
    `reset` removes the team's or pair's own cadence (back to the team's, or the default)."""

    frequency: str = "weekly"
    weekday: int | None = None
    at: time | None = None
    reset: bool = False


def parse_cadence_spec(words: list[str]) -> CadenceSpec:
    """`weekly|biweekly|monthly [weekday] [HH:MM]` (weekday and time in either order), or `reset`; weekdays and
    frequencies in English or Chinese ('tue', 'Tuesday', '周二', '星期二'; '每两周'). The time is the manager's
    local time and must lie in working hours; the weekday must be a working day.

    Raises:
        UserError: malformed or outside working hours; `.text(locale)` says which part and why.
    """
    if len(words) == 1 and words[0].lower() in _RESET:
        return CadenceSpec(reset=True)
    if not words:
        raise UserError("scheduler_cadence_usage")
    words = _split_glued(words)
    frequency = _FREQUENCIES.get(words[0].lower())
    if frequency is None:
        raise UserError("scheduler_cadence_bad_frequency", text=words[0][:40])
    weekday: int | None = None
    at: time | None = None
    for word in words[1:]:
        low = word.lower().rstrip(",.，")
        if low in _WEEKDAY_WORDS:
            if weekday is not None:
                raise UserError("scheduler_cadence_usage")
            weekday = _WEEKDAY_WORDS[low]
            if weekday not in DEFAULT_WINDOW.weekdays:
                raise UserError("scheduler_cadence_weekend", text=word[:40])
        elif m := _TIME.match(low):
            if at is not None:
                raise UserError("scheduler_cadence_usage")
            at = time(int(m.group(1)), int(m.group(2)))
            if not DEFAULT_WINDOW.start <= at < DEFAULT_WINDOW.end:
                raise UserError(
                    "scheduler_cadence_outside_hours",
                    text=word[:40],
                    start=DEFAULT_WINDOW.start.strftime("%H:%M"),
                    end=DEFAULT_WINDOW.end.strftime("%H:%M"),
                )
        elif ":" in low or "：" in low or low[:1].isdigit():
            raise UserError("scheduler_cadence_bad_time", text=word[:40])
        else:
            raise UserError("scheduler_cadence_bad_weekday", text=word[:40])
    return CadenceSpec(frequency, weekday, at)


def _split_glued(words: list[str]) -> list[str]:
    """Chinese writes the frequency and the weekday as one word: '每周二' -> ['每周', '周二'], '每两周四' ->
    ['每两周', '周四']."""
    first = words[0].lower()
    if first in _FREQUENCIES:
        return words
    for prefix in sorted((f for f in _FREQUENCIES if not f.isascii()), key=len, reverse=True):
        rest = first[len(prefix) :]
        if first.startswith(prefix) and rest:
            day = rest if rest in _WEEKDAY_WORDS else f"周{rest}"
            if day in _WEEKDAY_WORDS:
                return [prefix, day, *words[1:]]
    return words


@dataclass(frozen=True)
class TeamCadence:
    team: str
    rule: Rule
    own: bool  # the team has its own cadence (else the default)
    pairs: int  # pairs in the team following the team's cadence
    overrides: list[tuple[str, str, Rule]] = field(default_factory=list)  # (manager, employee, rule)


@dataclass(frozen=True)
class PairCadence:
    manager_slack_id: str
    employee_slack_id: str
    rule: Rule
    source: str  # pair | team | default
    team: str | None
    next_at: datetime | None = None


def _canonical_team(session: Any, name: str) -> str:
    teams = sorted({p.team for p in list_people(session=session) if p.team})
    match = next((team for team in teams if team.lower() == name.strip().lower()), None)
    if match is None or not name.strip():
        raise UserError("scheduler_hr_unknown_team", team=name.strip()[:40], teams=", ".join(teams) or "–")
    return match


def resolve_person_token(session: Any, token: str) -> Person:
    """`<@U123|name>`, `U123`, or `@name` / `name` (a unique name or e-mail local part) to a Person; UserError
    (scheduler_cadence_unknown_person) otherwise."""
    raw = token.strip()
    m = _PERSON.match(raw)
    sid = m.group(1) if m else raw if re.fullmatch(r"[UW][A-Z0-9]{2,20}", raw) else None
    if sid:
        person = get_person(session=session, slack_id=sid)
        if person is not None and not person.forgotten:
            return person
    else:
        low = raw.lstrip("@").lower()
        hits = [
            p
            for p in list_people(session=session)
            if low and ((p.name or "").lower() == low or (p.email or "").split("@")[0].lower() == low)
        ]
        if len(hits) == 1:
            return hits[0]
    raise UserError("scheduler_cadence_unknown_person", text=raw[:60])


def _rule_from(spec: CadenceSpec, current: Rule, today: date) -> Rule:
    weekday = current.weekday if spec.weekday is None else spec.weekday
    at = spec.at or current.at
    anchor = None
    if spec.frequency == "biweekly":  # the first check-in is the coming `weekday` (this week's, if still ahead)
        anchor = today + timedelta(days=(weekday - today.weekday()) % 7)
    return Rule(spec.frequency, weekday, at, anchor)


def _team_rule(cadences: list[CadenceView], team: str | None) -> tuple[Rule, bool]:
    low = (team or "").lower()
    own = next((c.rule for c in cadences if c.scope == "team" and (c.team or "").lower() == low), None)
    return (own, True) if own is not None else (DEFAULT_RULE, False)


def _store(
    session: Any,
    *,
    scope: str,
    rule: Rule,
    team: str | None = None,
    manager: str | None = None,
    employee: str | None = None,
) -> None:
    repo.upsert_cadence(
        session=session,
        scope=scope,
        team=team,
        manager_slack_id=manager,
        employee_slack_id=employee,
        frequency=rule.frequency,
        weekday=rule.weekday,
        local_time=rule.at.strftime("%H:%M"),
        anchor_date=rule.anchor,
    )


def _drop(
    session: Any, *, scope: str, team: str | None = None, manager: str | None = None, employee: str | None = None
) -> None:
    q = select(Cadence).where(Cadence.scope == scope)
    if scope == "pair":
        q = q.where(Cadence.manager_slack_id == manager, Cadence.employee_slack_id == employee)
    for row in session.exec(q):
        if scope == "pair" or (row.team or "").lower() == (team or "").lower():  # any spelling of the team
            session.delete(row)
    session.flush()


def _supersede_past_slots(session: Any, *, now: datetime, employees: set[str]) -> None:
    """A new cadence starts now: its slots already past (which the planner would otherwise send late, as after
    downtime) are marked "superseded" for the pairs of `employees`, so changing a cadence never sends a nudge
    for a time before the change."""
    cadences = repo.cadence_views(session=session)
    hol = repo.holiday_dates(session=session)
    for pair in build_pairs(repo.person_views(session=session), cadences):
        if pair.employee.slack_id not in employees:
            continue
        _, slot, _ = neighbours(pair, now, hol)
        if slot is None or now - slot > LATE_GRACE:
            continue
        nudge = repo.get_or_create_nudge(
            session=session,
            manager_slack_id=pair.manager.slack_id,
            employee_slack_id=pair.employee.slack_id,
            slot_at=slot,
        )
        if nudge.status == "due" and nudge.reminders_sent == 0:
            nudge.status = "superseded"
            session.add(nudge)


def _admin_today(services: Services, admin: Any) -> date:
    return services.now().astimezone(zone(admin.timezone or "UTC")).date()


def team_cadence(services: Services, *, admin_slack_id: str, team: str) -> TeamCadence:
    """A team's cadence (its own or the default) and the pairs of the team with a cadence of their own."""
    with session_scope(services.engine) as session:
        require_hr_admin(session=session, slack_id=admin_slack_id)
        name = _canonical_team(session, team)
        cadences = repo.cadence_views(session=session)
        pairs = [
            p
            for p in build_pairs(repo.person_views(session=session), cadences)
            if (p.employee.team or "").lower() == name.lower()
        ]
    rule, own = _team_rule(cadences, name)
    custom = {(c.manager_slack_id, c.employee_slack_id): c.rule for c in cadences if c.scope == "pair"}
    overrides = [
        (p.manager.slack_id, p.employee.slack_id, custom[(p.manager.slack_id, p.employee.slack_id)])
        for p in pairs
        if (p.manager.slack_id, p.employee.slack_id) in custom
    ]
    return TeamCadence(name, rule, own, len(pairs) - len(overrides), overrides)


def all_team_cadences(services: Services, *, admin_slack_id: str) -> list[TeamCadence]:
    """`team_cadence` for every team on file, by name."""
    with session_scope(services.engine) as session:
        require_hr_admin(session=session, slack_id=admin_slack_id)
        teams = sorted({p.team for p in list_people(session=session) if p.team})
    return [team_cadence(services, admin_slack_id=admin_slack_id, team=name) for name in teams]


def set_team_cadence(services: Services, *, admin_slack_id: str, team: str, spec: CadenceSpec) -> TeamCadence:
    """Set (or with `spec.reset`, remove) a team's cadence; omitted weekday/time keep the team's current ones.

    Raises:
        UserError: not an HR admin, or an unknown team (nothing is changed).
    """
    with session_scope(services.engine) as session:
        admin = require_hr_admin(session=session, slack_id=admin_slack_id)
        name = _canonical_team(session, team)
        current, _ = _team_rule(repo.cadence_views(session=session), name)
        _drop(session, scope="team", team=name)  # one row per team, whatever spelling it was stored under
        if not spec.reset:
            _store(session, scope="team", team=name, rule=_rule_from(spec, current, _admin_today(services, admin)))
        members = {p.slack_id for p in list_people(session=session) if (p.team or "").lower() == name.lower()}
        _supersede_past_slots(session, now=services.now(), employees=members)
    return team_cadence(services, admin_slack_id=admin_slack_id, team=name)


def pair_cadence(services: Services, *, admin_slack_id: str, person: str) -> PairCadence:
    """The cadence of `person` (a mention, id or name) with their manager, where it comes from, and the next
    check-in (pauses and holidays taken into account)."""
    now = services.now()
    with session_scope(services.engine) as session:
        require_hr_admin(session=session, slack_id=admin_slack_id)
        emp = resolve_person_token(session, person)
        if not emp.manager_slack_id:
            raise UserError("scheduler_cadence_no_manager", person=emp.slack_id)
        cadences = repo.cadence_views(session=session)
        views = [v for v in repo.person_views(session=session) if v.slack_id in (emp.slack_id, emp.manager_slack_id)]
        hol = repo.holiday_dates(session=session)
    pair = next((p for p in build_pairs(views, cadences) if p.employee.slack_id == emp.slack_id), None)
    if pair is None:  # the manager left (forgotten)
        raise UserError("scheduler_cadence_no_manager", person=emp.slack_id)
    own = any(
        c.scope == "pair" and (c.manager_slack_id, c.employee_slack_id) == (pair.manager.slack_id, emp.slack_id)
        for c in cadences
    )
    source = "pair" if own else "team" if _team_rule(cadences, emp.team)[1] else "default"
    try:
        nxt: datetime | None = next_slot(pair, now, hol)
    except ValueError:  # paused beyond the planning horizon
        nxt = None
    return PairCadence(pair.manager.slack_id, emp.slack_id, pair.rule, source, emp.team, nxt)


def set_pair_cadence(services: Services, *, admin_slack_id: str, person: str, spec: CadenceSpec) -> PairCadence:
    """Set (or with `spec.reset`, remove) the cadence of `person` with their manager; omitted weekday/time keep the
    pair's current ones.

    Raises:
        UserError: not an HR admin, an unknown person, or one without a manager on file (nothing is changed).
    """
    current = pair_cadence(services, admin_slack_id=admin_slack_id, person=person)  # validates everything first
    with session_scope(services.engine) as session:
        admin = require_hr_admin(session=session, slack_id=admin_slack_id)
        keys = {"manager": current.manager_slack_id, "employee": current.employee_slack_id}
        if spec.reset:
            _drop(session, scope="pair", **keys)
        else:
            _store(session, scope="pair", rule=_rule_from(spec, current.rule, _admin_today(services, admin)), **keys)
        _supersede_past_slots(session, now=services.now(), employees={current.employee_slack_id})
    return pair_cadence(services, admin_slack_id=admin_slack_id, person=current.employee_slack_id)


def rule_text(rule: Rule, locale: str | None) -> str:
    """'weekly on Tuesday at 10:00' / '每周二 10:00' (the manager's local time)."""
    names = t("scheduler_weekday_names", locale).split(",")
    key = f"scheduler_rule_{rule.frequency}"
    if rule.frequency == "monthly" and rule.anchor is not None:
        return t("scheduler_rule_monthly_day", locale, day=rule.anchor.day, time=rule.at.strftime("%H:%M"))
    return t(key, locale, weekday=names[rule.weekday].strip(), time=rule.at.strftime("%H:%M"))


def team_cadence_text(info: TeamCadence, *, locale: str | None, changed: bool = False) -> str:
    loc = norm_locale(locale)
    key = "scheduler_cadence_team_set" if changed else "scheduler_cadence_team_show"
    lines = [
        t(
            key,
            loc,
            team=info.team,
            rule=rule_text(info.rule, loc),
            source=t("scheduler_cadence_source_team" if info.own else "scheduler_cadence_source_default", loc),
            pairs=info.pairs,
        )
    ]
    if info.overrides:
        lines.append(t("scheduler_cadence_overrides", loc, count=len(info.overrides)))
        lines += [
            t("scheduler_cadence_override_line", loc, employee=e, manager=m, rule=rule_text(r, loc))
            for m, e, r in info.overrides
        ]
    return "\n".join(lines)


def pair_cadence_text(info: PairCadence, *, tz: str, locale: str | None, changed: bool = False) -> str:
    loc = norm_locale(locale)
    source = {
        "pair": t("scheduler_cadence_source_pair", loc),
        "team": t("scheduler_cadence_source_of_team", loc, team=info.team or "–"),
        "default": t("scheduler_cadence_source_default", loc),
    }[info.source]
    key = "scheduler_cadence_pair_set" if changed else "scheduler_cadence_pair_show"
    when = fmt_dt(info.next_at, tz, loc) if info.next_at else "–"
    return t(
        key,
        loc,
        employee=info.employee_slack_id,
        manager=info.manager_slack_id,
        rule=rule_text(info.rule, loc),
        source=source,
        next=when,
    )
