"""Repository functions for people."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam
from sqlmodel import Session, select

from storage.models import Person
from storage.types import utcnow

_BY_SLACK_ID = select(Person).where(Person.slack_id == bindparam("slack_id"))  # built once (see storage.checkins)


def get_person(*, session: Session, slack_id: str) -> Person | None:
    return session.exec(_BY_SLACK_ID, params={"slack_id": slack_id}).first()


def list_people(*, session: Session, include_forgotten: bool = False) -> list[Person]:
    q = select(Person).order_by(Person.slack_id)
    if not include_forgotten:
        q = q.where(Person.forgotten == False)  # noqa: E712
    return list(session.exec(q))


def reports_of(*, session: Session, manager_slack_id: str) -> list[Person]:
    q = select(Person).where(Person.manager_slack_id == manager_slack_id, Person.forgotten == False)  # noqa: E712
    return list(session.exec(q.order_by(Person.name)))


def upsert_person(*, session: Session, slack_id: str, **fields: object) -> Person:
    """Create or update a person; only the given fields change."""
    person = get_person(session=session, slack_id=slack_id)
    if person is None:
        person = Person(slack_id=slack_id)
    for key, value in fields.items():
        setattr(person, key, value)
    person.updated_at = utcnow()
    session.add(person)
    session.flush()
    return person


def people_by_ids(*, session: Session, slack_ids: Iterable[str]) -> dict[str, Person]:
    ids = list(set(slack_ids))
    if not ids:
        return {}
    return {p.slack_id: p for p in session.exec(select(Person).where(Person.slack_id.in_(ids)))}  # type: ignore[attr-defined]
