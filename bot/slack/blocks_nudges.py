"""Block Kit for nudges, reflection prompts and their outcomes (pure functions, no I/O)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from bot.i18n import fmt_dt, norm_locale, t
from bot.nudges import NudgeOutcome
from scheduler.planning import Due

ACTION_START, ACTION_SNOOZE, ACTION_SKIP = "nudge_start", "nudge_snooze", "nudge_skip"


def _name(person: Any) -> str:
    return person.name or person.slack_id


def nudge_blocks(d: Due, *, manager: Any, employee: Any, nudge_id: int) -> tuple[str, list[Block]]:
    """The manager's DM: what is due, when the follow-up would come (or that it is the last), three buttons."""
    loc, tz = norm_locale(manager.locale), manager.timezone or "UTC"
    text = t("scheduler_nudge_text", loc, employee=_name(employee), slot=fmt_dt(d.slot_at, tz, loc))
    if d.next_reminder_at is not None:
        note = t("scheduler_nudge_followup", loc, when=fmt_dt(d.next_reminder_at, tz, loc))
    else:
        nxt = fmt_dt(d.next_slot_at, tz, loc) if d.next_slot_at else "–"
        note = t("scheduler_nudge_last", loc, next=nxt)
    buttons = [ButtonElement(text=t("scheduler_btn_start", loc), action_id=ACTION_START, value=str(nudge_id),
                             style="primary")]
    if d.next_reminder_at is not None:  # no snooze on the last reminder: snoozing would be a third message
        buttons.append(ButtonElement(text=t("scheduler_btn_snooze", loc), action_id=ACTION_SNOOZE, value=str(nudge_id)))
    buttons.append(ButtonElement(text=t("scheduler_btn_skip", loc), action_id=ACTION_SKIP, value=str(nudge_id)))
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(block_id=f"nudge-{nudge_id}", elements=buttons),
        ContextBlock(elements=[MarkdownTextObject(text=note)]),
    ]
    return f"{text} {note}", blocks


def prompt_blocks(d: Due, *, manager: Any, employee: Any) -> tuple[str, list[Block]]:
    """The employee's reflection prompt the working day before the check-in."""
    loc, tz = norm_locale(employee.locale), employee.timezone or "UTC"
    text = t("scheduler_prompt_text", loc, manager=_name(manager), slot=fmt_dt(d.slot_at, tz, loc))
    return text, [SectionBlock(text=MarkdownTextObject(text=text))]


def render_due(d: Due, ctx: dict[str, Any]) -> dict[str, Any]:
    """Queue payload (text + blocks as dicts) for a planned message."""
    if d.kind == "nudge":
        text, blocks = nudge_blocks(d, manager=ctx["manager"], employee=ctx["employee"], nudge_id=ctx["nudge_id"])
    else:
        text, blocks = prompt_blocks(d, manager=ctx["manager"], employee=ctx["employee"])
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


def outcome_blocks(o: NudgeOutcome, *, where: str = "") -> tuple[str, list[Block]]:
    """The nudge message after snooze/skip/start: the buttons are replaced by what happened."""
    loc, tz = norm_locale(o.manager.locale), o.manager.timezone or "UTC"
    when = fmt_dt(o.when, tz, loc) if o.when else "–"
    employee = _name(o.employee)
    if o.status == "snoozed":
        text = t("scheduler_nudge_snoozed", loc, employee=employee, when=when)
    elif o.status == "skipped":
        text = t("scheduler_nudge_skipped", loc, employee=employee, next=when)
    else:
        text = t("scheduler_nudge_done", loc, employee=employee, where=where)
    return text, [SectionBlock(text=MarkdownTextObject(text=text))]
