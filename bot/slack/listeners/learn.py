"""`/learn [topic]`, "what should I learn next?" DMs, and the Start / Done / Not relevant course buttons."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import learning
from bot.i18n import t
from bot.services import Services
from bot.slack import blocks_learning as bl
from bot.slack.parsing import from_slack, to_mrkdwn

_OUTCOME = {"learn_start": "start", "learn_done": "done", "learn_not_relevant": "not_relevant"}


def _parse_id(text: str) -> int | None:
    """A positive database id from a button value: ASCII digits only (str.isdigit also accepts "²" and "١٢",
    which int() rejects), at most 18 of them (fits a 64-bit column); else None."""
    if not text or len(text) > 18 or not (text.isascii() and text.isdigit()):
        return None
    return int(text) or None


def _parse_button(value: str) -> tuple[str, int | None, str] | int | None:
    """A button's value: ("course_id", point id or None, "owner") for a /learn suggestion (`c|course|point|owner`),
    an action id for a development-action button, or None when the value is malformed (forged or corrupted)."""
    if value.startswith("c|"):
        parts = value.split("|")
        if len(parts) != 4 or not parts[1] or not parts[3]:
            return None
        point = _parse_id(parts[2]) if parts[2] not in ("", "0") else None  # "" (or an old 0): no point
        if parts[2] not in ("", "0") and point is None:
            return None
        return parts[1], point, parts[3]
    return _parse_id(value)


def _answer(
    services: Services,
    client: WebClient,
    channel: str,
    user: str,
    locale: str,
    topic: str | None,
    question: str | None = None,
) -> None:
    intro_key, sugg = learning.recommend(services, person_slack_id=user, topic=topic)
    if not sugg:
        client.chat_postMessage(channel=channel, text=t("learn_nothing", locale))
        return
    intro = t(intro_key, locale, topic=to_mrkdwn((topic or "")[:60]))
    if question:  # the LLM coach (issue 6) may word the intro, citing only these courses; else the offline intro
        try:
            from bot.coach.llm_learning import learning_intro

            intro = learning_intro(services, question=question, suggestions=sugg, locale=locale) or intro
        except Exception:
            pass
    client.chat_postMessage(
        channel=channel, text=bl.suggestion_text(intro, sugg), blocks=bl.suggestion_blocks(intro, sugg, user, locale)
    )


def register(app: App, services: Services) -> None:
    @app.command("/learn")
    def learn(ack: Ack, command: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        locale, user = context.get("locale"), command["user_id"]
        in_dm = str(command.get("channel_id", "")).startswith("D")
        ack(**({} if in_dm else {"response_type": "ephemeral", "text": t("learn_sent_dm", locale)}))
        channel = client.conversations_open(users=user)["channel"]["id"]
        _answer(services, client, channel, user, locale, from_slack(command.get("text")).strip() or None)

    def on_dm(event: dict[str, Any], context: dict[str, Any], client: WebClient) -> bool:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("thread_ts"):
            return False
        text = from_slack(event.get("text"))
        if not learning.is_learning_question(text):
            return False
        _answer(
            services,
            client,
            event["channel"],
            event["user"],
            context.get("locale"),
            learning.topic_of(text),
            question=text,
        )
        return True

    services.extras.setdefault("message_handlers", []).append(on_dm)

    @app.action("learn_start")
    @app.action("learn_done")
    @app.action("learn_not_relevant")
    def on_button(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        user, locale = body["user"]["id"], context.get("locale")
        channel, message = body["channel"]["id"], body.get("message") or {}
        value, outcome = str(action.get("value") or ""), _OUTCOME[action["action_id"]]
        block_id = action.get("block_id", "")
        parsed = _parse_button(value)
        if parsed is None:  # a value no button of ours carries: say so rather than fail after the ack
            client.chat_postEphemeral(channel=channel, user=user, text=t("learn_bad_button", locale))
            return
        if isinstance(parsed, tuple):  # a /learn suggestion: the action is created when it is started
            course_id, point_id, owner = parsed
            if owner != user:
                client.chat_postEphemeral(channel=channel, user=user, text=t("learn_not_yours", locale, owner=owner))
                return
            act = learning.start_course(services, person_slack_id=user, course_id=course_id, point_id=point_id)
            err = None if act else "gone"
        else:
            act, err = learning.record_outcome(services, action_id=parsed, actor_slack_id=user, outcome=outcome)
        if err == "not_yours" and act is not None:
            client.chat_postEphemeral(
                channel=channel, user=user, text=t("learn_not_yours", locale, owner=act.person_slack_id)
            )
            return
        if err or act is None:
            client.chat_postEphemeral(channel=channel, user=user, text=t("learn_gone", locale))
            return
        text = t(f"learn_outcome_{act.status}", locale, title=act.title)
        new = bl.outcome_blocks(text, act.id, locale, offer_done=act.status == "started")
        blocks = bl.replace_block(message.get("blocks") or [], block_id, new, drop=frozenset({f"learn_o{act.id}"}))
        client.chat_update(
            channel=channel,
            ts=message.get("ts") or body["container"]["message_ts"],
            text=message.get("text") or text,
            blocks=blocks,
        )
