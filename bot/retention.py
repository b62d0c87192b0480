"""Retention: erase personal texts older than `growthloop_retention_days`; keep the rows, so counts stay.

What is erased (replaced by `[erased]`, like `bot.privacy.forget_person`): answer texts and their earlier
versions (reflections are answers too), check-in summaries, development-point evidence, reasons and dispute
notes, development actions' reasons (they quote the evidence), kudos messages, and the message payloads of old
deliveries. Processed-event rows (retry dedupe) older than 7 days are deleted: Slack never retries that late. Every
run is idempotent and is written to the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select

from bot.privacy import ERASED
from bot.services import Services
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

EVENTS_KEPT = timedelta(days=7)


def cutoff(services: Services, now: datetime | None = None) -> datetime:
    """The instant before which personal texts are erased."""
    return (now or services.now()) - timedelta(days=services.settings.growthloop_retention_days)


def prune(services: Services, *, now: datetime | None = None) -> dict[str, int]:
    """Erase personal texts older than the retention period; returns rows touched per kind."""
    now = now or services.now()
    before = cutoff(services, now)
    stmts: dict[str, Any] = {
        "answer": update(Answer)
        .where(col(Answer.created_at) < before, col(Answer.text) != ERASED)
        .values(text=ERASED, edits=[]),
        "checkin_summary": update(CheckIn)
        .where(col(CheckIn.started_at) < before, col(CheckIn.summary).is_not(None), col(CheckIn.state) != "open")
        .values(summary=None),
        "development_point": update(DevelopmentPoint)
        .where(col(DevelopmentPoint.created_at) < before, col(DevelopmentPoint.evidence) != ERASED)
        .values(evidence=ERASED, reason="", dispute_text=None),
        # an action's "why" quotes the point's evidence ("…, tied to: “…”")
        "action": update(DevelopmentAction)
        .where(col(DevelopmentAction.created_at) < before, col(DevelopmentAction.why) != ERASED)
        .values(why=ERASED),
        "recognition": update(Recognition)
        .where(col(Recognition.created_at) < before, col(Recognition.message) != ERASED)
        .values(message=ERASED),
        "processed_event": delete(ProcessedEvent).where(col(ProcessedEvent.received_at) < now - EVENTS_KEPT),
    }
    counts: dict[str, int] = {}
    with session_scope(services.engine) as session:
        for kind, stmt in stmts.items():
            counts[kind] = int(session.execute(stmt.execution_options(synchronize_session=False)).rowcount or 0)
        old = session.exec(
            select(Delivery).where(col(Delivery.created_at) < before, col(Delivery.status).in_(("sent", "failed")))
        ).all()
        counts["delivery"] = 0
        for d in old:  # JSON has no equality operator on PostgreSQL: filter the (few) non-empty payloads here
            if d.payload:
                d.payload = {}
                session.add(d)
                counts["delivery"] += 1
        if any(v for k, v in counts.items() if k != "processed_event"):
            session.add(
                AuditLog(actor_slack_id=None, action="retention.prune", detail={**counts, "before": before.isoformat()})
            )
    return counts
