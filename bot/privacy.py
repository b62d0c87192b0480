"""Export one person's data (or everything) and erase a person's personal data ("forget").

Forgetting replaces the Slack id everywhere with an anonymous id and erases texts (answers, evidence, kudos,
reflections, dispute notes), so aggregate counts (check-ins done, points opened/closed, courses completed) stay.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from bot.services import Services
from storage.db import session_scope
from storage.models import (
    Answer,
    AuditLog,
    Broadcast,
    Cadence,
    CapabilityMapVersion,
    CheckIn,
    Cycle,
    Delivery,
    DevelopmentAction,
    DevelopmentPoint,
    Goal,
    LearningRecord,
    Nudge,
    Person,
    Recognition,
)

ERASED = "[erased]"


def _row(kind: str, obj: SQLModel) -> dict[str, Any]:
    data = obj.model_dump()
    for k, v in list(data.items()):
        if isinstance(v, datetime | date):
            data[k] = v.isoformat()
    return {"type": kind, **data}


def export_records(services: Services, *, person: str | None = None) -> Iterator[dict[str, Any]]:
    """Every record (or only those about `person`), one dict per line of the JSON Lines export."""
    with Session(services.engine) as s:
        people = s.exec(select(Person).where(Person.slack_id == person) if person else select(Person)).all()
        for p in people:
            yield _row("person", p)
        checkins = s.exec(select(CheckIn).order_by(col(CheckIn.id))).all()
        mine = [c for c in checkins if person is None or person in (c.employee_slack_id, c.manager_slack_id)]
        ids = {c.id for c in mine}
        # A manager's own export holds their check-ins and what they wrote in them; the employee's answers and the
        # summary about the employee are the employee's data (in the employee's export, and the full one).
        about = {c.id for c in mine if person is None or c.employee_slack_id == person}
        for c in mine:
            row = _row("checkin", c)
            if c.id not in about:
                row["summary"] = None
            yield row
        for a in s.exec(select(Answer).order_by(col(Answer.id))).all():
            if a.checkin_id in ids and (a.checkin_id in about or a.author_slack_id == person):
                yield _row("answer", a)
        for p in s.exec(select(DevelopmentPoint)).all():
            if person is None or p.person_slack_id == person:
                yield _row("development_point", p)
        for a in s.exec(select(DevelopmentAction)).all():
            if person is None or a.person_slack_id == person:
                yield _row("action", a)
        for r in s.exec(select(Recognition)).all():
            if person is None or person == r.giver_slack_id or person in (r.receivers or []):
                yield _row("recognition", r)
        for r in s.exec(select(LearningRecord)).all():
            if person is None or r.person_slack_id == person:
                yield _row("learning_record", r)
        for g in s.exec(select(Goal)).all():
            if person is None or g.person_slack_id == person:
                yield _row("goal", g)
        if person is None:
            for b in s.exec(select(Broadcast)).all():
                yield _row("broadcast", b)
        for d in s.exec(select(Delivery)).all():
            if person is None or d.recipient_slack_id == person:
                yield _row("delivery", d)


def person_exists(services: Services, slack_id: str) -> bool:
    """Whether the store knows `slack_id` (a forgotten person is known only by their anonymous id)."""
    with Session(services.engine) as s:
        return s.exec(select(Person.id).where(Person.slack_id == slack_id)).first() is not None


def write_export(services: Services, out: Any, *, person: str | None = None) -> int:
    n = 0
    for rec in export_records(services, person=person):
        out.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
        n += 1
    return n


def anonymous_id() -> str:
    """A fresh pseudonym for a forgotten person. Random, not derived from their Slack id: a hash of the id could be
    recomputed from any list of Slack ids (an export has one) and would link the person back to what was kept."""
    return "ANON-" + secrets.token_hex(5).upper()


def _rename(row: Any, fields: tuple[str, ...], old: str, new: str) -> bool:
    """Replace `old` by `new` in these fields of `row`; True when any of them held it."""
    hit = False
    for name in fields:
        if getattr(row, name) == old:
            setattr(row, name, new)
            hit = True
    return hit


def forget_person(services: Services, *, slack_id: str, actor: str | None = None) -> dict[str, int]:
    """Erase `slack_id`'s personal data; returns how many rows of each kind were touched."""
    anon = anonymous_id()
    counts: dict[str, int] = {}

    def bump(k: str) -> None:
        counts[k] = counts.get(k, 0) + 1

    with session_scope(services.engine) as s:
        person = s.exec(select(Person).where(Person.slack_id == slack_id)).first()
        if person is None:
            return counts
        person.slack_id, person.name, person.email, person.forgotten = anon, "", None, True
        person.role = None
        s.add(person)
        bump("person")
        for p in s.exec(select(Person).where(Person.manager_slack_id == slack_id)).all():
            p.manager_slack_id = anon
            s.add(p)
        checkins = s.exec(select(CheckIn)).all()
        for c in checkins:
            touched = False
            if c.employee_slack_id == slack_id:
                c.employee_slack_id, c.summary, touched = anon, None, True
            if c.manager_slack_id == slack_id:
                c.manager_slack_id, touched = anon, True
            if touched:
                s.add(c)
                bump("checkin")
                for a in s.exec(select(Answer).where(Answer.checkin_id == c.id)).all():
                    if c.employee_slack_id == anon or a.author_slack_id == slack_id:
                        a.text, a.edits = ERASED, []
                    if a.author_slack_id == slack_id:
                        a.author_slack_id = anon
                    s.add(a)
                    bump("answer")
        for p in s.exec(select(DevelopmentPoint).where(DevelopmentPoint.person_slack_id == slack_id)).all():
            p.person_slack_id, p.evidence, p.reason, p.dispute_text = anon, ERASED, "", None
            s.add(p)
            bump("development_point")
        for a in s.exec(select(DevelopmentAction).where(DevelopmentAction.person_slack_id == slack_id)).all():
            a.person_slack_id, a.why = anon, ERASED  # the why quotes the point's evidence
            s.add(a)
            bump("action")
        for r in s.exec(select(LearningRecord).where(LearningRecord.person_slack_id == slack_id)).all():
            r.person_slack_id = anon
            s.add(r)
            bump("learning_record")
        for g in s.exec(select(Goal).where(Goal.person_slack_id == slack_id)).all():
            g.person_slack_id, g.result_text, g.measure, g.development_text = anon, ERASED, "", ""
            s.add(g)
            bump("goal")
        for r in s.exec(select(Recognition)).all():
            if r.giver_slack_id == slack_id or slack_id in (r.receivers or []):
                r.giver_slack_id = anon if r.giver_slack_id == slack_id else r.giver_slack_id
                r.receivers = [anon if x == slack_id else x for x in r.receivers or []]
                r.message = ERASED
                s.add(r)
                bump("recognition")
        for d in s.exec(select(Delivery).where(Delivery.recipient_slack_id == slack_id)).all():
            d.recipient_slack_id, d.payload = anon, {}
            s.add(d)
            bump("delivery")
        for d in s.exec(select(Delivery).where(col(Delivery.key).contains(slack_id))).all():
            # keys name the people a message is about ("nudge:MGR:EMP:slot"): the id must not survive there either
            d.key = ":".join(anon if part == slack_id else part for part in d.key.split(":"))
            s.add(d)
        for row in s.exec(select(Cadence)).all():
            if _rename(row, ("manager_slack_id", "employee_slack_id"), slack_id, anon):
                s.add(row)
        for made in [
            *s.exec(select(Broadcast).where(Broadcast.created_by == slack_id)).all(),
            *s.exec(select(Cycle).where(Cycle.created_by == slack_id)).all(),
        ]:
            made.created_by = anon
            s.add(made)
        for version in s.exec(select(CapabilityMapVersion).where(CapabilityMapVersion.loaded_by == slack_id)).all():
            version.loaded_by = anon
            s.add(version)
        for n in s.exec(select(Nudge)).all():
            if _rename(n, ("manager_slack_id", "employee_slack_id"), slack_id, anon):
                s.add(n)
        for a in s.exec(select(AuditLog)).all():
            if _rename(a, ("actor_slack_id", "subject_slack_id"), slack_id, anon):
                s.add(a)
        s.add(AuditLog(actor_slack_id=actor, action="person.forget", subject_slack_id=anon, detail=counts))
    return counts
