"""What no other surface claims: a button, shortcut or form that is not (or no longer) GrowthLoop's.

Slack shows the person an error when an interaction is not acknowledged with a 2xx (a warning on the button, "We
had some trouble connecting" in a form), and it keeps old messages, so buttons of an earlier version still get
pressed. These listeners are registered last (Bolt runs the first listener that matches): they acknowledge and tell
the person privately, in their language, what to do instead.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.i18n import t
from bot.services import Services

_ANY = re.compile(".*")


def register(app: App, services: Services) -> None:
    @app.action(_ANY)
    def unknown_action(ack: Ack, body: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        ack()
        _tell(client, body, context, "stale_button")

    @app.shortcut(_ANY)
    def unknown_shortcut(ack: Ack, body: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        ack()
        _tell(client, body, context, "stale_shortcut")

    @app.view(_ANY)
    def unknown_form(ack: Ack) -> None:
        ack()  # closes the form; there is nothing of ours to save


def _tell(client: WebClient, body: dict[str, Any], context: dict[str, Any], key: str) -> None:
    user = (body.get("user") or {}).get("id")
    channel = (body.get("channel") or {}).get("id")
    if not user or not channel:  # App Home or a form: no conversation to answer in
        return
    thread = (body.get("container") or {}).get("thread_ts") or (body.get("message") or {}).get("thread_ts")
    client.chat_postEphemeral(
        channel=channel, user=user, text=t(key, context.get("locale")), **({"thread_ts": thread} if thread else {})
    )
