"""Repository functions for goals, the capability map versions and the evidence behind capability levels."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from storage.models import (
    Answer,
    CapabilityMapVersion,
    CheckIn,
    Course,
    Cycle,
    DevelopmentPoint,
    Goal,
    LearningRecord,
    Person,
    Recognition,
)

# --- capability map -------------------------------------------------------------------------------------------


def active_map(*, session: Session) -> CapabilityMapVersion | None:
    return session.exec(select(CapabilityMapVersion).where(col(CapabilityMapVersion.active).is_(True))
                        .order_by(col(CapabilityMapVersion.id).desc())).first()


def save_map(*, session: Session, source: str, content: str, data: dict[str, Any],
             loaded_by: str | None = None) -> CapabilityMapVersion:
    """Store a validated map as the new active version (earlier versions stay, inactive)."""
    for old in session.exec(select(CapabilityMapVersion).where(col(CapabilityMapVersion.active).is_(True))).all():
        old.active = False
        session.add(old)
    row = CapabilityMapVersion(source=source, content=content, data=data, active=True, loaded_by=loaded_by)
    session.add(row)
    session.flush()
    return row


def known_roles(*, session: Session) -> set[str]:
    """Roles of the people in the people table (forgotten people excluded)."""
    rows = session.exec(select(Person.role).where(col(Person.forgotten).is_(False))).all()
    return {r for r in rows if r}


# --- goals and cycles -----------------------------------------------------------------------------------------


def current_cycle(*, session: Session, today: date) -> Cycle | None:
    """The open cycle that contains `today`, else the latest open one."""
    rows = session.exec(select(Cycle).where(Cycle.status == "open").order_by(col(Cycle.start_date).desc())).all()
    for c in rows:
        if c.start_date <= today <= c.end_date:
            return c
    return rows[0] if rows else None


def create_goal(*, session: Session, **fields: Any) -> Goal:
    goal = Goal(**fields)
    session.add(goal)
    session.flush()
    return goal


def open_goals(*, session: Session, person_slack_id: str, cycle_id: int | None) -> list[Goal]:
    q = select(Goal).where(Goal.person_slack_id == person_slack_id, Goal.status == "open")
    if cycle_id is not None:
        q = q.where(Goal.cycle_id == cycle_id)
    return list(session.exec(q.order_by(col(Goal.id))).all())


# --- evidence for capability levels ---------------------------------------------------------------------------


def points_of(*, session: Session, people: Iterable[str]) -> list[DevelopmentPoint]:
    ids = list(people)
    return list(session.exec(select(DevelopmentPoint).where(col(DevelopmentPoint.person_slack_id).in_(ids))).all())


def completed_courses_of(*, session: Session, people: Iterable[str]) -> list[tuple[LearningRecord, Course]]:
    ids = list(people)
    q = (select(LearningRecord, Course).join(Course, col(Course.id) == col(LearningRecord.course_id))
         .where(col(LearningRecord.person_slack_id).in_(ids), LearningRecord.status == "completed"))
    return [(r, c) for r, c in session.exec(q).all()]


def recognitions_since(*, session: Session, since: Any) -> list[Recognition]:
    """Kudos since a time (receivers are a JSON list, filtered by the caller)."""
    return list(session.exec(select(Recognition).where(col(Recognition.created_at) >= since)).all())


def recent_checkin_answers(*, session: Session, people: Iterable[str], per_person: int = 3
                           ) -> dict[str, list[tuple[CheckIn, list[str]]]]:
    """Each person's last `per_person` finished check-ins with the texts they wrote in them."""
    ids = list(people)
    done = session.exec(select(CheckIn).where(col(CheckIn.employee_slack_id).in_(ids), CheckIn.state == "done")
                        .order_by(col(CheckIn.started_at).desc())).all()
    picked: dict[str, list[CheckIn]] = {}
    for c in done:
        lst = picked.setdefault(c.employee_slack_id, [])
        if len(lst) < per_person:
            lst.append(c)
    by_id = {c.id: c for lst in picked.values() for c in lst}
    texts: dict[int, list[str]] = {}
    if by_id:
        for a in session.exec(select(Answer).where(col(Answer.checkin_id).in_(list(by_id)))).all():
            if a.author_slack_id == by_id[a.checkin_id].employee_slack_id:
                texts.setdefault(a.checkin_id, []).append(a.text)
    return {pid: [(c, texts.get(c.id or 0, [])) for c in lst] for pid, lst in picked.items()}
