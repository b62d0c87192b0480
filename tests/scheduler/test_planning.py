"""Planning with fixed clocks: DST in both directions, month ends, working hours, holidays, pauses, reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.planning import (
    CadenceView,
    NudgeState,
    Pair,
    PersonView,
    build_pairs,
    next_slot,
    plan_pair,
    prompt_instant,
)
from scheduler.slots import DEFAULT_RULE, DEFAULT_WINDOW, Rule


def pair(tz: str = "Europe/Berlin", rule: Rule = DEFAULT_RULE, emp_tz: str | None = None, **kw: object) -> Pair:
    return Pair(
        PersonView("UM", tz, kw.get("mgr_pause")), PersonView("UE", emp_tz or tz, kw.get("emp_pause"), "UM"), rule
    )


def local(dt: datetime, tz: str) -> datetime:
    return dt.astimezone(ZoneInfo(tz))


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


# DST changes: (zone, a date one week before the change, the change's direction)
DST = [
    ("Europe/Berlin", utc(2024, 3, 25, 12), "spring"),  # 31 Mar 2024
    ("Europe/Berlin", utc(2024, 10, 21, 12), "autumn"),  # 27 Oct 2024
    ("America/New_York", utc(2024, 3, 4, 12), "spring"),  # 10 Mar 2024
    ("America/New_York", utc(2024, 10, 28, 12), "autumn"),  # 3 Nov 2024
    ("Australia/Sydney", utc(2024, 4, 1, 2), "autumn"),  # 7 Apr 2024 (southern autumn: clocks back)
    ("Australia/Sydney", utc(2024, 9, 30, 2), "spring"),  # 6 Oct 2024
    ("Asia/Shanghai", utc(2024, 3, 25, 2), "none"),
    ("Asia/Kolkata", utc(2024, 10, 21, 2), "none"),
]


@pytest.mark.parametrize(("tz", "start", "direction"), DST)
def test_weekly_slot_keeps_local_wall_time_across_dst(tz: str, start: datetime, direction: str) -> None:
    p = pair(tz)
    first = next_slot(p, start)
    second = next_slot(p, first + timedelta(minutes=1))
    third = next_slot(p, second + timedelta(minutes=1))
    for s in (first, second, third):
        assert local(s, tz).time() == time(10, 0)
        assert local(s, tz).weekday() == 1
    offsets = {local(s, tz).utcoffset() for s in (first, second, third)}
    assert (len(offsets) > 1) == (direction != "none")  # the UTC instant moves, the wall time does not


def test_kolkata_half_hour_offset() -> None:
    s = next_slot(pair("Asia/Kolkata"), utc(2024, 6, 3))
    assert s == utc(2024, 6, 4, 4, 30)


def test_berlin_autumn_exact_instants() -> None:
    p = pair("Europe/Berlin")
    assert next_slot(p, utc(2024, 10, 21)) == utc(2024, 10, 22, 8)  # CEST
    assert next_slot(p, utc(2024, 10, 23)) == utc(2024, 10, 29, 9)  # CET


def _series(p: Pair, start: datetime, n: int) -> list[date]:
    out, when = [], start
    for _ in range(n):
        slot = next_slot(p, when)
        out.append(slot.date())
        when = slot + timedelta(minutes=1)
    return out


def test_monthly_on_the_31st_clamps_to_month_end() -> None:
    p = pair("UTC", Rule("monthly", 0, time(10), date(2024, 1, 31)))
    # Feb 2024 is a leap month (29th); 31 Mar is a Sunday -> Mon 1 Apr; 30 Jun a Sunday -> Mon 1 Jul
    assert _series(p, utc(2024, 1, 2), 7) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 4, 1),
        date(2024, 4, 30),
        date(2024, 5, 31),
        date(2024, 7, 1),
        date(2024, 7, 31),
    ]


@pytest.mark.parametrize("anchor_day", [29, 30, 31])
def test_monthly_29th_to_31st_in_a_short_february(anchor_day: int) -> None:
    p = pair("Asia/Shanghai", Rule("monthly", 0, time(10), date(2024, 1, anchor_day)))
    s = next_slot(p, utc(2025, 2, 1))
    assert local(s, "Asia/Shanghai").date() == date(2025, 2, 28) and local(s, "Asia/Shanghai").hour == 10


def test_monthly_on_31st_falls_on_weekend_moves_to_monday() -> None:
    p = pair("UTC", Rule("monthly", 0, time(10), date(2024, 1, 31)))
    s = next_slot(p, utc(2024, 8, 1))  # 31 Aug 2024 is a Saturday
    assert s == utc(2024, 9, 2, 10)


def test_biweekly_alternates_weeks() -> None:
    p = pair("UTC", Rule("biweekly", 1, time(10), date(2024, 1, 2)))
    a = next_slot(p, utc(2024, 1, 1))
    b = next_slot(p, a + timedelta(minutes=1))
    assert a == utc(2024, 1, 2, 10) and b - a == timedelta(days=14)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (time(7, 30), utc(2024, 6, 4, 9)),  # before hours: same day at 09:00
        (time(18, 0), utc(2024, 6, 5, 9)),  # at/after 18:00: next working day 09:00
        (time(12, 15), utc(2024, 6, 4, 12, 15)),
    ],
)
def test_outside_working_hours_moves_to_next_window(at: time, expected: datetime) -> None:
    assert next_slot(pair("UTC", Rule("weekly", 1, at)), utc(2024, 6, 3)) == expected


def test_weekend_cadence_moves_to_monday_same_time() -> None:
    assert next_slot(pair("UTC", Rule("weekly", 5, time(11))), utc(2024, 6, 4)) == utc(2024, 6, 10, 11)


def test_holiday_moves_to_next_working_day() -> None:
    hol = frozenset({date(2024, 6, 4)})
    assert next_slot(pair("UTC"), utc(2024, 6, 3), hol) == utc(2024, 6, 5, 10)


def test_pause_skips_slots_until_it_ends() -> None:
    p = pair("UTC", emp_pause=utc(2024, 6, 20))
    assert next_slot(p, utc(2024, 6, 3)) == utc(2024, 6, 25, 10)


def test_prompt_is_previous_working_day_in_employee_zone() -> None:
    p = pair("Europe/Berlin", emp_tz="America/New_York")
    slot = next_slot(p, utc(2024, 6, 3))  # Tue 4 Jun 10:00 Berlin
    prompt = prompt_instant(p, slot, frozenset(), DEFAULT_WINDOW)
    assert local(prompt, "America/New_York").date() == date(2024, 6, 3)
    assert local(prompt, "America/New_York").time() == time(10)
    monday_slot = next_slot(pair("UTC", Rule("weekly", 0)), utc(2024, 6, 4))
    assert prompt_instant(pair("UTC", Rule("weekly", 0)), monday_slot, frozenset(), DEFAULT_WINDOW).weekday() == 4


# --- the plan: what is due, exactly once, at most two reminders ------------------------------------------------

SLOT = utc(2024, 6, 4, 10)  # Tue 10:00 UTC


def test_nudge_due_at_slot_and_not_before() -> None:
    p = pair("UTC")
    assert not [d for d in plan_pair(p, now=SLOT - timedelta(minutes=1)) if d.kind == "nudge"]
    due = [d for d in plan_pair(p, now=SLOT + timedelta(minutes=1)) if d.kind == "nudge"]
    assert len(due) == 1 and due[0].reminder == 1 and due[0].recipient == "UM"
    assert due[0].next_reminder_at == utc(2024, 6, 5, 10, 1)


def test_second_reminder_a_day_later_then_silence() -> None:
    p = pair("UTC")
    st1 = {SLOT: NudgeState("due", 1, SLOT)}
    assert not [d for d in plan_pair(p, now=SLOT + timedelta(hours=23), states=st1) if d.kind == "nudge"]
    due = [d for d in plan_pair(p, now=SLOT + timedelta(days=1), states=st1) if d.kind == "nudge"]
    assert len(due) == 1 and due[0].reminder == 2 and due[0].next_reminder_at is None
    st2 = {SLOT: NudgeState("due", 2, SLOT + timedelta(days=1))}
    for h in (25, 48, 72, 120):
        assert not [d for d in plan_pair(p, now=SLOT + timedelta(hours=h), states=st2) if d.kind == "nudge"]


def test_fresh_install_does_not_nudge_about_a_stale_slot() -> None:
    assert not [d for d in plan_pair(pair("UTC"), now=SLOT + timedelta(days=4)) if d.kind == "nudge"]


def test_late_after_downtime_sends_first_reminder_once() -> None:
    p = pair("UTC")
    due = [d for d in plan_pair(p, now=SLOT + timedelta(days=1, hours=3)) if d.kind == "nudge"]
    assert len(due) == 1 and due[0].reminder == 1  # the missed one, late; not the follow-up on top
    again = [d for d in plan_pair(p, now=SLOT + timedelta(days=1, hours=4)) if d.kind == "nudge"]
    assert again[0].key == due[0].key  # the same key: the store's unique key makes a second run harmless


def test_a_late_message_waits_for_the_recipients_working_hours() -> None:
    p = pair("UTC", emp_tz="America/New_York")
    slot = utc(2024, 6, 4, 13)  # 10:00 UTC is 06:00 in New York: moved to 09:00 there, 13:00 for the manager
    # back up at 21:00 the evening after the slot: the missed nudge waits for the manager's morning, then goes out
    assert not [d for d in plan_pair(p, now=utc(2024, 6, 4, 21)) if d.kind == "nudge"]
    morning = [d for d in plan_pair(p, now=utc(2024, 6, 5, 9)) if d.kind == "nudge"]
    assert len(morning) == 1 and morning[0].reminder == 1 and morning[0].slot_at == slot
    # on time (the tick a minute after the slot) it is sent whatever the clock: only late ones wait
    assert [d for d in plan_pair(p, now=slot + timedelta(minutes=1)) if d.kind == "nudge"]


def test_no_nudge_when_checkin_happened_or_skipped_or_paused() -> None:
    p = pair("UTC")
    now = SLOT + timedelta(minutes=5)
    assert not [d for d in plan_pair(p, now=now, checkins=[SLOT - timedelta(days=1)]) if d.kind == "nudge"]
    assert [d for d in plan_pair(p, now=now, checkins=[SLOT - timedelta(days=6)]) if d.kind == "nudge"]
    assert not [d for d in plan_pair(p, now=now, states={SLOT: NudgeState("skipped")}) if d.kind == "nudge"]
    assert not plan_pair(pair("UTC", mgr_pause=SLOT + timedelta(days=3)), now=now)


def test_snooze_reminds_when_the_snooze_ends() -> None:
    p = pair("UTC")
    until = SLOT + timedelta(days=1, hours=2)
    st = {SLOT: NudgeState("snoozed", 1, SLOT, until)}
    assert not [d for d in plan_pair(p, now=until - timedelta(minutes=1), states=st) if d.kind == "nudge"]
    assert [d.reminder for d in plan_pair(p, now=until, states=st) if d.kind == "nudge"] == [2]


def test_reminder_never_lands_outside_working_hours() -> None:
    p = pair("America/New_York", Rule("weekly", 4, time(17, 30)))  # Friday 17:30
    slot = next_slot(p, utc(2024, 6, 3))
    st = {slot: NudgeState("due", 1, slot)}
    due = [d for d in plan_pair(p, now=slot + timedelta(days=3), states=st) if d.kind == "nudge"]
    assert local(due[0].send_at, "America/New_York").weekday() == 0  # Friday + 1 day = Saturday -> Monday


def test_build_pairs_pair_cadence_overrides_team() -> None:
    people = [
        PersonView("UM", "UTC", team="t"),
        PersonView("UE", "UTC", None, "UM", "t"),
        PersonView("UE2", "UTC", None, "UM", "t"),
    ]
    cad = [CadenceView(Rule("monthly"), "team", "t"), CadenceView(Rule("biweekly"), "pair", None, "UM", "UE2")]
    rules = {p.employee.slack_id: p.rule.frequency for p in build_pairs(people, cad)}
    assert rules == {"UE": "monthly", "UE2": "biweekly"}
