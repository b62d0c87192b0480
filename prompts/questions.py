"""The coaching question bank (`prompts/questions.yaml`) loaded into strict models.

A question without its translation, with a stray placeholder, or phrased as a yes/no question fails the load,
so a broken bank never reaches a manager.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

BANK_FILE = Path(__file__).parent / "questions.yaml"
ALLOWED_PLACEHOLDERS = {"name"}
TOPIC_ORDER = ("opening", "goal_progress", "behaviour_capability", "support", "development_focus", "closing")
# How many questions of each topic a guided check-in asks (8 in all).
PLAN = (
    ("opening", 1),
    ("goal_progress", 2),
    ("behaviour_capability", 2),
    ("support", 1),
    ("development_focus", 1),
    ("closing", 1),
)
_YES_NO_EN = re.compile(r"^(do|does|did|is|are|was|were|can|could|will|would|have|has|had|should|shall)\b", re.I)
_YES_NO_ZH = re.compile(r"(是否|有没有|能不能|会不会|是不是|吗[？?]?$)")


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: str
    zh: str

    def __getitem__(self, locale: str) -> str:
        return self.zh if locale == "zh" else self.en


class TextList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: list[str]
    zh: list[str]


class Topic(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: Text


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    topic: str
    text: Text
    follow_ups: TextList
    tip: Text

    @model_validator(mode="after")
    def _check(self) -> Question:
        for loc in ("en", "zh"):
            if not self.text[loc].strip() or not self.tip[loc].strip():
                raise ValueError(f"question {self.id}: empty {loc} text or tip")
            if not getattr(self.follow_ups, loc):
                raise ValueError(f"question {self.id}: no {loc} follow-ups")
        fields = {loc: {f for _, f, _, _ in string.Formatter().parse(self.text[loc]) if f} for loc in ("en", "zh")}
        if fields["en"] != fields["zh"]:
            raise ValueError(f"question {self.id}: placeholders differ between en and zh")
        if fields["en"] - ALLOWED_PLACEHOLDERS:
            raise ValueError(
                f"question {self.id}: unknown placeholder(s) {sorted(fields['en'] - ALLOWED_PLACEHOLDERS)}"
            )
        if _YES_NO_EN.match(self.text.en.strip()) or _YES_NO_ZH.search(self.text.zh.strip()):
            raise ValueError(f"question {self.id}: a yes/no question; coaching questions are open")
        return self

    def render(self, locale: str, name: str = "") -> str:
        return self.text[locale].format(name=name or "")


class QuestionBank(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    topics: list[Topic]
    questions: list[Question]

    @model_validator(mode="after")
    def _check(self) -> QuestionBank:
        topic_ids = {t.id for t in self.topics}
        missing = set(TOPIC_ORDER) - topic_ids
        if missing:
            raise ValueError(f"topics missing: {sorted(missing)}")
        seen: set[str] = set()
        for q in self.questions:
            if q.id in seen:
                raise ValueError(f"question id {q.id} is used twice")
            seen.add(q.id)
            if q.topic not in topic_ids:
                raise ValueError(f"question {q.id}: unknown topic {q.topic}")
        for topic, count in PLAN:
            if len(self.by_topic(topic)) < count:
                raise ValueError(f"topic {topic} needs at least {count} questions")
        return self

    def by_topic(self, topic: str) -> list[Question]:
        return [q for q in self.questions if q.topic == topic]

    def get(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def topic_name(self, topic: str, locale: str) -> str:
        return next(t.name[locale] for t in self.topics if t.id == topic)

    def plan(self, rotation: int) -> list[str]:
        """The question ids of one guided check-in; `rotation` (e.g. the pair's check-in count) varies them."""
        ids: list[str] = []
        for topic, count in PLAN:
            pool = self.by_topic(topic)
            for i in range(count):
                ids.append(pool[(rotation * count + i) % len(pool)].id)
        return ids


def load_bank_file(path: Path) -> QuestionBank:
    return QuestionBank.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def load_bank() -> QuestionBank:
    """The shipped question bank (cached)."""
    return load_bank_file(BANK_FILE)
