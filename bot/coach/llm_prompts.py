"""The prompts the LLM coach sends, built from `prompts/llm/*.yaml`: answers redacted and delimited as data.

Separate from the calls so the bench counts tokens on exactly what would be sent.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from bot.coach.redact import Redactor
from knowledge.competencies import load_competency_model
from prompts.llm_templates import template
from prompts.questions import load_bank

LANGUAGE = {"en": "English", "zh": "Simplified Chinese (简体中文)"}


def _escape(text: str) -> str:
    """Keep answer text from closing our delimiters (the per-call nonce makes guessing them futile anyway)."""
    for tag in ("answer", "untrusted"):
        text = text.replace(f"<{tag}", f"‹{tag}").replace(f"</{tag}", f"‹/{tag}")
    return text


def answer_block(redactor: Redactor, text: str, *, n: int, topic: str = "", author: str = "") -> str:
    """One answer, redacted, in its own tag (inside the untrusted block)."""
    attrs = f'n="{n}"' + (f' topic="{topic}"' if topic else "") + (f' author="{author}"' if author else "")
    return f"<answer {attrs}>\n{_escape(redactor.redact(text))}\n</answer>"


def competency_lines(locale: str) -> str:
    model = load_competency_model()
    return "\n".join(f"  - {c.id}: {c.name[locale]} — {c.description[locale]}" for c in model.competencies)


def topic_of(question_id: str) -> str:
    try:
        return load_bank().get(question_id).topic
    except (KeyError, StopIteration):
        return ""


def extract_prompt(red: Redactor, answers: Sequence[Any], *, employee_slack_id: str,
                   locale: str) -> tuple[str, str, int]:
    """(system, user, max output tokens) for the end-of-check-in extraction over `answers` (.text, .author_slack_id,
    .question_id)."""
    blocks = "\n".join(answer_block(red, a.text, n=i + 1, topic=topic_of(a.question_id),
                                    author="employee" if a.author_slack_id == employee_slack_id else "manager")
                       for i, a in enumerate(answers))
    tpl = template("extract")
    system, user = tpl.render(language=LANGUAGE.get(locale, "English"), competencies=competency_lines(locale),
                              nonce=secrets.token_hex(4), answers=blocks)
    return system, user, tpl.max_output_tokens


def follow_up_prompt(red: Redactor, question_text: str, answer_text: str, *, locale: str) -> tuple[str, str, int]:
    """(system, user, max output tokens) for one follow-up suggestion."""
    tpl = template("follow_up")
    system, user = tpl.render(language=LANGUAGE.get(locale, "English"), nonce=secrets.token_hex(4),
                              question=red.redact(question_text), answers=answer_block(red, answer_text, n=1))
    return system, user, tpl.max_output_tokens
