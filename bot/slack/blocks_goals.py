"""Block Kit for goals: the `/goal` modal and the capability check DM (pure builders)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    InputBlock,
    Option,
    OptionGroup,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject, PlainTextObject
from slack_sdk.models.views import View

from bot.goals import Check, Need
from bot.i18n import shorten, t
from knowledge.competencies import load_competency_model

CALLBACK_ID = "goal_modal"
BLOCKS = {"text": "goal_text", "measure": "goal_measure", "due": "goal_due", "capability": "goal_capability",
          "development": "goal_development"}
ACTION = "value"  # the one action id inside each input block


def _pt(text: str) -> PlainTextObject:
    return PlainTextObject(text=text, emoji=True)


def goal_modal(locale: str, *, role_capabilities: list[str], due: date | None, channel: str) -> View:
    """The `/goal` modal: result goal, measure, due date, capability to develop (role's first), how."""
    model = load_competency_model()

    def opt(cid: str) -> Option:
        return Option(value=cid, text=model.name(cid, locale)[:75])

    others = [c for c in model.ids if c not in role_capabilities]
    select = StaticSelectElement(action_id=ACTION, placeholder=t("goals_modal_capability_ph", locale),
                                 option_groups=[OptionGroup(label=t("goals_modal_group_role", locale),
                                                            options=[opt(c) for c in role_capabilities]),
                                                OptionGroup(label=t("goals_modal_group_other", locale),
                                                            options=[opt(c) for c in others])]
                                 if role_capabilities else None,
                                 options=None if role_capabilities else [opt(c) for c in model.ids])
    blocks: list[Block] = [
        InputBlock(block_id=BLOCKS["text"], label=t("goals_modal_text", locale), element=PlainTextInputElement(
            action_id=ACTION, multiline=True, max_length=3000, placeholder=t("goals_modal_text_ph", locale))),
        InputBlock(block_id=BLOCKS["measure"], label=t("goals_modal_measure", locale), element=PlainTextInputElement(
            action_id=ACTION, max_length=500, placeholder=t("goals_modal_measure_ph", locale))),
        InputBlock(block_id=BLOCKS["due"], label=t("goals_modal_due", locale),
                   element=DatePickerElement(action_id=ACTION, initial_date=due.isoformat() if due else None)),
        InputBlock(block_id=BLOCKS["capability"], label=t("goals_modal_capability", locale), element=select,
                   hint=t("goals_modal_capability_hint", locale)),
        InputBlock(block_id=BLOCKS["development"], label=t("goals_modal_development", locale), optional=True,
                   element=PlainTextInputElement(action_id=ACTION, max_length=500,
                                                 placeholder=t("goals_modal_development_ph", locale))),
    ]
    return View(type="modal", callback_id=CALLBACK_ID, title=_pt(t("goals_modal_title", locale)),
                submit=_pt(t("goals_modal_submit", locale)), close=_pt(t("goals_modal_close", locale)),
                blocks=blocks, private_metadata=json.dumps({"channel": channel}))


def read_modal(values: dict[str, Any]) -> dict[str, Any]:
    """The submitted fields from `view.state.values` (missing ones as empty)."""

    def field(name: str) -> dict[str, Any]:
        return (values.get(BLOCKS[name]) or {}).get(ACTION) or {}

    due = field("due").get("selected_date")
    try:
        due_date = date.fromisoformat(due) if due else None
    except ValueError:
        due_date = None
    return {"text": field("text").get("value") or "", "measure": field("measure").get("value") or "",
            "due": due_date, "capability": (field("capability").get("selected_option") or {}).get("value"),
            "development_text": field("development").get("value") or ""}


def modal_errors(errors: dict[str, str], locale: str) -> dict[str, str]:
    """Slack's `response_action: errors` body: block id → message in the user's language."""
    return {BLOCKS[f]: t(key, locale) for f, key in errors.items()}


def _evidence(need: Need, locale: str) -> str:
    parts = [t(f"goals_ev_{ev.kind}", locale, detail=shorten(ev.detail, 50), weight="↑" if w > 0 else "↓")
             for ev, w in need.level.evidence[:3] if w]
    return " · ".join(parts) if parts else t("goals_ev_none", locale)


def need_line(need: Need, locale: str) -> str:
    name = load_competency_model().name(need.capability, locale)
    src = ("、" if locale == "zh" else ", ").join(t(f"goals_src_{s}", locale) for s in need.sources)
    key = "goals_need_gap" if need.gap else "goals_need_ok"
    return t(key, locale, capability=name, level=need.level.level, required=need.required, sources=src)


def check_text(check: Check, locale: str) -> str:
    """Plain-text fallback of the capability check."""
    lines = [t("goals_saved", locale, goal=shorten(check.goal.result_text, 120), measure=check.goal.measure,
               due=check.goal.due_date.isoformat() if check.goal.due_date else "-")]
    lines += [need_line(n, locale).replace("*", "") for n in check.needs]
    return "\n".join(lines)


def check_blocks(check: Check, locale: str) -> list[Block]:
    """The DM after a goal is saved: the goal, each capability with level and evidence, and courses per gap."""
    g = check.goal
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=t("goals_saved", locale, goal=shorten(g.result_text, 300),
                                                    measure=shorten(g.measure, 200),
                                                    due=g.due_date.isoformat() if g.due_date else "-"))),
        SectionBlock(text=MarkdownTextObject(text=t("goals_needs_header", locale))),
    ]
    for need in check.needs[:12]:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=need_line(need, locale))))
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_evidence(need, locale)[:2900])]))
    gaps = check.gaps
    blocks.append(SectionBlock(text=MarkdownTextObject(
        text=t("goals_risks", locale, n=len(gaps)) if gaps else t("goals_no_risks", locale))))
    with_courses = [n for n in gaps if n.actions]
    for need in with_courses:
        blocks.append(DividerBlock())
        blocks += _action_blocks(need, locale)
    if gaps and len(with_courses) < len(gaps):
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=t("goals_more_gaps", locale, n=len(gaps) - len(with_courses)))]))
    return blocks[:50]


def _action_blocks(need: Need, locale: str) -> list[Block]:
    name = load_competency_model().name(need.capability, locale)
    try:  # the learning surface's blocks carry Start / Done / Not relevant, handled by its listener
        from bot.slack.blocks_learning import action_blocks

        return action_blocks(name, need.actions, locale)
    except ImportError:
        lines = [t("goals_courses_for", locale, capability=name)] + [f"• {a.title}" for a in need.actions]
        return [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))]
