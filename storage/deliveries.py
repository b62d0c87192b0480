"""The persistent delivery queue: one `Delivery` row per message and recipient, unique by `key`.

Life of a row: pending -> sending (claimed, committed before the Slack call) -> sent | pending (retry later) |
failed (with the reason) | cancelled (no longer relevant, e.g. the check-in already happened).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import Broadcast, Delivery
from storage.types import utcnow

TABLE = Delivery.__table__  # type: ignore[attr-defined]


def enqueue(*, session: Session, rows: Iterable[dict[str, Any]], now: datetime) -> int:
    """Insert rows (key, kind, recipient_slack_id, payload, [broadcast_id], [next_attempt_at]); existing keys are
    left alone, so enqueuing twice is harmless. Returns how many rows were new."""
    values = [{"key": r["key"], "kind": r.get("kind", "broadcast"), "recipient_slack_id": r["recipient_slack_id"],
               "payload": r.get("payload", {}), "broadcast_id": r.get("broadcast_id"), "status": "pending",
               "attempts": 0, "next_attempt_at": r.get("next_attempt_at") or min(now, utcnow()), "created_at": now}
              for r in rows]  # due at once (even when the planning clock runs ahead, as in the demo)
    if not values:
        return 0
    dialect = session.get_bind().dialect.name
    ins = pg_insert(TABLE) if dialect == "postgresql" else sqlite_insert(TABLE)
    total = 0
    for i in range(0, len(values), 500):
        stmt = ins.on_conflict_do_nothing(index_elements=["key"]).returning(TABLE.c.id)
        total += len(session.execute(stmt, values[i:i + 500]).all())  # rowcount is unreliable for executemany
    return total


def due_ids(*, session: Session, now: datetime, limit: int = 200) -> list[int]:
    q = (select(Delivery.id).where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
         .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit))
    return [i for i in session.exec(q) if i is not None]


def next_due_at(*, session: Session) -> datetime | None:
    return session.exec(select(func.min(Delivery.next_attempt_at)).where(Delivery.status == "pending")).one()


def claim(*, session: Session, delivery_id: int, now: datetime) -> Delivery | None:
    """Atomically move one due row from pending to sending; None when another sender got it first."""
    result = session.execute(
        update(TABLE).where(TABLE.c.id == delivery_id, TABLE.c.status == "pending", TABLE.c.next_attempt_at <= now)
        .values(status="sending", claimed_at=now, attempts=TABLE.c.attempts + 1)
    )
    if result.rowcount != 1:
        return None
    return session.get(Delivery, delivery_id, populate_existing=True)


def _set(session: Session, delivery_id: int, **values: Any) -> None:
    session.execute(update(TABLE).where(TABLE.c.id == delivery_id).values(**values))


def mark_sent(*, session: Session, delivery_id: int, channel: str | None, ts: str | None, now: datetime) -> None:
    _set(session, delivery_id, status="sent", sent_at=now, channel_id=channel, slack_ts=ts, last_error=None)


def mark_retry(*, session: Session, delivery_id: int, at: datetime, error: str, refund_attempt: bool = False) -> None:
    """Back to pending until `at`; `refund_attempt` when Slack asked us to wait (429), which is not a failure."""
    extra = {"attempts": TABLE.c.attempts - 1} if refund_attempt else {}
    _set(session, delivery_id, status="pending", next_attempt_at=at, last_error=error[:500], **extra)


def mark_failed(*, session: Session, delivery_id: int, error: str, status: str = "failed") -> None:
    _set(session, delivery_id, status=status, last_error=error[:500])


def touch_claim(*, session: Session, delivery_id: int, now: datetime, error: str) -> None:
    _set(session, delivery_id, claimed_at=now, last_error=error[:500])


def stale_sending(*, session: Session, before: datetime, limit: int = 50) -> list[Delivery]:
    """Rows claimed before `before` and never confirmed: their sender died between claim and confirm."""
    q = select(Delivery).where(Delivery.status == "sending", Delivery.claimed_at <= before).limit(limit)
    return list(session.exec(q))


def counts(*, session: Session, broadcast_id: int) -> dict[str, int]:
    q = select(Delivery.status, func.count()).where(Delivery.broadcast_id == broadcast_id,
                                                    Delivery.kind != "report").group_by(Delivery.status)
    return {status: int(n) for status, n in session.exec(q)}


def failures(*, session: Session, broadcast_id: int, limit: int = 20) -> list[tuple[str, str]]:
    q = (select(Delivery.recipient_slack_id, Delivery.last_error)
         .where(Delivery.broadcast_id == broadcast_id, Delivery.status == "failed", Delivery.kind != "report")
         .order_by(Delivery.id).limit(limit))
    return [(r, e or "") for r, e in session.exec(q)]


def unfinished_broadcasts(*, session: Session) -> list[Broadcast]:
    """Broadcasts whose report is not out yet."""
    return list(session.exec(select(Broadcast).where(Broadcast.report_sent == False)))  # noqa: E712


def open_count(*, session: Session, broadcast_id: int) -> int:
    q = select(func.count()).select_from(Delivery).where(
        Delivery.broadcast_id == broadcast_id, col(Delivery.status).in_(["pending", "sending"]),
        Delivery.kind != "report")
    return int(session.exec(q).one())
