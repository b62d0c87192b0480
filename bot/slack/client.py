"""The Slack Web API client: honours SLACK_API_URL and retries 429s and transient errors."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.settings import Settings


def make_client(settings: Settings, *, retries: bool = True) -> WebClient:
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=15)
    if retries:
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
        client.retry_handlers.append(ConnectionErrorRetryHandler(max_retry_count=2))
    return client
