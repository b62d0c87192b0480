""""What should I learn next?" in conversation: retrieval picks the candidates, the LLM only writes the reply.

The reply may cite only the candidates' ids (checked in code); a reply citing anything else is dropped and the
caller keeps its offline text.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from typing import Any

from bot.coach.llm import LlmCoach
from bot.coach.llm_prompts import LANGUAGE
from bot.coach.llm_schema import LearningReply, valid_learning_reply
from bot.coach.redact import redactor_for
from bot.services import Services
from prompts.llm_templates import template

log = logging.getLogger(__name__)
_CITE = re.compile(r"\[course:([\w.-]+)\]")


def llm_coach_of(services: Services) -> LlmCoach | None:
    """The process's LLM coach when one is configured (or installed in `extras`), else None."""
    from bot.coach import get_coach

    coach = get_coach(services)
    return coach if isinstance(coach, LlmCoach) else None


def _one_line(text: str, n: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def write_learning_reply(services: Services, *, question: str, candidates: list[dict[str, Any]],
                         locale: str) -> str | None:
    """A short reply recommending among `candidates` (dicts with id, title, summary), citing only their ids.

    Citations `[course:ID]` are checked against the candidates and then shown as the course titles. Returns None
    when no LLM is configured, when the call fails, or when the reply cites an unknown id or nothing at all.
    """
    coach = llm_coach_of(services)
    if coach is None or not candidates:
        return None
    try:
        by_id = {str(c["id"]): c for c in candidates}
        red = redactor_for(services.engine)
        courses = "\n".join(f"- [course:{cid}] {_one_line(str(c.get('title', '')), 120)} — "
                            f"{_one_line(str(c.get('summary', '')), 240)}" for cid, c in by_id.items())
        tpl = template("learning_reply")
        system, user = tpl.render(language=LANGUAGE.get(locale, "English"), nonce=secrets.token_hex(4),
                                  question=red.redact(question), courses=courses)
        out = coach.structured_call(purpose="learning", schema=LearningReply, system=system, user=user,
                                    max_tokens=tpl.max_output_tokens, checkin_id=None)
        if out is None:
            return None
        out = LearningReply(reply=red.restore(out.reply), course_ids=out.course_ids)
        text = valid_learning_reply(out, set(by_id))
        if text is None:
            coach.last["learning"].outcome = "invalid"
            coach.last["learning"].dropped.append(f"cites unknown course(s) or none: {out.course_ids}")
            return None
        return _CITE.sub(lambda m: f"*{by_id[m.group(1)].get('title', m.group(1))}*", text)
    except Exception:
        log.exception("LLM learning reply failed; offline reply kept")
        return None


def learning_intro(services: Services, *, question: str, suggestions: Sequence[Any], locale: str) -> str | None:
    """The LLM's intro for `/learn` suggestions (objects with course_id and title), or None (keep the offline one)."""
    if llm_coach_of(services) is None:
        return None
    from knowledge.base import course_lookup

    candidates = []
    for s in suggestions:
        course = course_lookup(s.course_id)
        candidates.append({"id": s.course_id, "title": s.title, "summary": course.summary if course else ""})
    return write_learning_reply(services, question=question, candidates=candidates, locale=locale)
