"""A development point with course actions for the demo and tests, as a finished check-in would leave it."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import select

from bot.services import Services
from storage.db import session_scope
from storage.models import DevelopmentAction, DevelopmentPoint

CATALOG = Path(__file__).resolve().parents[2] / "knowledge" / "data" / "catalog.jsonl"


def _titles(ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in CATALOG.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["id"] in ids:
                out[row["id"]] = row["title"]
    return out


def ensure_sample_point(
    services: Services,
    slack_id: str,
    *,
    competency: str = "communication",
    evidence: str = "I lost the room when I presented the Q3 numbers.",
    courses: tuple[str, ...] = ("co-exec-summary-en", "co-data-story-en"),
) -> int:
    """The person's open point of `competency`, created with one course action per course id if missing."""
    with session_scope(services.engine) as session:
        q = select(DevelopmentPoint).where(
            DevelopmentPoint.person_slack_id == slack_id,
            DevelopmentPoint.competency == competency,
            DevelopmentPoint.status == "open",
        )
        point = session.exec(q).first()
        if point is not None:
            return point.id or 0
        point = DevelopmentPoint(
            person_slack_id=slack_id,
            competency=competency,
            evidence=evidence,
            source="manual",
            confirmed=True,
            created_at=services.now(),
        )
        session.add(point)
        session.flush()
        titles = _titles(list(courses))
        for i, cid in enumerate(courses):
            session.add(
                DevelopmentAction(
                    point_id=point.id,
                    person_slack_id=slack_id,
                    kind="course",
                    course_id=cid,
                    title=titles.get(cid, cid),
                    status="started" if i == 0 else "accepted",
                    created_at=services.now(),
                )
            )
        return point.id or 0
