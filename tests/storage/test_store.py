from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.db import session_scope
from storage.models import Answer, CheckIn, Delivery, ProcessedEvent
from storage.people import get_person, reports_of, upsert_person


def test_people_repository(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        upsert_person(session=s, slack_id="U1", name="Maria")
        upsert_person(session=s, slack_id="U2", name="Erik", manager_slack_id="U1")
    with Session(engine) as s:
        assert [p.slack_id for p in reports_of(session=s, manager_slack_id="U1")] == ["U2"]
        person = get_person(session=s, slack_id="U2")
        assert person is not None and person.created_at.tzinfo is not None


def test_datetimes_round_trip_as_aware_utc(engine) -> None:  # type: ignore[no-untyped-def]
    when = datetime(2026, 3, 29, 1, 30, tzinfo=UTC) + timedelta(microseconds=5)
    with session_scope(engine) as s:
        c = CheckIn(employee_slack_id="U2", started_at=when, question_ids=["a", "b"])
        s.add(c)
    with Session(engine) as s:
        got = s.exec(select(CheckIn)).one()
    assert got.started_at == when and got.started_at.utcoffset() == timedelta(0)
    assert got.question_ids == ["a", "b"]


def test_naive_datetimes_are_refused(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception, match="naive"), session_scope(engine) as s:
        s.add(CheckIn(employee_slack_id="U2", started_at=datetime(2026, 1, 1)))


def test_unique_keys_make_duplicates_impossible(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        c = CheckIn(employee_slack_id="U2")
        s.add(c)
        s.flush()
        cid = c.id
        s.add(Delivery(key="bc:1:U2", recipient_slack_id="U2"))
        s.add(ProcessedEvent(event_id="Ev1"))
        s.add(Answer(checkin_id=cid, question_id="q", step=0, author_slack_id="U2", text="hi", slack_ts="1.1"))
    for row in (
        Delivery(key="bc:1:U2", recipient_slack_id="U2"),
        ProcessedEvent(event_id="Ev1"),
        Answer(checkin_id=cid, question_id="q", step=0, author_slack_id="U2", text="again", slack_ts="1.1"),
    ):
        with pytest.raises(IntegrityError), session_scope(engine) as s:
            s.add(row)


def test_huge_and_unicode_text_is_stored_verbatim(engine) -> None:  # type: ignore[no-untyped-def]
    big = "汇报😀" * 10_000 + "\x00".replace("\x00", "")
    with session_scope(engine) as s:
        c = CheckIn(employee_slack_id="U2")
        s.add(c)
        s.flush()
        s.add(Answer(checkin_id=c.id, question_id="q", step=0, author_slack_id="U2", text=big, slack_ts="2.2"))
    with Session(engine) as s:
        assert s.exec(select(Answer)).one().text == big
