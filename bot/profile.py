"""The growth log and talent profile of one person, and who may see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select

from bot.access import resolve_access
from bot.i18n import load_strings, t
from bot.services import Services
from knowledge.competencies import load_competency_model
from storage import checkins as repo
from storage.db import session_scope
from storage.models import AuditLog, Course, Goal, Person
from storage.people import get_person


@dataclass
class Entry:
    at: datetime
    kind: str  # checkin | answer | point | action | learning | kudos
    text: str


@dataclass
class GrowthLog:
    person: Person
    entries: list[Entry] = field(default_factory=list)
    open_points: int = 0
    closed_points: int = 0
    courses_done: int = 0
    kudos: int = 0
    answers_hidden: bool = False


def growth_log(services: Services, *, viewer_slack_id: str, subject_slack_id: str, locale: str) -> GrowthLog | None:
    """The timeline for `subject`, or None when `viewer` may not see it. HR reads are audited."""
    with session_scope(services.engine) as session:
        viewer = get_person(session=session, slack_id=viewer_slack_id)
        subject = get_person(session=session, slack_id=subject_slack_id)
        if subject is None or subject.forgotten:
            return None
        access = resolve_access(services, viewer)  # the same rules the listeners check
        if not access.may_view_person(subject.slack_id):
            return None
        sees_answers = access.may_read_checkin(
            manager=subject.manager_slack_id,
            employee=subject.slack_id,
            hr_can_read=services.settings.growthloop_hr_can_read_checkins,
        )
        if (
            viewer
            and viewer.is_hr_admin
            and viewer.slack_id != subject.slack_id
            and subject.manager_slack_id != viewer.slack_id
        ):
            session.add(
                AuditLog(
                    actor_slack_id=viewer.slack_id,
                    action="hr.read_growth_log",
                    subject_slack_id=subject.slack_id,
                    detail={"answers": sees_answers},
                )
            )
        model = load_competency_model()
        log = GrowthLog(person=subject, answers_hidden=not sees_answers)
        for c in repo.checkins_of(session=session, person_slack_id=subject_slack_id):
            label = t("growth_kind_reflection" if c.kind == "reflection" else "growth_kind_checkin", locale)
            log.entries.append(
                Entry(
                    c.started_at,
                    "checkin",
                    f"{label} · {_state(c.state, locale)}" + (f" · {c.summary}" if c.summary and sees_answers else ""),
                )
            )
            if sees_answers:
                for a in repo.answers_of(session=session, checkin_id=c.id or 0):
                    if a.author_slack_id == subject_slack_id and a.text.strip():
                        log.entries.append(Entry(a.created_at, "answer", a.text[:300]))
        for p in repo.points_of(session=session, person_slack_id=subject_slack_id):
            status = _state(p.status, locale) + (" · " + _state("disputed", locale) if p.disputed else "")
            evidence = f" “{p.evidence[:200]}”" if sees_answers else ""
            log.entries.append(Entry(p.created_at, "point", f"{model.name(p.competency, locale)} ({status}){evidence}"))
            log.open_points += p.status == "open"
            log.closed_points += p.status == "closed"
        for a in repo.actions_of(session=session, person_slack_id=subject_slack_id):
            log.entries.append(Entry(a.updated_at, "action", f"{a.title} ({_state(a.status, locale)})"))
        records = repo.learning_of(session=session, person_slack_id=subject_slack_id)
        titles = _course_titles(session, {r.course_id for r in records})
        for r in records:
            title = titles.get(r.course_id, r.course_id)
            log.entries.append(Entry(r.at, "learning", f"{title} · {_state(r.status, locale)}"))
            log.courses_done += r.status == "completed"
        open_comps = {
            p.competency for p in repo.points_of(session=session, person_slack_id=subject_slack_id, status="open")
        }
        for k in repo.kudos_received(session=session, person_slack_id=subject_slack_id):
            tags = [model.name(c, locale) for c in k.competencies or []]
            evidence = [model.name(c, locale) for c in k.competencies or [] if c in open_comps]
            suffix = f" ({', '.join(tags)})" if tags else ""
            if evidence:
                suffix += " · " + t("growth_kudos_evidence", locale, competencies=", ".join(evidence))
            log.entries.append(Entry(k.created_at, "kudos", f"<@{k.giver_slack_id}>: {k.message[:200]}{suffix}"))
            log.kudos += 1
        for g in session.exec(select(Goal).where(Goal.person_slack_id == subject_slack_id)).all():
            dev = f" · {model.name(g.development_competency, locale)}" if g.development_competency else ""
            log.entries.append(Entry(g.created_at, "goal", f"{g.result_text[:200]} ({_state(g.status, locale)}){dev}"))
        log.entries.sort(key=lambda e: e.at)
        return log


def _state(value: str, locale: str) -> str:
    """A stored status ("not_relevant", "done") in the reader's words; an unknown one as it is, readable."""
    key = f"growth_state_{value}"
    return t(key, locale) if key in load_strings() else value.replace("_", " ")


def _course_titles(session, ids: set[str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The catalog titles of `ids` (a course removed from the catalog keeps its id)."""
    if not ids:
        return {}
    rows = session.exec(select(Course).where(col(Course.id).in_(sorted(ids)))).all()
    return {c.id: c.title for c in rows}
