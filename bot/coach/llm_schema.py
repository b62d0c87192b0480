"""What the LLM may answer (pydantic, sent as a strict json_schema) and the checks its answers must pass in code.

The schemas have no field for recipients, channels, roles or links: the model can only describe, never steer.
Everything it says is checked here: competencies against our model, evidence verbatim against the answers,
follow-up questions for shape, and learning replies for the course ids they cite.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from prompts.questions import _YES_NO_EN, _YES_NO_ZH

MIN_EVIDENCE_CHARS = 6
MAX_FOLLOW_UP_CHARS = 200
# Slack mentions/links, URLs, and any "[X…" left over (an unknown or cut placeholder) are never posted.
_CONTROL = re.compile(r"<[@#!]|https?://|\[[A-Z]", re.I)
_WORD = re.compile(r"[a-z][a-z'’-]{3,}", re.I)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_STOP = frozenset({
    "that", "this", "with", "what", "have", "been", "from", "they", "them", "there", "their", "were", "when",
    "about", "would", "could", "should", "really", "just", "some", "more", "than", "into", "your", "very", "much",
    "also", "then", "because", "which", "while",
})
_CITE = re.compile(r"\[course:([\w.-]+)\]")
# Text that addresses a model rather than a colleague (a second line of defence behind the delimiters).
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(previous|prior|above|earlier|all|your)\b.{0,30}"
    r"\b(instructions?|prompts?|rules?|guidelines)\b|\bsystem prompt\b|\byou are now\b|\bnew instructions?\b|"
    r"(忽略|无视|忘记).{0,10}(之前|以上|前面|所有).{0,6}(指令|指示|要求|提示)|系统提示", re.I | re.S)


class LlmPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    competency: str = Field(description="one competency id from the list given; nothing else")
    evidence: str = Field(description="a sentence or phrase copied character for character from one answer")
    confidence: float = Field(ge=0, le=1, description="0 to 1: how sure the evidence shows a development need")
    reason: str = Field(description="one short sentence: why this evidence points to this competency")


class CheckinExtraction(BaseModel):
    """End-of-check-in extraction: summary, development points, proposed actions."""

    model_config = ConfigDict(extra="forbid")
    summary: str = Field(description="two or three factual sentences about the conversation")
    development_points: list[LlmPoint] = Field(description="at most three; empty when nothing clear")
    proposed_actions: list[str] = Field(description="at most three small, concrete next steps")


class FollowUpQuestion(BaseModel):
    """One open follow-up question grounded in the answer, or null."""

    model_config = ConfigDict(extra="forbid")
    question: str | None = Field(description="one short open question about the answer, or null")


class LearningReply(BaseModel):
    """A short reply to "what should I learn next?" that cites only the candidate courses."""

    model_config = ConfigDict(extra="forbid")
    reply: str = Field(description="two or three sentences; cite courses as [course:ID]")
    course_ids: list[str] = Field(description="the ids of the courses the reply cites")


def norm_ws(text: str) -> str:
    return " ".join((text or "").split())


def clean_evidence(evidence: str) -> str:
    """The evidence without the quotes or ellipses a model tends to wrap around a quote."""
    return norm_ws(evidence).strip(" \"'“”‘’「」『』…").removesuffix("...").strip()


def verbatim_in(evidence: str, answers: list[str]) -> str | None:
    """The evidence (whitespace-normalised) when it appears verbatim in one of the answers, else None."""
    ev = clean_evidence(evidence)
    if len(ev) < MIN_EVIDENCE_CHARS and not (_HAN.search(ev) and len(ev) >= 4):
        return None
    return ev if any(ev in norm_ws(a) for a in answers) else None


def safe_text(text: str, limit: int) -> str | None:
    """Model prose we may post: non-empty, bounded, no Slack mentions, links or leftover placeholders."""
    text = (text or "").strip()
    if not text or len(text) > limit or _CONTROL.search(text):
        return None
    return text


def _content_terms(text: str) -> set[str]:
    words = {w.lower() for w in _WORD.findall(text)} - _STOP
    han = "".join(_HAN.findall(text))
    return words | {han[i:i + 2] for i in range(len(han) - 1)}


def valid_follow_up(question: str | None, answer: str) -> str | None:
    """One open question (ends with ?/？, < 200 chars, not yes/no) sharing a content word with the answer."""
    q = norm_ws(question or "")
    if not q or len(q) >= MAX_FOLLOW_UP_CHARS or not q.endswith(("?", "？")) or _CONTROL.search(q):
        return None
    if q.count("?") + q.count("？") > 1 or _YES_NO_EN.search(q) or _YES_NO_ZH.search(q):
        return None
    return q if _content_terms(q) & _content_terms(answer) else None


def cited_ids(reply: str) -> list[str]:
    return _CITE.findall(reply or "")


def valid_learning_reply(out: LearningReply, candidate_ids: set[str], limit: int = 900) -> str | None:
    """The reply when every course it cites (in the text and in `course_ids`) is a candidate, and it cites one."""
    cites = set(cited_ids(out.reply)) | set(out.course_ids)
    if safe_text(_CITE.sub("", out.reply), limit) is None or not cites or not cites <= candidate_ids:
        return None
    return out.reply.strip()


def looks_like_injection(text: str) -> bool:
    """True when a text reads like instructions to a model ("ignore previous instructions and …")."""
    return bool(_INJECTION.search(text or ""))
