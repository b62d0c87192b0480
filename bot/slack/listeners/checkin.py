"""`/checkin` (placeholder until the guided check-in lands): usage help in the user's language."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.i18n import t
from bot.services import Services


def register(app: App, services: Services) -> None:
    @app.command("/checkin")
    def checkin(ack: Ack, command: dict[str, Any], context: dict[str, Any], respond: Respond) -> None:
        ack(response_type="ephemeral", text=t("help_checkin", context.get("locale")))
