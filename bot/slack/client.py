"""The Slack Web API client: honours SLACK_API_URL and retries 429s and transient errors."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.i18n import t
from bot.settings import Settings

log = logging.getLogger(__name__)


def make_client(settings: Settings, *, retries: bool = True) -> WebClient:
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=15)
    if retries:
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
        client.retry_handlers.append(ConnectionErrorRetryHandler(max_retry_count=2))
    return client


def tell_error(client: WebClient, *, user: str, channel: str, locale: str | None, thread_ts: str | None = None) -> None:
    """Tell `user` privately that something failed on our side and nothing they typed is lost (never raises)."""
    try:
        client.chat_postEphemeral(
            channel=channel,
            user=user,
            text=t("generic_error", locale),
            **({"thread_ts": thread_ts} if thread_ts else {}),
        )
    except Exception:
        log.warning("could not tell the user about the error")
