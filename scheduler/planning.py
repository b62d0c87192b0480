"""Who is due a nudge, when: a pure function of people, cadences, pauses, holidays, check-ins and `now`.

Rules (see README, "Nudges"):
- A pair's slot is the cadence's wall time in the *manager's* zone, moved into working hours (09:00–18:00 on
  weekdays that are not company holidays). The manager's nudge goes out at the slot; the employee's reflection
  prompt on the employee's previous working day at the same wall time in the employee's zone.
- At most two messages per slot: the nudge (reminder 1) and one reminder a day later (or when a snooze ends),
  never in the same day as the first; then silence until the next slot. None while either person is paused,
  after "Skip this time", or once a check-in of the pair counts for the slot (started or finished since halfway
  between the previous slot and this one).
- A slot already past when its cadence was set is "superseded" (see `bot.cadence`): never sent late.
- A message missed during downtime is sent once, late (within LATE_GRACE, and while the slot is still the
  current one; older ones are dropped rather than sent out of context), and only inside the recipient's working
  hours (a prompt missed on Monday afternoon is not sent at 21:00): delivery keys are stable per (pair, slot,
  reminder), so running the plan twice enqueues nothing new.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from scheduler.slots import (
    DEFAULT_RULE,
    DEFAULT_WINDOW,
    Rule,
    WorkWindow,
    clamp_time,
    local_instant,
    previous_working_day,
    slots_around,
    to_working,
    zone,
)

MAX_REMINDERS = 2
LATE_GRACE = timedelta(days=2)  # a message missed during downtime still goes out (late) within this delay
LATE_AFTER = timedelta(minutes=15)  # later than this, a missed message waits for the recipient's working hours


@dataclass(frozen=True)
class PersonView:
    slack_id: str
    tz: str = "UTC"
    paused_until: datetime | None = None
    manager_slack_id: str | None = None
    team: str | None = None

    def paused_at(self, when: datetime) -> bool:
        return self.paused_until is not None and when < self.paused_until


@dataclass(frozen=True)
class CadenceView:
    """A cadence row: scope "team" (with `team`) or "pair" (with both slack ids)."""

    rule: Rule
    scope: str = "team"
    team: str | None = None
    manager_slack_id: str | None = None
    employee_slack_id: str | None = None


@dataclass(frozen=True)
class Pair:
    manager: PersonView
    employee: PersonView
    rule: Rule = DEFAULT_RULE


@dataclass(frozen=True)
class NudgeState:
    """What the store knows about a pair's slot."""

    status: str = "due"  # due | snoozed | skipped | done
    reminders_sent: int = 0
    last_sent_at: datetime | None = None
    snoozed_until: datetime | None = None


@dataclass(frozen=True)
class Due:
    """One message to enqueue. `kind`: nudge (to the manager) or prompt (reflection, to the employee)."""

    kind: str
    recipient: str
    manager: str
    employee: str
    slot_at: datetime
    send_at: datetime
    reminder: int
    key: str
    next_reminder_at: datetime | None = None  # when the follow-up would come; None after the last one
    next_slot_at: datetime | None = None


def build_pairs(people: Iterable[PersonView], cadences: Iterable[CadenceView]) -> list[Pair]:
    """Every (manager, report) pair whose both people are known, with its cadence: pair > team > default."""
    by_id = {p.slack_id: p for p in people}
    team_rule: dict[str, Rule] = {}
    pair_rule: dict[tuple[str, str], Rule] = {}
    for c in cadences:
        if c.scope == "pair" and c.manager_slack_id and c.employee_slack_id:
            pair_rule[(c.manager_slack_id, c.employee_slack_id)] = c.rule
        elif c.team:
            team_rule[c.team.lower()] = c.rule  # team names match case-insensitively, as in /hr audiences
    pairs = []
    for emp in by_id.values():
        mgr = by_id.get(emp.manager_slack_id or "")
        if mgr is None:
            continue
        rule = pair_rule.get((mgr.slack_id, emp.slack_id)) or team_rule.get((emp.team or "").lower(), DEFAULT_RULE)
        pairs.append(Pair(mgr, emp, rule))
    return pairs


def slot_key(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%MZ")


def _slots(pair: Pair, now: datetime, holidays: frozenset[date], window: WorkWindow) -> tuple[datetime, ...]:
    tz = pair.manager.tz
    return slots_around(pair.rule, tz, now.astimezone(zone(tz)).date(), holidays, window, pair.employee.tz)


def neighbours(
    pair: Pair, now: datetime, holidays: frozenset[date] = frozenset(), window: WorkWindow = DEFAULT_WINDOW
) -> tuple[datetime | None, datetime | None, datetime]:
    """(previous slot, current slot = last at or before now, next slot after now)."""
    slots = _slots(pair, now, holidays, window)
    i = bisect.bisect_right(slots, now)
    return (slots[i - 2] if i >= 2 else None), (slots[i - 1] if i >= 1 else None), slots[i]


def next_slot(
    pair: Pair, after: datetime, holidays: frozenset[date] = frozenset(), window: WorkWindow = DEFAULT_WINDOW
) -> datetime:
    """The first slot of the pair at or after `after`, skipping slots while either person is paused."""
    when = after
    for _ in range(60):
        slots = _slots(Pair(pair.manager, pair.employee, pair.rule), when, holidays, window)
        i = bisect.bisect_left(slots, when)
        slot = slots[i]
        if not (pair.manager.paused_at(slot) or pair.employee.paused_at(slot)):
            return slot
        resume = max(p.paused_until for p in (pair.manager, pair.employee) if p.paused_at(slot))  # type: ignore[type-var]
        when = max(resume, slot + timedelta(minutes=1))  # type: ignore[arg-type]
    raise ValueError("no slot within the planning horizon")


def prompt_instant(pair: Pair, slot: datetime, holidays: frozenset[date], window: WorkWindow) -> datetime:
    """The employee's reflection prompt: their previous working day before the slot, at the cadence's wall time."""
    tz = pair.employee.tz
    day = previous_working_day(slot.astimezone(zone(tz)).date(), holidays, window)
    return local_instant(day, clamp_time(pair.rule.at, window), tz)


def happened(checkins: Sequence[datetime], prev: datetime | None, slot: datetime, period: timedelta) -> bool:
    """A check-in counts for `slot` when it happened after halfway between the previous slot and this one."""
    since = slot - ((slot - prev) / 2 if prev else period / 2)
    return any(at >= since for at in checkins)


_PERIODS = {"weekly": timedelta(days=7), "biweekly": timedelta(days=14)}
_MONTH = timedelta(days=30)
_DAY = timedelta(days=1)
_FRESH = NudgeState()


class _Pass:
    """One planning pass at `now`: what depends only on zones, cadences and `now` (a pair's slots, the reflection
    prompt's instant, the follow-up's) is computed once per zone and cadence and shared by every pair that has
    them; `plan_pair` is a pass over one pair."""

    def __init__(self, now: datetime, holidays: frozenset[date], window: WorkWindow) -> None:
        self.now, self.holidays, self.window = now, holidays, window
        self._around: dict[tuple[Rule, str, str], tuple[datetime | None, datetime | None, datetime]] = {}
        self._prompt: dict[tuple[datetime, time, str], datetime] = {}
        self._prompt_on: dict[tuple[date, time, str], datetime] = {}
        self._follow: dict[tuple[datetime, str], datetime] = {}
        self._keys: dict[datetime, str] = {}

    def neighbours(self, rule: Rule, tz: str, other: str) -> tuple[datetime | None, datetime | None, datetime]:
        hit = self._around.get((rule, tz, other))
        if hit is None:
            slots = slots_around(rule, tz, self.now.astimezone(zone(tz)).date(), self.holidays, self.window, other)
            i = bisect.bisect_right(slots, self.now)
            hit = self._around[(rule, tz, other)] = (
                (slots[i - 2] if i >= 2 else None),
                (slots[i - 1] if i >= 1 else None),
                slots[i],
            )
        return hit

    def prompt_at(self, nxt: datetime, at: time, tz: str) -> datetime:
        hit = self._prompt.get((nxt, at, tz))
        if hit is None:  # the employee's local date of the slot, then (shared by many slots) the prompt on that date
            day = nxt.astimezone(zone(tz)).date()
            hit = self._prompt_on.get((day, at, tz))
            if hit is None:
                before = previous_working_day(day, self.holidays, self.window)
                hit = self._prompt_on[(day, at, tz)] = local_instant(before, clamp_time(at, self.window), tz)
            self._prompt[(nxt, at, tz)] = hit
        return hit

    def after_hours(self, due_at: datetime, tz: str) -> bool:
        """A message due at `due_at` that is late (downtime) and would reach the recipient outside working hours:
        it waits for the next working time (still within LATE_GRACE, else it is dropped as for any late one)."""
        return self.now - due_at > LATE_AFTER and to_working(self.now, tz, self.holidays, self.window) > self.now

    def follow_up(self, send_at: datetime, tz: str) -> datetime:
        hit = self._follow.get((send_at, tz))
        if hit is None:
            hit = self._follow[(send_at, tz)] = to_working(
                max(self.now, send_at) + _DAY, tz, self.holidays, self.window
            )
        return hit

    def key(self, when: datetime) -> str:
        hit = self._keys.get(when)
        if hit is None:
            hit = self._keys[when] = slot_key(when)
        return hit

    def pair(self, pair: Pair, checkins: Sequence[datetime], states: Mapping[datetime, NudgeState] | None) -> list[Due]:
        now, mgr, emp, rule = self.now, pair.manager, pair.employee, pair.rule
        prev, slot, nxt = self.neighbours(rule, mgr.tz, emp.tz)
        mp, ep = mgr.paused_until, emp.paused_until
        period = _PERIODS.get(rule.frequency, _MONTH)
        out: list[Due] = []
        # The reflection prompt for the coming slot.
        if (ep is None or now >= ep) and (mp is None or nxt >= mp) and (ep is None or nxt >= ep):
            prompt_at = self.prompt_at(nxt, rule.at, emp.tz)
            if (
                prompt_at <= now
                and not self.after_hours(prompt_at, emp.tz)
                and not (slot is not None and checkins and happened(checkins, slot, nxt, period))
            ):
                out.append(
                    Due(
                        "prompt",
                        emp.slack_id,
                        mgr.slack_id,
                        emp.slack_id,
                        nxt,
                        prompt_at,
                        1,
                        f"prompt:{mgr.slack_id}:{emp.slack_id}:{self.key(nxt)}",
                        next_slot_at=nxt,
                    )
                )
        if slot is None:
            return out
        if mp is not None and (slot < mp or now < mp) or ep is not None and (slot < ep or now < ep):
            return out
        st = (states.get(slot) if states else None) or _FRESH
        if st.status in ("skipped", "done", "superseded") or st.reminders_sent >= MAX_REMINDERS:
            return out
        if checkins and happened(checkins, prev, slot, period):
            return out
        tz = mgr.tz
        if st.reminders_sent == 0:
            reminder, send_at = 1, slot
        else:
            base = max(slot, st.last_sent_at or slot) + _DAY
            if st.snoozed_until is not None:
                base = max(base - _DAY, st.snoozed_until)
            reminder, send_at = 2, to_working(base, tz, self.holidays, self.window)
        if send_at > now or send_at >= nxt or now - send_at > LATE_GRACE or self.after_hours(send_at, tz):
            return out
        follow_up = None
        if reminder < MAX_REMINDERS:
            follow_up = self.follow_up(send_at, tz)
            follow_up = follow_up if follow_up < nxt else None
        out.append(
            Due(
                "nudge",
                mgr.slack_id,
                mgr.slack_id,
                emp.slack_id,
                slot,
                send_at,
                reminder,
                f"nudge:{mgr.slack_id}:{emp.slack_id}:{self.key(slot)}:{reminder}",
                follow_up,
                nxt,
            )
        )
        return out


def plan_pair(
    pair: Pair,
    *,
    now: datetime,
    holidays: frozenset[date] = frozenset(),
    checkins: Sequence[datetime] = (),
    states: Mapping[datetime, NudgeState] | None = None,
    window: WorkWindow = DEFAULT_WINDOW,
) -> list[Due]:
    """The messages due for one pair at `now` (at most one nudge and one prompt)."""
    return _Pass(now, holidays, window).pair(pair, checkins, states)


def plan(
    pairs: Iterable[Pair],
    *,
    now: datetime,
    holidays: frozenset[date] = frozenset(),
    checkins: Mapping[tuple[str, str], Sequence[datetime]] | None = None,
    states: Mapping[tuple[str, str], Mapping[datetime, NudgeState]] | None = None,
    window: WorkWindow = DEFAULT_WINDOW,
) -> list[Due]:
    """Every message due at `now` for `pairs` (see the module docstring for the rules)."""
    checkins = checkins or {}
    states = states or {}
    one = _Pass(now, holidays, window).pair
    out: list[Due] = []
    for pair in pairs:
        k = (pair.manager.slack_id, pair.employee.slack_id)
        found = one(pair, checkins.get(k, ()), states.get(k))
        if found:
            out.extend(found)
    return out


def parse_local_time(text: str) -> time:
    """'10:00' -> time(10, 0); ValueError otherwise."""
    hh, mm = text.strip().split(":")
    return time(int(hh), int(mm))
