"""The composition root: `build_app(settings, services)` wires the Bolt app and every surface."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from bot.services import Services
from bot.settings import Settings
from bot.slack import listeners
from bot.slack.client import make_client, tell_error
from bot.slack.directory import SlackDirectory
from bot.slack.executor import AckFirstExecutor
from bot.slack.finisher import Finisher
from bot.slack.middleware import make_dedupe, make_person_context, make_thread_store, release_event

log = logging.getLogger(__name__)
# Listener threads: enough to overlap the Slack and database waits of a few replies, few enough not to thrash the GIL
# (24 measured worse than 8 in bench/bench_load.py); with the request threads (bot.slack.http) below the engine pool.
LISTENER_THREADS = 8
ACK_THREADS = 4  # the ack lane: slash commands, buttons and views only (bot.slack.executor)


def build_app(settings: Settings, services: Services, *, client: WebClient | None = None) -> App:
    """Build the Bolt app: middleware, one `register` per surface, one error handler."""
    settings.require_slack()
    client = client or make_client(settings)
    services.directory = services.directory or SlackDirectory(client)
    services.extras.setdefault("slack_client", client)
    services.extras.setdefault("finisher", Finisher(services, client, run_here=settings.growthloop_analysis == "serve"))
    auth: dict[str, Any] = {}

    def authorize(**_: Any) -> AuthorizeResult:
        # A single-workspace install: one auth.test, cached, instead of one per request.
        if not auth:
            resp = client.auth_test()
            auth.update(bot_user_id=resp["user_id"], bot_id=resp.get("bot_id"), team_id=resp.get("team_id"))
        return AuthorizeResult(
            enterprise_id=None,
            team_id=auth["team_id"],
            bot_token=settings.slack_bot_token,
            bot_user_id=auth["bot_user_id"],
            bot_id=auth["bot_id"],
        )

    app = App(
        signing_secret=settings.slack_signing_secret,
        client=client,
        authorize=authorize,
        raise_error_for_unhandled_request=False,
        # A slash command's or a button's ack waits for its listener: those run before already-acknowledged work
        # (bot.slack.executor; with Bolt's FIFO pool they waited behind thread replies: p99 1.9 s at 100 req/s).
        listener_executor=AckFirstExecutor(LISTENER_THREADS, thread_name_prefix="listener", ack_workers=ACK_THREADS),
    )
    app.middleware(make_dedupe(services))
    app.middleware(make_person_context(services))
    app.middleware(make_thread_store(services))
    listeners.register(app, services)

    @app.error
    def on_error(error: Exception, body: dict[str, Any], context: dict[str, Any], logger: logging.Logger) -> Any:
        log.exception("listener failed: %s", type(error).__name__, exc_info=error)
        if context.get("event_id"):
            release_event(services, context["event_id"])  # let Slack's retry redo it
        user, channel = _where(body)
        if user and channel:
            tell_error(client, user=user, channel=channel, locale=context.get("locale"), thread_ts=_thread(body))
        return BoltResponse(status=500, body="")

    return app


class _DropTokenSkipped(logging.Filter):
    """Bolt warns that `authorize` replaces the token: intended here (one cached auth.test), so not worth a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "will be ignored" not in record.getMessage()


def _where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """Who acted and in which channel, for slash commands, interactivity payloads and message events."""
    user = body.get("user_id") or (body["user"].get("id") if isinstance(body.get("user"), dict) else None)
    channel = body.get("channel_id") or (body["channel"].get("id") if isinstance(body.get("channel"), dict) else None)
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    if event.get("type") == "message" and not event.get("bot_id"):  # e.g. a check-in answer whose next step failed
        user, channel = user or event.get("user"), channel or event.get("channel")
    return user, channel


def _thread(body: dict[str, Any]) -> str | None:
    """The thread a failed message event belongs to (the error note goes there, next to the reply)."""
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    return event.get("thread_ts") if event.get("type") == "message" else None


logging.getLogger("slack_bolt.App").addFilter(_DropTokenSkipped())
