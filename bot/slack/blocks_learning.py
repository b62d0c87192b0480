"""Block Kit for course suggestions: title, duration, format, why, and Start / Done / Not relevant buttons.

Each course's buttons sit in an actions block whose block_id names the course suggestion (`learn_a<action id>`
or `learn_c<course id>`), so a click can replace exactly that block with its outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.i18n import t
from bot.learning import Suggestion
from bot.slack.parsing import to_mrkdwn
from knowledge.base import course_lookup
from knowledge.catalog import CourseRecord
from storage.models import DevelopmentAction


def _meta(minutes: int | None, fmt: str | None, locale: str) -> str:
    if not minutes or not fmt:
        return ""
    key = f"learn_format_{fmt}"
    try:
        fmt_text = t(key, locale)
    except KeyError:
        fmt_text = fmt
    return t("learn_course_meta", locale, minutes=minutes, format=fmt_text)


def _course_section(title: str, meta: str, why: str) -> SectionBlock:
    lines = [f"*{to_mrkdwn(title)}*" + (f"  ·  {meta}" if meta else "")]
    if why:
        lines.append(f"_{to_mrkdwn(why)}_")
    return SectionBlock(text=MarkdownTextObject(text="\n".join(lines)[:2900]))


def _button(key: str, action_id: str, value: str, locale: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=t(key, locale), action_id=action_id, value=value, style=style)


def action_blocks(point_competency_name: str, actions: list[DevelopmentAction], locale: str,
                  courses: Mapping[str, CourseRecord] | None = None) -> list[Block]:
    """One point's course actions, each with Start / Done / Not relevant (value = the action id)."""
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(
        text=t("learn_point_header", locale, competency=point_competency_name)))]
    for a in actions:
        course = (courses or {}).get(a.course_id or "") or course_lookup(a.course_id or "")
        meta = _meta(course.duration_minutes, course.format, locale) if course else ""
        blocks.append(_course_section(a.title, meta, a.why))
        blocks.append(ActionsBlock(block_id=f"learn_a{a.id}", elements=[
            _button("learn_btn_start", "learn_start", str(a.id), locale, "primary"),
            _button("learn_btn_done", "learn_done", str(a.id), locale),
            _button("learn_btn_not_relevant", "learn_not_relevant", str(a.id), locale),
        ]))
    return blocks


def action_text(point_competency_name: str, actions: list[DevelopmentAction], locale: str) -> str:
    """The plain-text fallback of `action_blocks`."""
    head = t("learn_point_header", locale, competency=point_competency_name).replace("*", "")
    return head + "\n" + "\n".join(f"• {a.title}" for a in actions)


def suggestion_value(s: Suggestion, owner: str) -> str:
    """Button value of a `/learn` suggestion that has no action yet: c|course|point|owner."""
    return f"c|{s.course_id}|{s.point_id or ''}|{owner}"


def suggestion_blocks(intro: str, suggestions: list[Suggestion], owner: str, locale: str) -> list[Block]:
    """`/learn` answer: each course with a Start button (an action is created when it is pressed)."""
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=intro))]
    for s in suggestions:
        blocks.append(_course_section(s.title, _meta(s.minutes, s.format, locale), s.why))
        blocks.append(ActionsBlock(block_id=f"learn_c{s.course_id}"[:255], elements=[
            _button("learn_btn_start", "learn_start", suggestion_value(s, owner), locale, "primary")]))
    return blocks


def suggestion_text(intro: str, suggestions: list[Suggestion]) -> str:
    return intro + "\n" + "\n".join(f"• {s.title} ({s.minutes} min)" for s in suggestions)


def outcome_blocks(outcome_text: str, action_id: int | None, locale: str, *, offer_done: bool) -> list[Block]:
    """What replaces a course's buttons after a click (Done stays available after Start)."""
    out: list[Block] = [ContextBlock(elements=[MarkdownTextObject(text=outcome_text)],
                                     block_id=f"learn_o{action_id}" if action_id is not None else None)]
    if offer_done and action_id is not None:
        out.append(ActionsBlock(block_id=f"learn_a{action_id}", elements=[
            _button("learn_btn_done", "learn_done", str(action_id), locale, "primary"),
            _button("learn_btn_not_relevant", "learn_not_relevant", str(action_id), locale)]))
    return out


def replace_block(blocks: list[dict[str, Any]], block_id: str, new: list[Block],
                  drop: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """The message's blocks with `block_id` replaced by `new` (rendered to dicts) and blocks in `drop` removed."""
    out: list[dict[str, Any]] = []
    for b in blocks:
        if b.get("block_id") == block_id:
            out.extend(x.to_dict() for x in new)
        elif b.get("block_id") in drop:
            continue
        else:
            out.append(b)
    return out
