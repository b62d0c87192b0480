"""UserDirectory over the Slack Web API (users.info with the locale)."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError


class SlackDirectory:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def user_info(self, slack_id: str) -> dict[str, Any] | None:
        try:
            resp = self.client.users_info(user=slack_id, include_locale=True)
        except SlackApiError as err:
            if err.response.get("error") in ("user_not_found", "users_not_found"):
                return None
            raise
        user = resp.get("user")
        return dict(user) if user else None
