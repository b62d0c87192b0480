"""Repository functions for cadences, holidays, pauses, nudges and the planning inputs."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from scheduler.planning import CadenceView, NudgeState, PersonView, parse_local_time
from scheduler.slots import Rule
from storage.models import Cadence, CheckIn, Delivery, Holiday, Nudge, Person


def person_views(*, session: Session) -> list[PersonView]:
    rows = session.exec(
        select(Person.slack_id, Person.timezone, Person.paused_until, Person.manager_slack_id, Person.team).where(
            Person.forgotten == False  # noqa: E712
        )
    )
    return [PersonView(sid, tz or "UTC", paused, mgr, team) for sid, tz, paused, mgr, team in rows]


def cadence_rule(c: Cadence) -> Rule:
    return Rule(c.frequency, c.weekday, parse_local_time(c.local_time), c.anchor_date)


def cadence_views(*, session: Session) -> list[CadenceView]:
    return [CadenceView(cadence_rule(c), c.scope, c.team, c.manager_slack_id, c.employee_slack_id)
            for c in session.exec(select(Cadence))]


def upsert_cadence(*, session: Session, scope: str, team: str | None = None, manager_slack_id: str | None = None,
                   employee_slack_id: str | None = None, **fields: Any) -> Cadence:
    """Create or update the team's (scope="team") or the pair's (scope="pair") cadence."""
    q = select(Cadence).where(Cadence.scope == scope)
    if scope == "team":
        q = q.where(Cadence.team == team)
    else:
        q = q.where(Cadence.manager_slack_id == manager_slack_id, Cadence.employee_slack_id == employee_slack_id)
    row = session.exec(q).first() or Cadence(scope=scope, team=team, manager_slack_id=manager_slack_id,
                                             employee_slack_id=employee_slack_id)
    for k, v in fields.items():
        setattr(row, k, v)
    session.add(row)
    session.flush()
    return row


def holidays(*, session: Session) -> list[Holiday]:
    return list(session.exec(select(Holiday).order_by(Holiday.day)))


def holiday_dates(*, session: Session) -> frozenset[date]:
    return frozenset(session.exec(select(Holiday.day)))


def add_holiday(*, session: Session, day: date, name: str = "") -> tuple[Holiday, bool]:
    """Add (or rename) a company holiday; returns (row, created)."""
    row = session.exec(select(Holiday).where(Holiday.day == day)).first()
    created = row is None
    row = row or Holiday(day=day)
    row.name = name or row.name
    session.add(row)
    session.flush()
    return row, created


def remove_holiday(*, session: Session, day: date) -> bool:
    row = session.exec(select(Holiday).where(Holiday.day == day)).first()
    if row is None:
        return False
    session.delete(row)
    return True


def checkin_times(*, session: Session, since: datetime) -> dict[tuple[str, str], list[datetime]]:
    """When each pair's check-ins happened (finished, or started and still open) since `since`."""
    out: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    q = select(CheckIn.manager_slack_id, CheckIn.employee_slack_id, CheckIn.state, CheckIn.started_at,
               CheckIn.finished_at).where(col(CheckIn.state).in_(["open", "done"]), CheckIn.kind == "guided",
                                          CheckIn.started_at >= since)
    for mgr, emp, state, started, finished in session.exec(q):
        if mgr:
            out[(mgr, emp)].append(finished or started if state == "done" else started)
    return out


def nudge_states(*, session: Session, since: datetime) -> dict[tuple[str, str], dict[datetime, NudgeState]]:
    """Each pair's slot states since `since`, with when the last message about the slot was enqueued."""
    last: dict[int, datetime] = {}
    # created_at is the planning clock's instant (the queue sends within seconds of it)
    q = select(Delivery.payload, Delivery.created_at).where(Delivery.kind == "nudge", Delivery.created_at >= since)
    for payload, created in session.exec(q):
        nid = payload.get("nudge_id")
        if nid is not None:
            last[nid] = max(last.get(nid, created), created)
    out: dict[tuple[str, str], dict[datetime, NudgeState]] = defaultdict(dict)
    for n in session.exec(select(Nudge).where(Nudge.slot_at >= since)):
        out[(n.manager_slack_id, n.employee_slack_id)][n.slot_at] = NudgeState(
            n.status, n.reminders_sent, last.get(n.id or -1), n.snoozed_until)
    return out


def get_or_create_nudge(*, session: Session, manager_slack_id: str, employee_slack_id: str, slot_at: datetime) -> Nudge:
    row = session.exec(select(Nudge).where(Nudge.manager_slack_id == manager_slack_id,
                                           Nudge.employee_slack_id == employee_slack_id,
                                           Nudge.slot_at == slot_at)).first()
    if row is None:
        row = Nudge(manager_slack_id=manager_slack_id, employee_slack_id=employee_slack_id, slot_at=slot_at)
        session.add(row)
        session.flush()
    return row


def get_nudge(*, session: Session, nudge_id: int) -> Nudge | None:
    return session.get(Nudge, nudge_id)


def set_paused_until(*, session: Session, slack_id: str, until: datetime | None) -> Person | None:
    person = session.exec(select(Person).where(Person.slack_id == slack_id)).first()
    if person is None:
        return None
    person.paused_until = until
    session.add(person)
    session.flush()
    return person


def open_nudges_of(*, session: Session, manager_slack_id: str, employee_slack_id: str) -> list[Nudge]:
    q = select(Nudge).where(Nudge.manager_slack_id == manager_slack_id, Nudge.employee_slack_id == employee_slack_id,
                            col(Nudge.status).in_(["due", "snoozed"]))
    return list(session.exec(q))


def count_nudges(*, session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Nudge)).one())
