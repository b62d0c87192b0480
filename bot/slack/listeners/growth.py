"""`/growth [@person]`: the growth log and profile (own; a manager for a report; HR admins)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.access import access_of
from bot.gap_analysis import role_label
from bot.i18n import fmt_date, t
from bot.profile import GrowthLog, growth_log
from bot.services import Services
from bot.slack.blocks_checkin import clip
from bot.slack.parsing import mentions, to_mrkdwn

ICONS = {"checkin": "🗓", "answer": "💬", "point": "🌱", "action": "🎯", "learning": "📚", "kudos": "🙌", "goal": "🏁"}


def growth_blocks(log: GrowthLog, *, locale: str, tz: str, limit: int = 40) -> list[dict[str, Any]]:
    p = log.person
    blocks: list[Any] = [
        HeaderBlock(text=clip(t("growth_title", locale, name=p.name), 150)),
        SectionBlock(
            text=MarkdownTextObject(
                text=t(
                    "growth_profile",
                    locale,
                    role=role_label(p.role) if p.role else "-",
                    team=p.team or "-",
                    open=log.open_points,
                    closed=log.closed_points,
                    done=log.courses_done,
                    kudos=log.kudos,
                )
            )
        ),
    ]
    if log.answers_hidden:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=t("growth_hr_hidden", locale))]))
    if not log.entries:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=t("growth_empty", locale))))
    lines = [
        f"{ICONS.get(e.kind, '•')} {fmt_date(e.at, tz, locale)} · {to_mrkdwn(e.text)}" for e in log.entries[-limit:]
    ]
    chunk: list[str] = []
    for line in lines:  # several sections keep each under Slack's 3000-character limit
        if sum(len(x) + 1 for x in chunk) + len(line) > 2800:
            blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(clip(line, 1000))
    if chunk:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    return [b.to_dict() for b in blocks[:50]]


def register(app: App, services: Services) -> None:
    @app.command("/growth")
    def growth(ack: Ack, command: dict[str, Any], context: dict[str, Any]) -> None:
        loc, user = context.get("locale", "en"), command["user_id"]
        text = (command.get("text") or "").strip()
        targets = mentions(text)
        if text and not targets:
            return ack(response_type="ephemeral", text=t("help_growth", loc))
        subject = targets[0] if targets else user
        if not access_of(context).may_view_person(subject):  # checked again, with the audit, in growth_log
            return ack(response_type="ephemeral", text=t("growth_refused", loc))
        log = growth_log(services, viewer_slack_id=user, subject_slack_id=subject, locale=loc)
        if log is None:
            return ack(response_type="ephemeral", text=t("growth_refused", loc))
        person = context.get("person")
        tz = person.timezone if person else "UTC"
        return ack(
            response_type="ephemeral",
            text=t("growth_title", loc, name=log.person.name),
            blocks=growth_blocks(log, locale=loc, tz=tz),
        )
