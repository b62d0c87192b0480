"""Adaptive follow-ups: after an employee's answer the coach may suggest one question to the manager, at most one
per topic per check-in (`CheckIn.followups_used` holds the topics already used)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.coach import get_coach
from bot.i18n import norm_locale
from bot.person_cache import cached_person
from bot.services import Services
from prompts.questions import load_bank
from storage import checkins as repo
from storage.db import session_scope
from storage.models import Answer, CheckIn


@dataclass
class FollowUpHint:
    manager_slack_id: str
    locale: str
    text: str
    topic: str


def suggest_follow_up(services: Services, *, checkin: CheckIn, answer: Answer) -> FollowUpHint | None:
    """The coach's follow-up for `answer`, for the manager of a guided check-in; None when there is none to give."""
    if checkin.kind != "guided" or not checkin.manager_slack_id or answer.author_slack_id != checkin.employee_slack_id:
        return None
    question = load_bank().get(answer.question_id)
    if question.topic in (checkin.followups_used or []):
        return None
    manager = cached_person(services, checkin.manager_slack_id)
    employee = cached_person(services, checkin.employee_slack_id)
    locale = norm_locale(manager.locale if manager else None)
    first = (employee.name or "").split(" ")[0] if employee else ""
    text = get_coach(services).follow_up(question_text=question.render(locale, first), answer_text=answer.text,
                                         locale=locale, checkin_id=checkin.id)
    if not text:
        return None
    with session_scope(services.engine) as session:  # claim the topic; a concurrent answer may have taken it
        fresh = repo.get_checkin(session=session, checkin_id=checkin.id or 0, lock=True)
        if fresh is None or fresh.state != "open" or question.topic in (fresh.followups_used or []):
            return None
        fresh.followups_used = [*(fresh.followups_used or []), question.topic]
        session.add(fresh)
    return FollowUpHint(checkin.manager_slack_id, locale, text, question.topic)
