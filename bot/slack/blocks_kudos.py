"""Block Kit for kudos: the modal, the recipient's DM, the channel post, and problem messages (pure functions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.i18n import fmt_dt, t
from bot.kudos_text import MAX_MESSAGE_CHARS, KudosProblem
from bot.slack.parsing import to_mrkdwn
from bot.values import CompanyValues
from knowledge.competencies import CompetencyModel

MODAL_CALLBACK = "kudos_modal"
B_TO, A_TO = "kudos_to", "users"
B_MESSAGE, A_MESSAGE = "kudos_message", "text"
B_VALUE, A_VALUE = "kudos_value", "value"
B_COMPETENCY, A_COMPETENCY = "kudos_competency", "competency"
FIELD_BLOCKS = {"recipients": B_TO, "message": B_MESSAGE, "value": B_VALUE, "competency": B_COMPETENCY}


def problem_text(problem: KudosProblem, locale: str, tz: str = "UTC") -> str:
    """The problem as one message in the giver's language (reset times in the giver's time zone)."""
    params = dict(problem.params)
    key = problem.key
    if key == "kudos_err_allowance":
        resets: datetime = params.pop("resets_at")
        params["resets"] = fmt_dt(resets, tz, locale)
        if params.get("left"):
            key = "kudos_err_allowance_partial"
        else:
            params = {"limit": params["limit"], "resets": params["resets"]}
    return t(key, locale, **params)


def mentions(ids: list[str]) -> str:
    return ", ".join(f"<@{i}>" for i in ids)


def _quote(message: str) -> str:
    return "\n".join("> " + to_mrkdwn(line) for line in message.splitlines() or [""])


def kudos_message_blocks(
    *,
    giver: str,
    receivers: list[str],
    message: str,
    value_ids: list[str],
    competencies: list[str],
    values: CompanyValues,
    model: CompetencyModel,
    locale: str,
    header_key: str = "kudos_dm",
    evidence: bool = False,
) -> tuple[list[Block], str]:
    """A kudos as blocks plus its plain-text fallback (for a recipient's DM or the kudos channel)."""
    head = t(header_key, locale, giver=giver, people=mentions(receivers))
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=f"{head}\n{_quote(message)}"[:3000]))]
    notes = [t("kudos_value_line", locale, value=values.label(v, locale)) for v in value_ids]
    for c in competencies:
        key = "kudos_competency_evidence" if evidence else "kudos_competency_line"
        notes.append(t(key, locale, competency=model.name(c, locale)))
    if notes:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=n) for n in notes]))
    return blocks, f"{head}: {to_mrkdwn(message)}"[:3000]


def kudos_modal(
    *,
    locale: str,
    values: CompanyValues,
    model: CompetencyModel,
    preset_users: list[str],
    allowance_left: int,
    allowance_limit: int,
    private_metadata: str = "",
) -> View:
    """The "Give kudos" modal: recipients, message, company value, optional competency."""
    value_options = [Option(value=v.id, text=f"{v.emoji} {v.name[locale]}"[:75]) for v in values.values][:100]
    comp_options = [Option(value=c.id, text=c.name[locale][:75]) for c in model.competencies][:100]
    blocks: list[Block] = [
        InputBlock(
            block_id=B_TO,
            label=t("kudos_modal_to", locale),
            element=UserMultiSelectElement(
                action_id=A_TO,
                initial_users=preset_users or None,
                placeholder=t("kudos_modal_to", locale)[:150],
                max_selected_items=10,
            ),
        ),
        InputBlock(
            block_id=B_MESSAGE,
            label=t("kudos_modal_message", locale),
            hint=t("kudos_modal_message_hint", locale),
            element=PlainTextInputElement(action_id=A_MESSAGE, multiline=True, max_length=MAX_MESSAGE_CHARS),
        ),
        InputBlock(
            block_id=B_VALUE,
            label=t("kudos_modal_value", locale),
            optional=True,
            element=StaticSelectElement(
                action_id=A_VALUE, options=value_options, placeholder=t("kudos_modal_value_placeholder", locale)
            ),
        ),
        InputBlock(
            block_id=B_COMPETENCY,
            label=t("kudos_modal_competency", locale),
            optional=True,
            element=StaticSelectElement(
                action_id=A_COMPETENCY,
                options=comp_options,
                placeholder=t("kudos_modal_competency_placeholder", locale),
            ),
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(text=t("kudos_modal_allowance", locale, left=allowance_left, limit=allowance_limit))
            ]
        ),
    ]
    return View(
        type="modal",
        callback_id=MODAL_CALLBACK,
        title=PlainTextObject(text=t("kudos_modal_title", locale)[:24]),
        submit=PlainTextObject(text=t("kudos_modal_submit", locale)[:24]),
        close=PlainTextObject(text=t("kudos_modal_cancel", locale)[:24]),
        blocks=blocks,
        private_metadata=private_metadata,
    )


def read_modal(state_values: dict[str, Any]) -> dict[str, Any]:
    """The submitted fields of the kudos modal (Slack's `view.state.values`)."""

    def get(block: str, action: str) -> dict[str, Any]:
        return (state_values.get(block) or {}).get(action) or {}

    def selected(block: str, action: str) -> str | None:
        return (get(block, action).get("selected_option") or {}).get("value")

    return {
        "recipients": list(get(B_TO, A_TO).get("selected_users") or []),
        "message": get(B_MESSAGE, A_MESSAGE).get("value") or "",
        "value": selected(B_VALUE, A_VALUE),
        "competency": selected(B_COMPETENCY, A_COMPETENCY),
    }


def local_tz(name: str | None) -> str:
    try:
        ZoneInfo(name or "UTC")
        return name or "UTC"
    except (ValueError, KeyError):
        return "UTC"
