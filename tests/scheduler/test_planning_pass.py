"""The full planning pass shares zone computations between pairs; it must plan exactly what the straightforward
one-pair-at-a-time rules plan (kept here as the reference), whatever the pauses, states, check-ins and holidays."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

import pytest

from scheduler.planning import (
    LATE_AFTER,
    LATE_GRACE,
    MAX_REMINDERS,
    Due,
    NudgeState,
    Pair,
    PersonView,
    happened,
    neighbours,
    plan,
    prompt_instant,
    slot_key,
)
from scheduler.slots import DEFAULT_WINDOW, Rule, WorkWindow, to_working

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Asia/Shanghai",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/St_Johns",
    "Asia/Kathmandu",
    "UTC",
    "Europe/London",
    "America/Sao_Paulo",
]
RULES = [
    Rule(),
    Rule("weekly", 4, time(17, 30)),
    Rule("biweekly", 3, time(15, 0)),
    Rule("biweekly", 0, time(9, 0), date(2025, 3, 3)),
    Rule("monthly", 0, time(11, 0)),
    Rule("monthly", 1, time(10, 0), date(2024, 1, 31)),
    Rule("weekly", 2, time(7, 0)),
]  # (7:00: clamped to the window's start)


def reference_plan_pair(
    pair: Pair,
    *,
    now: datetime,
    holidays: frozenset[date],
    checkins: Sequence[datetime],
    states: Mapping[datetime, NudgeState] | None,
    window: WorkWindow,
) -> list[Due]:
    """The rules of the module docstring, one pair at a time, nothing shared (the planner before the pass)."""
    states = states or {}
    mgr, emp = pair.manager, pair.employee
    prev, slot, nxt = neighbours(pair, now, holidays, window)
    out: list[Due] = []
    period = timedelta(days=7 if pair.rule.frequency == "weekly" else 14 if pair.rule.frequency == "biweekly" else 30)
    prompt_at = prompt_instant(pair, nxt, holidays, window)

    def waits(due: datetime, tz: str) -> bool:  # late, and now is outside the recipient's working hours
        return now - due > LATE_AFTER and to_working(now, tz, holidays, window) != now

    if (
        prompt_at <= now < nxt
        and not waits(prompt_at, emp.tz)
        and not (emp.paused_at(now) or mgr.paused_at(nxt) or emp.paused_at(nxt))
        and not (slot is not None and happened(checkins, slot, nxt, period))
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
                f"prompt:{mgr.slack_id}:{emp.slack_id}:{slot_key(nxt)}",
                next_slot_at=nxt,
            )
        )
    if slot is None or mgr.paused_at(slot) or emp.paused_at(slot) or mgr.paused_at(now) or emp.paused_at(now):
        return out
    st = states.get(slot, NudgeState())
    if st.status in ("skipped", "done", "superseded") or st.reminders_sent >= MAX_REMINDERS:
        return out
    if happened(checkins, prev, slot, period):
        return out
    if st.reminders_sent == 0:
        reminder, send_at = 1, slot
    else:
        base = max(slot, st.last_sent_at or slot) + timedelta(days=1)
        if st.snoozed_until is not None:
            base = max(base - timedelta(days=1), st.snoozed_until)
        reminder, send_at = 2, to_working(base, mgr.tz, holidays, window)
    if send_at > now or send_at >= nxt or now - send_at > LATE_GRACE or waits(send_at, mgr.tz):
        return out
    follow_up = None
    if reminder < MAX_REMINDERS:
        follow_up = to_working(max(now, send_at) + timedelta(days=1), mgr.tz, holidays, window)
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
            f"nudge:{mgr.slack_id}:{emp.slack_id}:{slot_key(slot)}:{reminder}",
            follow_up,
            nxt,
        )
    )
    return out


def _random_world(rng: random.Random, now: datetime, n: int, window: WorkWindow):  # noqa: ANN202
    def maybe_pause() -> datetime | None:
        return rng.choice([None, None, None, now + timedelta(hours=rng.randint(-200, 200))])

    managers = [PersonView(f"M{i}", rng.choice(ZONES), maybe_pause()) for i in range(max(1, n // 4))]
    pairs, checkins, states = [], {}, {}
    for i in range(n):
        m = rng.choice(managers)
        pair = Pair(m, PersonView(f"E{i}", rng.choice(ZONES), maybe_pause(), m.slack_id), rng.choice(RULES))
        pairs.append(pair)
        key = (m.slack_id, f"E{i}")
        if rng.random() < 0.3:
            checkins[key] = [now - timedelta(hours=rng.randint(0, 24 * 40)) for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.5:
            _, slot, _ = neighbours(pair, now, window=window)
            if slot is not None:
                sent = rng.randint(0, 2)
                states[key] = {
                    slot: NudgeState(
                        rng.choice(["due", "due", "snoozed", "skipped", "done", "superseded"]),
                        sent,
                        slot + timedelta(hours=rng.randint(0, 30)) if sent else None,
                        now + timedelta(hours=rng.randint(-30, 30)) if rng.random() < 0.3 else None,
                    )
                }
    return pairs, checkins, states


@pytest.mark.parametrize("seed", range(12))
def test_the_pass_plans_exactly_what_the_per_pair_rules_plan(seed: int) -> None:
    rng = random.Random(seed)
    window = DEFAULT_WINDOW if seed % 3 else WorkWindow(time(8, 0), time(17, 0), frozenset(range(6)))
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randint(0, 24 * 800))
    kinds: Counter[str] = Counter()
    # DST weekends in both hemispheres, month ends, and random instants
    for now in [
        start,
        datetime(2025, 3, 31, 7, 30, tzinfo=UTC),
        datetime(2024, 10, 28, 9, 0, tzinfo=UTC),
        datetime(2025, 4, 7, 0, 0, tzinfo=UTC),
        datetime(2024, 3, 1, 16, 59, tzinfo=UTC),
    ]:
        holidays = frozenset(now.date() + timedelta(days=d) for d in rng.sample(range(-10, 10), rng.randint(0, 4)))
        pairs, checkins, states = _random_world(rng, now, 300, window)
        expected = [
            d
            for p in pairs
            for d in reference_plan_pair(
                p,
                now=now,
                holidays=holidays,
                checkins=checkins.get((p.manager.slack_id, p.employee.slack_id), ()),
                states=states.get((p.manager.slack_id, p.employee.slack_id)),
                window=window,
            )
        ]
        got = plan(pairs, now=now, holidays=holidays, checkins=checkins, states=states, window=window)
        assert got == expected
        kinds.update(d.kind if d.reminder == 1 else f"{d.kind}:{d.reminder}" for d in got)
    assert kinds["nudge"] and kinds["prompt"] and kinds["nudge:2"]  # the worlds do plan all kinds of things
