"""The coach interface: offline and LLM implementations give the same shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from storage.models import Answer


@dataclass
class PointDraft:
    """A development point found in the answers: competency, verbatim evidence, confidence, why."""

    competency: str
    evidence: str
    confidence: float
    reason: str
    source: str = "offline"


@dataclass
class Analysis:
    summary: str
    points: list[PointDraft] = field(default_factory=list)
    proposed_actions: list[str] = field(default_factory=list)


class Coach(Protocol):
    def analyse(self, *, answers: list[Answer], employee_slack_id: str, locale: str,
                checkin_id: int | None = None) -> Analysis: ...

    def follow_up(self, *, question_text: str, answer_text: str, locale: str,
                  checkin_id: int | None = None) -> str | None: ...
