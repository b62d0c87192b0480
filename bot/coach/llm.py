"""The LLM coach: langchain-openai `ChatOpenAI` (any OpenAI-compatible server) on top of the offline coach.

Every call: redact (names, mentions, emails, phones, secret URLs) → prompt from `prompts/llm/*.yaml` with the
answers as delimited untrusted data → `with_structured_output(json_schema, include_raw=True)` under a hard
deadline → usage recorded → every field checked in code → placeholders restored. Anything that fails (budget,
timeout, error, invalid output) gives the offline result: the answers are already stored, nobody waits longer
than the timeout, and the LLM result is merged with the offline one, never substituted for it.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel

from bot.coach.base import Analysis, Coach, PointDraft
from bot.coach.budget import record_usage, within_budget
from bot.coach.llm_prompts import extract_prompt, follow_up_prompt
from bot.coach.llm_schema import (
    CheckinExtraction,
    FollowUpQuestion,
    looks_like_injection,
    safe_text,
    valid_follow_up,
    verbatim_in,
)
from bot.coach.redact import Redactor, redactor_for
from bot.services import Services
from bot.settings import Settings
from knowledge.competencies import load_competency_model
from storage.models import Answer

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)
MAX_RETRIES = 1
FOLLOW_UP_DEADLINE_S = 8.0  # a follow-up hint sits between two questions: never hold the next one long
MAX_POINTS = 4
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="llm")


@dataclass
class CallReport:
    """What happened to the last call of a purpose: outcome and what validation dropped (for tests and bench)."""

    outcome: str  # ok | budget | timeout | error | invalid
    dropped: list[str] = field(default_factory=list)


class LlmCoach:
    """The Coach protocol over an OpenAI-compatible chat model; `fallback` (offline) answers whenever it cannot."""

    def __init__(self, services: Services, fallback: Coach | None = None, *, settings: Settings | None = None) -> None:
        from bot.coach.offline import OfflineCoach

        self.services = services
        self.settings = settings or services.settings
        self.fallback: Coach = fallback or OfflineCoach()
        self.ids = set(load_competency_model().ids)
        self.last: dict[str, CallReport] = {}
        self.last_extraction: Analysis | None = None  # the LLM's own checked analysis (before the merge)
        self._models: dict[int, Any] = {}

    # --- the model ----------------------------------------------------------------------------------------------

    def chat_model(self, max_tokens: int) -> Any:
        """A `ChatOpenAI` for this server, model and output limit (cached per limit)."""
        if max_tokens not in self._models:
            from langchain_openai import ChatOpenAI
            from pydantic import SecretStr

            s = self.settings
            options: dict[str, Any] = {"max_tokens": max_tokens, "temperature": 0.2}
            self._models[max_tokens] = ChatOpenAI(
                model=s.openai_model, api_key=SecretStr(s.openai_api_key or ""), base_url=s.openai_base_url,
                timeout=s.growthloop_llm_timeout_s, max_retries=MAX_RETRIES, **options,
            )
        return self._models[max_tokens]

    def structured_call(self, *, purpose: str, schema: type[T], system: str, user: str, max_tokens: int,
                        checkin_id: int | None, deadline_s: float | None = None) -> T | None:
        """One structured call, or None (budget spent, timeout, error or unparsable reply: see `self.last`)."""
        if not within_budget(self.services, budget=self.settings.growthloop_llm_monthly_token_budget):
            self.last[purpose] = CallReport("budget")
            return None
        runnable = self.chat_model(max_tokens).with_structured_output(schema, method="json_schema", include_raw=True,
                                                                      strict=True)
        messages = [SystemMessage(content=system), HumanMessage(content=user)]

        def work() -> dict[str, Any]:
            out: dict[str, Any] = runnable.invoke(messages)
            usage = getattr(out.get("raw"), "usage_metadata", None)
            record_usage(self.services, purpose=purpose, usage=dict(usage or {}), checkin_id=checkin_id)
            return out

        deadline = min(deadline_s or self.settings.growthloop_llm_timeout_s, self.settings.growthloop_llm_timeout_s)
        try:
            out = _POOL.submit(work).result(timeout=deadline)
        except FutureTimeout:
            log.warning("LLM %s call timed out after %.1fs; using the offline coach", purpose, deadline)
            self.last[purpose] = CallReport("timeout")
            return None
        except ValueError as exc:  # the reply did not parse into the schema (pydantic, JSON, output parser errors)
            self.last[purpose] = CallReport("invalid", [f"unparsable: {type(exc).__name__}"])
            return None
        except Exception as exc:  # any client or HTTP error: the offline path answers
            log.warning("LLM %s call failed (%s); using the offline coach", purpose, type(exc).__name__)
            self.last[purpose] = CallReport("error", [type(exc).__name__])
            return None
        parsed = out.get("parsed")
        if out.get("parsing_error") is not None or not isinstance(parsed, schema):
            self.last[purpose] = CallReport("invalid", [f"unparsable: {out.get('parsing_error')!s:.200}"])
            return None
        self.last[purpose] = CallReport("ok")
        return parsed

    # --- the coach protocol -------------------------------------------------------------------------------------

    def analyse(self, *, answers: list[Answer], employee_slack_id: str, locale: str,
                checkin_id: int | None = None) -> Analysis:
        """The offline analysis, merged with the LLM's checked summary, points and actions when it gives any."""
        def llm_part() -> Analysis | None:
            try:
                return self.extract(answers=answers, employee_slack_id=employee_slack_id, locale=locale,
                                    checkin_id=checkin_id)
            except Exception:  # never let the LLM path cost a check-in its result
                log.exception("LLM extraction failed; offline result kept")
                return None

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="llm-analyse") as side:
            pending = side.submit(llm_part)  # the LLM works while the offline coach does (the slower sets the pace)
            offline = self.fallback.analyse(answers=answers, employee_slack_id=employee_slack_id, locale=locale,
                                            checkin_id=checkin_id)
            extra = pending.result()  # bounded: extract() gives up at the deadline
        return merge(offline, extra) if extra is not None else offline

    def extract(self, *, answers: list[Any], employee_slack_id: str, locale: str,
                checkin_id: int | None = None) -> Analysis | None:
        """The LLM's own analysis, every part checked (None when there is nothing usable)."""
        texts = [a for a in answers if (a.text or "").strip()]
        if not texts:
            return None
        red = redactor_for(self.services.engine)
        system, user, max_tokens = extract_prompt(red, texts, employee_slack_id=employee_slack_id, locale=locale)
        out = self.structured_call(purpose="analyse", schema=CheckinExtraction, system=system, user=user,
                                   max_tokens=max_tokens, checkin_id=checkin_id)
        if out is None:
            return None
        self.last_extraction = self.check_extraction(out, red, [a.text for a in texts])
        return self.last_extraction

    def check_extraction(self, out: CheckinExtraction, red: Redactor, answers: list[str]) -> Analysis | None:
        """Keep only what passes: known competency, verbatim evidence, safe prose. Drops are noted in `last`.

        When an answer reads like instructions to a model, the model's prose (summary, actions) is not used for
        this check-in and no evidence may come from that answer: an obeyed injection leaves no trace.
        """
        report = self.last.setdefault("analyse", CallReport("ok"))
        suspicious = [a for a in answers if looks_like_injection(a)]
        clean = [a for a in answers if a not in suspicious]
        points: list[PointDraft] = []
        for p in out.development_points[:MAX_POINTS]:
            if p.competency not in self.ids:
                report.dropped.append(f"unknown competency {p.competency!r}")
                continue
            evidence = verbatim_in(red.restore(p.evidence), clean)
            if evidence is None:
                report.dropped.append(f"evidence not in the answers: {p.evidence[:80]!r}")
                continue
            reason = safe_text(red.restore(p.reason), 300) or "LLM"
            points.append(PointDraft(competency=p.competency, evidence=evidence, confidence=round(p.confidence, 2),
                                     reason=reason, source="llm"))
        summary = None if suspicious else safe_text(red.restore(out.summary), 1200)
        if summary is None and out.summary:
            report.dropped.append("summary")
        actions = [] if suspicious else [a for a in (safe_text(red.restore(x), 200) for x in out.proposed_actions[:3])
                                         if a]
        if summary is None and not points and not actions:
            report.outcome = "invalid"
            return None
        return Analysis(summary=summary or "", points=points, proposed_actions=actions)

    def follow_up(self, *, question_text: str, answer_text: str, locale: str,
                  checkin_id: int | None = None) -> str | None:
        """One short open question grounded in the answer, or None (also on any failure)."""
        if len((answer_text or "").strip()) < 12 or looks_like_injection(answer_text):
            return None
        try:
            red = redactor_for(self.services.engine)
            system, user, max_tokens = follow_up_prompt(red, question_text, answer_text, locale=locale)
            out = self.structured_call(purpose="follow_up", schema=FollowUpQuestion, system=system, user=user,
                                       max_tokens=max_tokens, checkin_id=checkin_id, deadline_s=FOLLOW_UP_DEADLINE_S)
            if out is None or out.question is None:
                return None
            question = valid_follow_up(red.restore(out.question), answer_text)
            if question is None:
                self.last["follow_up"].dropped.append(f"follow-up rejected: {out.question[:80]!r}")
                self.last["follow_up"].outcome = "invalid"
            return question
        except Exception:
            log.exception("LLM follow-up failed")
            return None


def merge(offline: Analysis, llm: Analysis) -> Analysis:
    """Union by competency (verified evidence of the more confident side, max confidence); LLM summary if valid."""
    by: dict[str, PointDraft] = {p.competency: p for p in offline.points}
    for lp in llm.points:
        op = by.get(lp.competency)
        if op is None:
            by[lp.competency] = lp
            continue
        keep = lp if lp.confidence > op.confidence else op
        by[lp.competency] = PointDraft(competency=lp.competency, evidence=keep.evidence,
                                       confidence=max(lp.confidence, op.confidence), reason=keep.reason,
                                       source="offline+llm")
    points = sorted(by.values(), key=lambda p: -p.confidence)[:MAX_POINTS]
    return Analysis(summary=llm.summary or offline.summary, points=points,
                    proposed_actions=llm.proposed_actions or offline.proposed_actions)


def write_learning_reply(services: Services, *, question: str, candidates: list[dict[str, Any]],
                         locale: str) -> str | None:
    """See `bot.coach.llm_learning.write_learning_reply` (the narrow hook for the learning surface)."""
    from bot.coach.llm_learning import write_learning_reply as impl

    return impl(services, question=question, candidates=candidates, locale=locale)
