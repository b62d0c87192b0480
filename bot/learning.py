"""Learning in the loop: courses for development points, `/learn`, and what people do with suggestions.

Domain service (no Slack): the check-in calls `propose_actions` at its end; the learn surface calls
`recommend`, `start_course` and `record_outcome`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import col, select

from bot.i18n import norm_locale, shorten, t
from bot.services import Services
from knowledge.competencies import load_competency_model
from knowledge.retrieval import Filters, Hit, Preferences
from knowledge.text import names_a_topic, sentences, tokenize
from knowledge.wiring import knowledge_of
from storage import courses as repo
from storage.db import session_scope
from storage.models import DevelopmentAction, DevelopmentPoint, Person

OUTCOMES = {
    "start": ("started", "started"),
    "done": ("done", "completed"),
    "not_relevant": ("not_relevant", "not_relevant"),
}

_EN_ASK = re.compile(
    r"\b(what|which|anything|something|recommend|suggest|any)\b.{0,40}\b(learn|learning|study|course|courses|"
    r"training|read|watch|improve|upskill)\b|\blearn(ing)? next\b|\bcourse recommendations?\b",
    re.I | re.S,
)
_ZH_ASK = re.compile(
    r"学什么|学点什么|该学|学习建议|推荐.{0,6}(课|学习|书)|有什么.{0,4}课|想学|怎么提升|"
    r"下一步.{0,4}学"
)
_TOPIC = re.compile(r"\b(?:about|on|for)\s+(.{3,80}?)[?.!]*$|关于(.{2,40}?)[？?。！]*$", re.I)


@dataclass
class Suggestion:
    """A course suggested to a person, with its one-line "why this"."""

    course_id: str
    title: str
    minutes: int
    format: str
    why: str
    point_id: int | None = None


def is_learning_question(text: str) -> bool:
    """True for "what should I learn next?", "我接下来该学什么？" and similar, in either language."""
    text = (text or "").strip()
    return bool(text) and len(text) < 500 and bool(_EN_ASK.search(text) or _ZH_ASK.search(text))


def topic_of(question: str) -> str | None:
    """The topic of a learning question ("…learn about negotiation?" → "negotiation"), if it names one."""
    m = _TOPIC.search((question or "").strip())
    topic = (m.group(1) or m.group(2)).strip() if m else None
    return topic if topic and tokenize(topic) else None


def _person(services: Services, slack_id: str) -> tuple[str, str | None]:
    with session_scope(services.engine) as s:
        p = s.exec(select(Person).where(Person.slack_id == slack_id)).first()
        locale = norm_locale(p.locale if p else None, services.settings.growthloop_default_locale)
        return locale, (p.role if p else None)


def preferences(services: Services, person_slack_id: str) -> tuple[Filters, Preferences, str]:
    """Filters (drop completed) and preferences (open points, role, not relevant, language) of a person."""
    locale, role = _person(services, person_slack_id)
    with session_scope(services.engine) as s:
        points = repo.open_points(session=s, person_slack_id=person_slack_id, disputed=False)
        done = repo.course_ids_with_status(session=s, person_slack_id=person_slack_id, status="completed")
        nope = repo.course_ids_with_status(session=s, person_slack_id=person_slack_id, status="not_relevant")
    prefs = Preferences(
        language=locale,
        competencies=frozenset(p.competency for p in points),
        role_terms=tuple(tokenize(role or "")),
        downrank=frozenset(nope),
    )
    return Filters(exclude=frozenset(done)), prefs, locale


def point_query(point: DevelopmentPoint, locale: str) -> str:
    """The search text for a development point: its evidence, then the competency's name and descriptors."""
    model = load_competency_model()
    try:
        comp = model.get(point.competency)
        cues = f"{comp.name[locale]}. {' '.join(comp.descriptors[locale][:2])}"
    except KeyError:
        cues = point.competency.replace("_", " ")
    return f"{point.evidence.strip()[:600]} {cues}".strip()


def course_angle(summary: str, query: str, n: int = 90) -> str:
    """What this course offers for `query`, in a few words: the sentence of its summary that shares the most words
    with the query (the first on a tie: summaries open with what the course practises). Empty without a summary."""
    parts = sentences(summary) or ([summary.strip()] if (summary or "").strip() else [])
    if not parts:
        return ""
    asked = set(tokenize(query))
    best = max(enumerate(parts), key=lambda ip: (len(asked & set(tokenize(ip[1]))), -ip[0]))[1]
    return shorten(best, n).rstrip("。.!！")


def _suggest(hits: list[Hit], why: str, point_id: int | None = None, query: str = "") -> list[Suggestion]:
    """The hits as suggestions; each "why this" opens with what that course offers for `query`."""
    out = []
    for h in hits:
        angle = course_angle(h.course.summary, query)
        line = f"{angle} · {why}" if angle else why[:1].upper() + why[1:]
        out.append(Suggestion(h.course.id, h.course.title, h.course.duration_minutes, h.course.format, line, point_id))
    return out


def courses_for_point(
    services: Services, point: DevelopmentPoint, *, k: int = 3, base: tuple[Filters, Preferences, str] | None = None
) -> list[Suggestion]:
    """Up to `k` courses for one point: its competency first, the person's language first."""
    filters, prefs, locale = base or preferences(services, point.person_slack_id)
    kb = knowledge_of(services)
    query = point_query(point, locale)
    known = point.competency in load_competency_model().ids
    hits = (
        kb.search(
            query,
            k,
            filters=Filters(exclude=filters.exclude, competency=point.competency if known else None),
            prefs=prefs,
        )
        if known
        else []
    )
    if len(hits) < k:  # too few courses for that competency: fill from the whole catalog
        seen = {h.course.id for h in hits}
        more = kb.search(query, k + len(seen), filters=Filters(exclude=filters.exclude | seen), prefs=prefs)
        hits += more[: k - len(hits)]
    name = load_competency_model().name(point.competency, locale)
    why = t("learn_why_point", locale, competency=name, evidence=shorten(point.evidence, 60))
    return _suggest(hits, why, point.id, query=query)


def propose_actions(
    services: Services, *, person_slack_id: str, points: list[DevelopmentPoint], per_point: int = 3
) -> list[tuple[DevelopmentPoint, list[DevelopmentAction]]]:
    """For each point, up to `per_point` courses stored as proposed DevelopmentActions (returned in order)."""
    base = preferences(services, person_slack_id)
    out: list[tuple[DevelopmentPoint, list[DevelopmentAction]]] = []
    taken: set[str] = set()
    for point in points:
        f, p, loc = base
        sugg = courses_for_point(services, point, k=per_point, base=(Filters(exclude=f.exclude | taken), p, loc))
        taken |= {s.course_id for s in sugg}
        with session_scope(services.engine) as s:
            actions = [
                repo.create_action(
                    session=s,
                    person_slack_id=person_slack_id,
                    point_id=point.id,
                    course_id=x.course_id,
                    title=x.title,
                    why=x.why,
                )
                for x in sugg
            ]
        out.append((point, actions))
    return out


def recommend(
    services: Services, *, person_slack_id: str, topic: str | None = None, k: int = 3
) -> tuple[str, list[Suggestion]]:
    """Top `k` for a topic, else for the person's open points, else a starter set: (intro key, suggestions)."""
    filters, prefs, locale = preferences(services, person_slack_id)
    kb = knowledge_of(services)
    topic = (topic or "").strip()
    if not names_a_topic(topic):  # only emoji or punctuation: answer as for none
        topic = ""
    no_match = bool(topic) and kb.covers(topic) is False  # nothing is about it: say so, suggest as for no topic
    if topic and not no_match:
        hits = kb.search(topic, k, filters=filters, prefs=prefs)
        return "learn_intro_topic", _suggest(hits, t("learn_why_topic", locale, topic=shorten(topic, 40)), query=topic)
    with session_scope(services.engine) as s:  # a point its owner disputed is no reason to suggest a course
        points = repo.open_points(session=s, person_slack_id=person_slack_id, disputed=False)
    if points:
        per_point = [courses_for_point(services, p, k=k, base=(filters, prefs, locale)) for p in points[:k]]
        picked: list[Suggestion] = []
        for rank in range(k):  # round-robin over points so each gets its best course first
            for lst in per_point:
                if rank < len(lst) and all(x.course_id != lst[rank].course_id for x in picked) and len(picked) < k:
                    picked.append(lst[rank])
        return ("learn_intro_no_match" if no_match else "learn_intro_points"), picked
    _, role = _person(services, person_slack_id)
    query = f"{role or ''} {t('learn_fallback_query', locale)}".strip()
    hits = kb.search(query, k, filters=filters, prefs=prefs)
    return ("learn_intro_no_match" if no_match else "learn_intro_general"), _suggest(
        hits, t("learn_why_general", locale), query=query
    )


def start_course(
    services: Services, *, person_slack_id: str, course_id: str, point_id: int | None, why: str = ""
) -> DevelopmentAction | None:
    """A person starts a course suggested by `/learn`: a started action and a started learning record. The action
    is tied to `point_id` only when that point is the person's own (a button value can be forged)."""
    with session_scope(services.engine) as s:
        course = repo.get_course(session=s, course_id=course_id)
        if course is None:
            return None
        if point_id is not None:
            point = s.get(DevelopmentPoint, point_id)
            if point is None or point.person_slack_id != person_slack_id:
                point_id = None
        # Start pressed twice, or on an older copy of the suggestion: the course's action is the one already there
        existing = s.exec(
            select(DevelopmentAction).where(
                DevelopmentAction.person_slack_id == person_slack_id,
                DevelopmentAction.course_id == course_id,
                col(DevelopmentAction.status).in_(("proposed", "accepted", "started", "done")),
            )
        ).first()
        if existing is not None:
            if existing.status in ("proposed", "accepted"):
                repo.set_action_status(session=s, action=existing, status="started", record_status="started")
            return existing
        action = repo.create_action(
            session=s,
            person_slack_id=person_slack_id,
            point_id=point_id,
            course_id=course_id,
            title=course.title,
            why=why,
        )
        repo.set_action_status(session=s, action=action, status="started", record_status="started")
        return action


def record_outcome(
    services: Services, *, action_id: int, actor_slack_id: str, outcome: str
) -> tuple[DevelopmentAction | None, str | None]:
    """Start / Done / Not relevant on an action: (action, None), or (action|None, "not_yours"|"gone")."""
    status, record = OUTCOMES[outcome]
    with session_scope(services.engine) as s:
        action = repo.get_action(session=s, action_id=action_id)
        if action is None:
            return None, "gone"
        if action.person_slack_id != actor_slack_id:
            return action, "not_yours"
        # a second press, or Start on an older copy of a course already done: nothing changes, nothing is recorded
        if status != action.status and not (status == "started" and action.status == "done"):
            repo.set_action_status(session=s, action=action, status=status, record_status=record)
        return action, None
