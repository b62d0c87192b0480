"""Retention with a fixed clock (both stores), and the daily jobs: prune, close abandoned check-ins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.demo.sandbox import Sandbox
from bot.privacy import ERASED
from bot.retention import prune
from bot.services import Services
from scheduler import jobs
from storage.db import session_scope
from storage.models import (
    Answer,
    AuditLog,
    CheckIn,
    Delivery,
    DevelopmentAction,
    DevelopmentPoint,
    ProcessedEvent,
    Recognition,
)

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=3 * 365 + 1)  # just past the default retention of three years
RECENT = NOW - timedelta(days=3 * 365 - 1)


def _seed(services: Services) -> None:
    with session_scope(services.engine) as s:
        for i, at in enumerate((OLD, RECENT)):
            c = CheckIn(
                employee_slack_id="UE",
                manager_slack_id="UM",
                state="done",
                summary=f"summary {i}",
                started_at=at,
                last_activity_at=at,
                finished_at=at,
                thread_ts=f"{i}.1",
                channel_id="G1",
            )
            s.add(c)
            s.flush()
            s.add(
                Answer(
                    checkin_id=c.id or 0,
                    question_id="q",
                    step=0,
                    author_slack_id="UE",
                    text=f"answer {i}",
                    slack_ts=f"{i}.2",
                    edits=[{"text": "first", "at": at.isoformat()}],
                    created_at=at,
                )
            )
            s.add(
                DevelopmentPoint(
                    person_slack_id="UE",
                    checkin_id=c.id,
                    competency="feedback",
                    evidence=f"ev {i}",
                    reason="why",
                    dispute_text="no",
                    created_at=at,
                )
            )
            s.add(
                DevelopmentAction(
                    person_slack_id="UE", title="Course", why=f"Practises feedback, tied to: “ev {i}”", created_at=at
                )
            )
            s.add(Recognition(giver_slack_id="UM", receivers=["UE"], message=f"thanks {i}", created_at=at))
            s.add(Delivery(key=f"k{i}", recipient_slack_id="UE", payload={"text": "hi"}, status="sent", created_at=at))
        s.add(ProcessedEvent(event_id="Ev-old", received_at=NOW - timedelta(days=8)))
        s.add(ProcessedEvent(event_id="Ev-new", received_at=NOW - timedelta(days=6)))


def test_prune_erases_old_texts_keeps_counts_and_is_idempotent(services: Services) -> None:
    services.clock = lambda: NOW
    _seed(services)
    counts = prune(services)
    assert counts == {
        "answer": 1,
        "checkin_summary": 1,
        "development_point": 1,
        "action": 1,
        "recognition": 1,
        "processed_event": 1,
        "delivery": 1,
    }
    with session_scope(services.engine) as s:
        answers = s.exec(select(Answer).order_by(Answer.id)).all()
        assert [(a.text, a.edits) for a in answers] == [
            (ERASED, []),
            ("answer 1", [{"text": "first", "at": RECENT.isoformat()}]),
        ]
        assert [c.summary for c in s.exec(select(CheckIn).order_by(CheckIn.id))] == [None, "summary 1"]
        points = s.exec(select(DevelopmentPoint).order_by(DevelopmentPoint.id)).all()
        assert [(p.evidence, p.reason, p.dispute_text) for p in points] == [(ERASED, "", None), ("ev 1", "why", "no")]
        assert [r.message for r in s.exec(select(Recognition).order_by(Recognition.id))] == [ERASED, "thanks 1"]
        whys = [a.why for a in s.exec(select(DevelopmentAction).order_by(DevelopmentAction.id))]
        assert whys == [ERASED, "Practises feedback, tied to: “ev 1”"]
        assert [d.payload for d in s.exec(select(Delivery).order_by(Delivery.id))] == [{}, {"text": "hi"}]
        assert [e.event_id for e in s.exec(select(ProcessedEvent))] == ["Ev-new"]
        assert [a.action for a in s.exec(select(AuditLog))] == ["retention.prune"]
    assert set(prune(services).values()) == {0}  # a second run changes nothing
    services.settings.growthloop_retention_days = 30  # a shorter setting reaches the recent rows too
    assert prune(services)["answer"] == 1


def test_scheduler_jobs_prune_and_close_abandoned_checkins(sandbox: Sandbox) -> None:
    sb = sandbox
    sb.services.clock = lambda: NOW
    _seed(sb.services)
    root = sb.stub.post_as_user("U0BOT", "G0PAIR", "Check-in")
    with session_scope(sb.services.engine) as s:
        c = CheckIn(
            employee_slack_id="U0EMP",
            manager_slack_id="U0MGR",
            channel_id="G0PAIR",
            thread_ts=root["ts"],
            started_at=NOW - timedelta(days=9),
            last_activity_at=NOW - timedelta(days=8),
        )
        fresh = CheckIn(
            employee_slack_id="U0EMP2",
            manager_slack_id="U0MGR",
            channel_id="G0PAIR",
            thread_ts="77.1",
            started_at=NOW - timedelta(days=2),
            last_activity_at=NOW - timedelta(days=1),
        )
        s.add(c)
        s.add(fresh)
        s.flush()
        ids = (c.id, fresh.id)
    jobs.bind(sb.services)
    assert jobs.retention()["answer"] == 1
    assert jobs.close_abandoned() == 1
    with session_scope(sb.services.engine) as s:
        assert [s.get(CheckIn, i).state for i in ids] == ["abandoned", "open"]  # type: ignore[union-attr]
    update = sb.stub.wait_for(lambda st: [u for u in st.calls_of("chat.update") if u.params["ts"] == root["ts"]])
    assert update[0].params["channel"] == "G0PAIR"
    assert jobs.close_abandoned() == 0
