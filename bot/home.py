"""What each person's App Home shows, by role (employee, manager, HR admin); several roles stack.

Domain only: the Slack edge renders `HomeModel` with `bot.slack.blocks_home`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import select

from bot.analytics import TeamCoverage, compute_report
from bot.recognition import KudosEvidence, kudos_evidence, recent_kudos
from bot.services import Services
from storage.db import session_scope
from storage.models import CheckIn, DevelopmentAction, DevelopmentPoint, Nudge, Person, Recognition
from storage.people import get_person, reports_of

log = logging.getLogger(__name__)
OPEN_ACTIONS = ("proposed", "accepted", "started")
STALE_AFTER = timedelta(days=30)  # without a cadence: no check-in for this long counts as overdue


@dataclass
class ActionItem:
    id: int
    title: str
    kind: str
    status: str
    course_id: str | None


@dataclass
class PointItem:
    id: int
    competency: str
    evidence: str
    actions: list[ActionItem] = field(default_factory=list)
    kudos: list[KudosEvidence] = field(default_factory=list)


@dataclass
class ReportRow:
    slack_id: str
    name: str
    last_checkin: datetime | None
    next_checkin: datetime | None
    overdue: bool
    open_actions: int
    first: bool = False  # never checked in, and the first check-in is planned ahead (not overdue)


@dataclass
class HrSummary:
    period_label: str
    done: int
    due: int
    coverage: list[TeamCoverage]


@dataclass
class HomeModel:
    slack_id: str
    name: str
    locale: str
    timezone: str
    points: list[PointItem]
    next_checkin: datetime | None
    kudos: list[Recognition]
    reports: list[ReportRow] | None = None  # None: not a manager
    hr: HrSummary | None = None  # None: not an HR admin


def _cadence_status(services: Services, slack_id: str) -> Any | None:
    """`bot.cadence.status` for `slack_id` when the scheduler surface is present, else None."""
    try:
        from bot.cadence import status
    except ImportError:
        return None
    try:
        return status(services, slack_id=slack_id)
    except Exception:  # another surface's code (unknown person, bad cadence): App Home omits the date
        log.warning("bot.cadence.status failed for %s; App Home omits the next check-in", slack_id, exc_info=True)
        return None


def next_checkin(services: Services, *, employee: str) -> datetime | None:
    """The employee's next check-in with their manager (None when unknown: the line is omitted)."""
    info = _cadence_status(services, employee)
    entry = getattr(info, "as_employee", None)
    at = getattr(entry, "at", None)
    return at if isinstance(at, datetime) else None


def next_checkins_as_manager(services: Services, *, manager: str) -> dict[str, datetime]:
    """Each report's next check-in with `manager`, by the report's Slack id."""
    info = _cadence_status(services, manager)
    out: dict[str, datetime] = {}
    for entry in getattr(info, "as_manager", None) or []:
        if isinstance(getattr(entry, "at", None), datetime):
            out[entry.other_slack_id] = entry.at
    return out


def _points(services: Services, slack_id: str) -> list[PointItem]:
    evidence = kudos_evidence(services, person_slack_id=slack_id)
    with session_scope(services.engine) as session:
        q = select(DevelopmentPoint).where(
            DevelopmentPoint.person_slack_id == slack_id, DevelopmentPoint.status == "open"
        )
        points = list(session.exec(q.order_by(DevelopmentPoint.created_at.desc())))  # type: ignore[attr-defined]
        ids = [p.id for p in points]
        actions = (
            list(
                session.exec(
                    select(DevelopmentAction).where(DevelopmentAction.point_id.in_(ids)).order_by(DevelopmentAction.id)
                )
            )
            if ids
            else []
        )  # type: ignore[union-attr, attr-defined, arg-type]
    items = []
    for p in points:
        acts = [
            ActionItem(a.id or 0, a.title or a.course_id or a.kind, a.kind, a.status, a.course_id)
            for a in actions
            if a.point_id == p.id and a.status != "not_relevant"
        ]
        items.append(PointItem(p.id or 0, p.competency, p.evidence, acts, [e for e in evidence if e.point_id == p.id]))
    return items


def _report_rows(services: Services, manager: str, now: datetime) -> list[ReportRow]:
    with session_scope(services.engine) as session:
        reports = reports_of(session=session, manager_slack_id=manager)
        ids = [r.slack_id for r in reports]
        if not ids:
            return []
        done = list(
            session.exec(
                select(CheckIn).where(
                    CheckIn.state == "done", CheckIn.kind == "guided", CheckIn.employee_slack_id.in_(ids)
                )
            )
        )  # type: ignore[attr-defined]
        nudges = list(
            session.exec(select(Nudge).where(Nudge.manager_slack_id == manager, Nudge.status.in_(("due", "snoozed"))))
        )  # type: ignore[attr-defined]
        actions = list(
            session.exec(
                select(DevelopmentAction).where(
                    DevelopmentAction.person_slack_id.in_(ids), DevelopmentAction.status.in_(OPEN_ACTIONS)
                )
            )
        )  # type: ignore[attr-defined]
    planned = next_checkins_as_manager(services, manager=manager)
    rows = []
    for r in reports:
        last = max((c.finished_at for c in done if c.employee_slack_id == r.slack_id and c.finished_at), default=None)
        slots = sorted(n.slot_at for n in nudges if n.employee_slack_id == r.slack_id)
        nxt = planned.get(r.slack_id) or next((s for s in slots if s >= now), None)
        # Overdue: a due nudge not acted on, a planned check-in in the past, or, with nothing planned, never or not
        # for STALE_AFTER. A first check-in still ahead is not overdue.
        missed = any(s < now for s in slots) or (nxt is not None and nxt < now)
        unplanned = nxt is None and (last is None or now - last > STALE_AFTER)
        overdue = missed or unplanned
        rows.append(
            ReportRow(
                r.slack_id,
                r.name or r.slack_id,
                last,
                nxt,
                overdue,
                sum(a.person_slack_id == r.slack_id for a in actions),
                first=last is None and not overdue,
            )
        )
    # Overdue first, the longest-waiting at the top (never checked in before anyone who did).
    return sorted(
        rows, key=lambda x: (not x.overdue, x.last_checkin or datetime.min.replace(tzinfo=now.tzinfo), x.name)
    )


def build_home(services: Services, *, slack_id: str, now: datetime | None = None) -> HomeModel:
    """Everything `slack_id`'s App Home shows."""
    now = now or services.now()
    with session_scope(services.engine) as session:
        person = get_person(session=session, slack_id=slack_id) or Person(slack_id=slack_id)
        is_manager = bool(reports_of(session=session, manager_slack_id=slack_id))
    model = HomeModel(
        slack_id,
        person.name or slack_id,
        person.locale,
        person.timezone,
        _points(services, slack_id),
        next_checkin(services, employee=slack_id) if person.manager_slack_id else None,
        recent_kudos(services, slack_id=slack_id, limit=5),
    )
    if is_manager:
        model.reports = _report_rows(services, slack_id, now)
    if person.is_hr_admin:
        cur = compute_report(services, now=now).current
        model.hr = HrSummary(cur.period.label, cur.checkins_done, cur.checkins_due, cur.coverage)
    return model
