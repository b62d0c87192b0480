"""HR broadcasts and review cycles: audiences, the persistent fan-out, cycle reminders and delivery reports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.cadence import UserError, require_hr_admin
from bot.i18n import fmt_date, fmt_dt, norm_locale, t
from bot.services import Services
from scheduler.slots import is_working_day, local_instant, previous_working_day, to_working, zone
from storage import deliveries as q
from storage import scheduling as repo
from storage.db import session_scope
from storage.models import Broadcast, CheckIn, Cycle, Delivery, Person
from storage.people import get_person, list_people

CYCLE_REMINDER_AT = time(10, 0)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class BroadcastOutcome:
    broadcast_id: int
    count: int
    audience: str


def parse_day(text: str) -> date:
    """'2025-09-30' -> date; UserError (scheduler_hr_bad_date) otherwise."""
    text = (text or "").strip()
    try:
        if not _DAY.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise UserError("scheduler_hr_bad_date", text=text[:40]) from None


def audience(*, session: Session, spec: str) -> list[Person]:
    """`all`, `managers` (people with reports) or `team:NAME` (case-insensitive)."""
    people = list_people(session=session)
    spec = spec.strip()
    if spec.lower() == "all":
        return people
    if spec.lower() == "managers":
        bosses = {p.manager_slack_id for p in people if p.manager_slack_id}
        return [p for p in people if p.slack_id in bosses]
    if spec.lower().startswith("team:") and spec[5:].strip():
        name = spec[5:].strip().lower()
        members = [p for p in people if (p.team or "").lower() == name]
        if not members:
            teams = ", ".join(sorted({p.team for p in people if p.team})) or "–"
            raise UserError("scheduler_hr_unknown_team", team=spec[5:].strip()[:40], teams=teams)
        return members
    raise UserError("scheduler_hr_broadcast_usage")


def start_broadcast(services: Services, *, admin_slack_id: str, spec: str, message: str) -> BroadcastOutcome:
    """Queue one DM per person of the audience, all rows in one transaction (nothing is sent here)."""
    if not message.strip():
        raise UserError("scheduler_hr_broadcast_usage")
    now = services.now()
    with session_scope(services.engine) as session:
        admin = require_hr_admin(session=session, slack_id=admin_slack_id)
        people = audience(session=session, spec=spec)
        if not people:
            raise UserError("scheduler_hr_empty_audience")
        b = Broadcast(kind="broadcast", created_by=admin.slack_id, audience=spec, message=message, status="sending")
        session.add(b)
        session.flush()
        rows = []
        for p in people:
            text = t("scheduler_broadcast_text", p.locale, sender=admin.name or admin.slack_id, message=message)
            rows.append(
                {
                    "key": f"broadcast:{b.id}:{p.slack_id}",
                    "kind": "broadcast",
                    "broadcast_id": b.id,
                    "recipient_slack_id": p.slack_id,
                    "payload": {"text": text, "blocks": [_section(text)]},
                }
            )
        q.enqueue(session=session, rows=rows, now=now)
        return BroadcastOutcome(int(b.id or 0), len(rows), spec)


def _section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def finish_broadcasts(services: Services, *, now: datetime, report_after: timedelta = timedelta(hours=1)) -> int:
    """Queue the delivery report to the HR admin for each broadcast or cycle reminder round that is finished (or
    has had rows pending for `report_after` since its last row was queued). A reminder round still being queued
    (status "queued": some recipients' local reminder time is still ahead) is not finished."""
    n = 0
    with session_scope(services.engine) as session:
        for b in q.unfinished_broadcasts(session=session):
            if b.status == "queued":
                continue
            open_rows = q.open_count(session=session, broadcast_id=int(b.id or 0))
            if open_rows:
                last_queued = (
                    session.exec(
                        select(func.max(Delivery.created_at)).where(
                            Delivery.broadcast_id == b.id, Delivery.kind != "report"
                        )
                    ).one()
                    or b.created_at
                )
                if now - max(b.created_at, last_queued) < report_after:
                    continue
            counts = q.counts(session=session, broadcast_id=int(b.id or 0))
            admin = get_person(session=session, slack_id=b.created_by or "")
            b.report_sent, b.status = True, "done" if not open_rows else b.status
            b.finished_at = now if not open_rows else None
            session.add(b)
            if admin is None or b.kind not in ("broadcast", "cycle_reminder"):
                continue
            loc = norm_locale(admin.locale)
            tally = {
                "sent": counts.get("sent", 0),
                "failed": counts.get("failed", 0),
                "pending": counts.get("pending", 0) + counts.get("sending", 0),
            }
            if b.kind == "cycle_reminder":
                cycle = session.get(Cycle, b.cycle_id) if b.cycle_id else None
                label, _, iso = b.message.partition(" ")
                day = fmt_date(local_instant(date.fromisoformat(iso), time(12), admin.timezone), admin.timezone, loc)
                head = t(
                    "scheduler_report_cycle",
                    loc,
                    name=cycle.name if cycle else "?",
                    day=day,
                    round=t(f"scheduler_round_{label}", loc),
                    **tally,
                )
            else:
                title = b.message if len(b.message) <= 60 else b.message[:57] + "…"
                head = t("scheduler_report", loc, title=title, **tally)
            lines = [head] + [
                t("scheduler_report_failure", loc, user=u, reason=r)
                for u, r in q.failures(session=session, broadcast_id=int(b.id or 0))
            ]
            text = "\n".join(lines)
            q.enqueue(
                session=session,
                now=now,
                rows=[
                    {
                        "key": f"report:{b.id}",
                        "kind": "report",
                        "broadcast_id": b.id,
                        "recipient_slack_id": admin.slack_id,
                        "payload": {"text": text, "blocks": [_section(text)]},
                    }
                ],
            )
            n += 1
    return n


# --- cycles --------------------------------------------------------------------------------------------------


ROUNDS = ("start", "midway", "final")  # the reminder rounds of a cycle (labels of `scheduler_round_*`)


def labelled_milestones(start: date, end: date, holidays: frozenset[date] = frozenset()) -> list[tuple[str, date]]:
    """Reminder rounds of a cycle: its start, halfway, and three days before the end (deduplicated). Later ones
    that fall on a weekend or holiday move back to the working day before, so they still come before the end."""
    out: list[tuple[str, date]] = [("start", start)]
    for label, d in (("midway", start + (end - start) / 2), ("final", end - timedelta(days=3))):
        if not is_working_day(d, holidays):
            d = previous_working_day(d, holidays)
        if d > start and d not in (day for _, day in out):
            out.append((label, d))
    return out


def milestones(start: date, end: date, holidays: frozenset[date] = frozenset()) -> list[date]:
    """The reminder dates of a cycle (see `labelled_milestones`)."""
    return [d for _, d in labelled_milestones(start, end, holidays)]


def start_cycle(services: Services, *, admin_slack_id: str, name: str, end_text: str) -> tuple[Cycle, list[date]]:
    """Open a review cycle from today (the admin's date) to `end_text`; reminders are planned by the scheduler."""
    end = parse_day(end_text)
    now = services.now()
    with session_scope(services.engine) as session:
        admin = require_hr_admin(session=session, slack_id=admin_slack_id)
        today = now.astimezone(zone(admin.timezone)).date()
        if end <= today:
            raise UserError("scheduler_hr_past_date", day=end.isoformat())
        if session.exec(select(Cycle).where(Cycle.name == name)).first():
            raise UserError("scheduler_hr_cycle_exists", name=name[:60])
        cycle = Cycle(name=name, start_date=today, end_date=end, created_by=admin.slack_id)
        session.add(cycle)
        session.flush()
        return cycle, milestones(today, end, repo.holiday_dates(session=session))


@dataclass
class ReminderRound:
    """One milestone of one open cycle at `now`: the rows due now, and whether every recipient's local reminder
    time has come (the round is then fully queued)."""

    cycle: Cycle
    index: int
    label: str
    day: date
    rows: list[dict[str, object]]
    complete: bool


def _reminder_rounds(session: Session, now: datetime) -> list[ReminderRound]:
    rounds: list[ReminderRound] = []
    cycles = list(session.exec(select(Cycle).where(Cycle.status == "open")))
    if not cycles:
        return rounds
    people = {p.slack_id: p for p in list_people(session=session)}
    hol = repo.holiday_dates(session=session)
    for c in cycles:
        done = {
            (m, e)
            for m, e in session.exec(
                select(CheckIn.manager_slack_id, CheckIn.employee_slack_id).where(
                    CheckIn.state == "done",
                    col(CheckIn.finished_at).is_not(None),
                    (CheckIn.cycle_id == c.id) | (CheckIn.started_at >= local_instant(c.start_date, time(0), "UTC")),
                )
            )
        }
        pending = [
            p for p in people.values() if p.manager_slack_id in people and (p.manager_slack_id, p.slack_id) not in done
        ]
        by_manager: dict[str, list[Person]] = {}
        for p in pending:
            by_manager.setdefault(p.manager_slack_id or "", []).append(p)
        for i, (label, day) in enumerate(labelled_milestones(c.start_date, c.end_date, hol)):
            rows: list[dict[str, object]] = []
            complete = True
            for person, key in [(p, "employee") for p in pending] + [(people[m], "manager") for m in by_manager]:
                at = to_working(local_instant(day, CYCLE_REMINDER_AT, person.timezone), person.timezone, hol)
                complete = complete and at <= now
                if not at <= now < at + timedelta(days=1):
                    continue
                loc = norm_locale(person.locale)
                end = fmt_date(local_instant(c.end_date, time(12), person.timezone), person.timezone, loc)
                names = ", ".join(f"<@{r.slack_id}>" for r in by_manager.get(person.slack_id, []))
                text = t(
                    f"scheduler_cycle_{key}", loc, name=c.name, end=end, manager=person.manager_slack_id, people=names
                )
                rows.append(
                    {
                        "key": f"cycle:{c.id}:{i}:{person.slack_id}",
                        "kind": "reminder",
                        "recipient_slack_id": person.slack_id,
                        "payload": {"text": text, "blocks": [_section(text)], "cycle_id": c.id},
                    }
                )
            rounds.append(ReminderRound(c, i, label, day, rows, complete))
    return rounds


def cycle_reminder_rows(services: Services, *, now: datetime) -> list[dict[str, object]]:
    """Cycle reminders due now: for each open cycle's milestone, at 10:00 in each recipient's zone (working
    hours, holidays respected), to employees whose check-in in the cycle is not done and to their managers."""
    with session_scope(services.engine) as session:
        return [row for r in _reminder_rounds(session, now) for row in r.rows]


def queue_cycle_reminders(services: Services, *, now: datetime) -> int:
    """Queue the cycle reminders due now (see `cycle_reminder_rows`); returns how many rows were new.

    Each round (a cycle's milestone) is one `Broadcast` of kind "cycle_reminder", created with its first rows.
    It stays "queued" while some recipient's local reminder time is still ahead, then becomes "sending": once its
    messages are out, the admin who started the cycle gets a delivery report for the round (sent, failed with
    reasons, pending), like a broadcast's.
    """
    new = 0
    with session_scope(services.engine) as session:
        for r in _reminder_rounds(session, now):
            audience_key = f"cycle:{r.cycle.id}:{r.index}"
            b = session.exec(
                select(Broadcast).where(Broadcast.kind == "cycle_reminder", Broadcast.audience == audience_key)
            ).first()
            if b is None and r.rows:
                b = Broadcast(
                    kind="cycle_reminder",
                    created_by=r.cycle.created_by,
                    audience=audience_key,
                    message=f"{r.label} {r.day.isoformat()}",
                    cycle_id=r.cycle.id,
                    status="queued",
                )
                session.add(b)
                session.flush()
            if r.rows and b is not None:
                new += q.enqueue(session=session, now=now, rows=[{**row, "broadcast_id": b.id} for row in r.rows])
            if b is not None and b.status == "queued" and r.complete:
                b.status = "sending"
                session.add(b)
    return new


def fmt_milestones(days: list[date], locale: str | None, tz: str) -> str:
    """The reminder days as the admin will see them (weekends moved to the next working day)."""
    return ", ".join(
        fmt_dt(to_working(local_instant(d, CYCLE_REMINDER_AT, tz), tz, frozenset()), tz, locale).rsplit(" ", 1)[0]
        for d in days
    )
