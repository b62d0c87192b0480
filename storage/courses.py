"""Repository functions for courses, development actions and learning records."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, func, select

from knowledge.catalog import CourseRecord
from storage.models import Course, DevelopmentAction, DevelopmentPoint, LearningRecord, Person
from storage.types import utcnow


def to_record(c: Course) -> CourseRecord:
    return CourseRecord(c.id, c.title, c.summary, tuple(c.competencies or ()), c.language, c.duration_minutes,
                        c.format, c.url)


def list_courses(*, session: Session) -> list[Course]:
    return list(session.exec(select(Course).order_by(Course.id)))


def count_courses(*, session: Session) -> int:
    return len(list(session.exec(select(Course.id))))


def catalog_fingerprint(*, session: Session) -> tuple[int, str]:
    """(number of courses, latest change): differs after any ingest that added, changed or removed a course."""
    n, latest = session.exec(select(func.count(Course.id), func.max(Course.updated_at))).one()
    return int(n or 0), str(latest or "")


def upsert_courses(*, session: Session, records: Iterable[CourseRecord]) -> dict[str, int]:
    """Insert new courses and update changed ones (by content hash); returns counts added/changed/unchanged."""
    existing = {c.id: c for c in session.exec(select(Course))}
    counts = {"added": 0, "changed": 0, "unchanged": 0}
    for rec in records:
        row = existing.get(rec.id)
        if row is not None and row.content_hash == rec.content_hash:
            counts["unchanged"] += 1
            continue
        row = row or Course(id=rec.id, title=rec.title)
        counts["changed" if rec.id in existing else "added"] += 1
        row.title, row.summary, row.competencies = rec.title, rec.summary, list(rec.competencies)
        row.language, row.duration_minutes = rec.language, rec.duration_minutes
        row.format, row.url = rec.format, rec.url
        row.content_hash, row.updated_at = rec.content_hash, utcnow()
        session.add(row)
    session.flush()
    return counts


def delete_courses_except(*, session: Session, keep: set[str]) -> list[str]:
    """Delete every course whose id is not in `keep`; returns the deleted ids."""
    gone = [c for c in session.exec(select(Course)) if c.id not in keep]
    for c in gone:
        session.delete(c)
    session.flush()
    return [c.id for c in gone]


def get_course(*, session: Session, course_id: str) -> Course | None:
    return session.get(Course, course_id)


def open_points(*, session: Session, person_slack_id: str, disputed: bool = True) -> list[DevelopmentPoint]:
    """A person's open points, newest first; `disputed=False` leaves out those their owner disputed."""
    q = select(DevelopmentPoint).where(DevelopmentPoint.person_slack_id == person_slack_id,
                                       DevelopmentPoint.status == "open")
    if not disputed:
        q = q.where(DevelopmentPoint.disputed == False)  # noqa: E712
    return list(session.exec(q.order_by(col(DevelopmentPoint.created_at).desc())))


def get_person_role(*, session: Session, slack_id: str) -> str | None:
    p = session.exec(select(Person).where(Person.slack_id == slack_id)).first()
    return p.role if p else None


def course_ids_with_status(*, session: Session, person_slack_id: str, status: str) -> set[str]:
    """Course ids for which the person has a learning record with `status` (completed, not_relevant, …)."""
    q = select(LearningRecord.course_id).where(LearningRecord.person_slack_id == person_slack_id,
                                               LearningRecord.status == status)
    return set(session.exec(q))


def create_action(*, session: Session, person_slack_id: str, point_id: int | None, course_id: str, title: str,
                  why: str, status: str = "proposed") -> DevelopmentAction:
    action = DevelopmentAction(person_slack_id=person_slack_id, point_id=point_id, kind="course",
                               course_id=course_id, title=title, why=why, status=status)
    session.add(action)
    session.flush()
    return action


def get_action(*, session: Session, action_id: int) -> DevelopmentAction | None:
    return session.get(DevelopmentAction, action_id)


def set_action_status(*, session: Session, action: DevelopmentAction, status: str,
                      record_status: str) -> LearningRecord:
    """Move an action to `status` and add the matching learning record."""
    action.status = status
    action.updated_at = utcnow()
    session.add(action)
    rec = LearningRecord(person_slack_id=action.person_slack_id, course_id=action.course_id or "",
                         action_id=action.id, status=record_status)
    session.add(rec)
    session.flush()
    return rec


def learning_records(*, session: Session, person_slack_id: str) -> list[LearningRecord]:
    q = select(LearningRecord).where(LearningRecord.person_slack_id == person_slack_id)
    return list(session.exec(q.order_by(col(LearningRecord.at))))
