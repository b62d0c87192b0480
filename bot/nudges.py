"""Nudges: turn the plan into queued messages, and the manager's answers (snooze, skip, started)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.cadence import UserError
from bot.services import Services
from scheduler.planning import Due, PersonView, build_pairs, next_slot, plan
from scheduler.slots import to_working
from storage import deliveries as q
from storage import scheduling as repo
from storage.db import session_scope
from storage.models import Nudge, Person
from storage.people import people_by_ids

LOOKBACK = timedelta(days=70)  # two monthly periods: enough history for the current and previous slot

Render = Callable[[Due, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class NudgeOutcome:
    """What happened to a nudge; the Slack edge renders it into the updated message."""

    status: str  # snoozed | skipped | done
    nudge_id: int
    manager: Person
    employee: Person
    when: datetime | None = None  # snoozed: next reminder; skipped: the next slot


def enqueue_due(services: Services, *, render: Render, now: datetime | None = None) -> int:
    """Plan at `now` and queue every due nudge/prompt once (stable keys); returns how many were new."""
    now = now or services.now()
    since = now - LOOKBACK
    with session_scope(services.engine) as session:
        views = repo.person_views(session=session)
        pairs = build_pairs(views, repo.cadence_views(session=session))
        hol = repo.holiday_dates(session=session)
        due = plan(pairs, now=now, holidays=hol, checkins=repo.checkin_times(session=session, since=since),
                   states=repo.nudge_states(session=session, since=since))
        if not due:
            return 0
        people = people_by_ids(session=session, slack_ids={d.manager for d in due} | {d.employee for d in due})
        new = 0
        for d in due:
            ctx: dict[str, Any] = {"manager": people[d.manager], "employee": people[d.employee]}
            nudge = None
            if d.kind == "nudge":
                nudge = repo.get_or_create_nudge(session=session, manager_slack_id=d.manager,
                                                 employee_slack_id=d.employee, slot_at=d.slot_at)
                ctx["nudge_id"] = nudge.id
            payload = dict(render(d, ctx))
            if nudge is not None:
                payload["nudge_id"] = nudge.id
            added = q.enqueue(session=session, now=now, rows=[{
                "key": d.key, "kind": d.kind, "recipient_slack_id": d.recipient, "payload": payload}])
            if added and nudge is not None:
                nudge.reminders_sent = max(nudge.reminders_sent, d.reminder)
                session.add(nudge)
            new += added
        return new


def _load(session: Any, nudge_id: int, actor: str) -> tuple[Nudge, Person, Person]:
    nudge = repo.get_nudge(session=session, nudge_id=nudge_id)
    if nudge is None or nudge.manager_slack_id != actor:
        raise UserError("scheduler_nudge_already", status="?")
    if nudge.status in ("skipped", "done"):
        raise UserError("scheduler_nudge_already", status=nudge.status)
    people = people_by_ids(session=session, slack_ids=[nudge.manager_slack_id, nudge.employee_slack_id])
    return nudge, people[nudge.manager_slack_id], people[nudge.employee_slack_id]


def _view(p: Person) -> PersonView:
    return PersonView(p.slack_id, p.timezone or "UTC", p.paused_until, p.manager_slack_id, p.team)


def snooze(services: Services, *, nudge_id: int, actor: str) -> NudgeOutcome:
    """Remind the manager again in a day (inside their working hours); that is the slot's last reminder."""
    now = services.now()
    with session_scope(services.engine) as session:
        nudge, mgr, emp = _load(session, nudge_id, actor)
        until = to_working(now + timedelta(days=1), mgr.timezone or "UTC", repo.holiday_dates(session=session))
        nudge.status, nudge.snoozed_until = "snoozed", until
        session.add(nudge)
        return NudgeOutcome("snoozed", nudge_id, mgr, emp, until)


def skip(services: Services, *, nudge_id: int, actor: str) -> NudgeOutcome:
    """No more reminders for this slot; returns the next slot."""
    with session_scope(services.engine) as session:
        nudge, mgr, emp = _load(session, nudge_id, actor)
        nudge.status = "skipped"
        session.add(nudge)
        pairs = build_pairs([_view(mgr), _view(emp)], repo.cadence_views(session=session))
        hol = repo.holiday_dates(session=session)
        nxt = next_slot(pairs[0], nudge.slot_at + timedelta(minutes=1), hol) if pairs else None
        return NudgeOutcome("skipped", nudge_id, mgr, emp, nxt)


def mark_started(services: Services, *, nudge_id: int, actor: str) -> NudgeOutcome:
    """The check-in of this slot has started: no more reminders."""
    with session_scope(services.engine) as session:
        nudge, mgr, emp = _load(session, nudge_id, actor)
        nudge.status = "done"
        session.add(nudge)
        return NudgeOutcome("done", nudge_id, mgr, emp)


def peek(services: Services, *, nudge_id: int, actor: str) -> tuple[Person, Person]:
    """The manager and employee of a nudge the actor may act on (UserError otherwise)."""
    with session_scope(services.engine) as session:
        _, mgr, emp = _load(session, nudge_id, actor)
        return mgr, emp
