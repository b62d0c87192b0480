"""Repository functions for recognition (kudos)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, cast
from sqlmodel import Session, select

from storage.models import Recognition


def add_recognition(
    *,
    session: Session,
    giver_slack_id: str,
    receivers: list[str],
    message: str,
    values: list[str],
    competencies: list[str],
    created_at: datetime,
) -> Recognition:
    row = Recognition(
        giver_slack_id=giver_slack_id,
        receivers=receivers,
        message=message,
        values=values,
        competencies=competencies,
        created_at=created_at,
    )
    session.add(row)
    session.flush()
    return row


def given_since(*, session: Session, giver_slack_id: str, since: datetime) -> list[Recognition]:
    q = select(Recognition).where(Recognition.giver_slack_id == giver_slack_id, Recognition.created_at >= since)
    return list(session.exec(q))


def received_by(
    *,
    session: Session,
    slack_id: str,
    since: datetime | None = None,
    limit: int | None = None,
    competency: str | None = None,
) -> list[Recognition]:
    """Kudos `slack_id` received, newest first.

    The JSON list is matched as text first (the same on SQLite and PostgreSQL), then exactly in Python.
    """
    q = select(Recognition).where(cast(Recognition.receivers, String).like(f'%"{slack_id}"%'))
    if since is not None:
        q = q.where(Recognition.created_at >= since)
    q = q.order_by(Recognition.created_at.desc(), Recognition.id.desc())  # type: ignore[attr-defined, union-attr]
    rows = [
        r for r in session.exec(q) if slack_id in r.receivers and (competency is None or competency in r.competencies)
    ]
    return rows[:limit] if limit is not None else rows


def set_channel_post(*, session: Session, recognition_id: int, channel_id: str, channel_ts: str) -> None:
    row = session.get(Recognition, recognition_id)
    if row is not None:
        row.channel_id, row.channel_ts = channel_id, channel_ts
        session.add(row)
