"""Message events: thread replies (check-in answers), edits, and direct messages to the bot."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

from bot.i18n import t
from bot.services import Services


def _is_from_bot(event: dict[str, Any], context: dict[str, Any]) -> bool:
    return (
        bool(event.get("bot_id"))
        or event.get("subtype") == "bot_message"
        or (event.get("user") is not None and event.get("user") == context.get("bot_user_id"))
    )


def register(app: App, services: Services) -> None:
    handlers: list[Any] = services.extras.setdefault("message_handlers", [])

    @app.event("message")
    def on_message(event: dict[str, Any], context: dict[str, Any], client: WebClient, request: BoltRequest) -> None:
        if _is_from_bot(event, context) or _is_from_bot(event.get("message") or {}, context):
            return
        context["is_retry"] = bool(request.headers.get("x-slack-retry-num"))
        for handler in handlers:  # each surface may claim the message (check-in thread, reflection, learn)
            if handler(event, context, client):
                return
        if event.get("channel_type") == "im" and not event.get("subtype") and not event.get("thread_ts"):
            client.chat_postMessage(channel=event["channel"], text=t("dm_hello", context.get("locale")))

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        client.chat_postEphemeral(
            channel=event["channel"], user=event["user"], text=t("dm_hello", context.get("locale"))
        )
