"""The composition root: `build_app(settings, services)` wires the Bolt app and every surface."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient

from bot.checkins import ThreadNotReady
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
    app.use(_SharedClient(client))
    for make in (make_dedupe, make_person_context, make_thread_store):
        app.use(_Direct(make(services)))
    listeners.register(app, services)
    _direct_body_matchers(app)

    @app.error
    def on_error(error: Exception, body: dict[str, Any], context: dict[str, Any], logger: logging.Logger) -> Any:
        if context.get("event_id"):
            release_event(services, context["event_id"])  # let Slack's retry redo it
        if isinstance(error, ThreadNotReady):  # Slack's retry stores it: a "try again" would make it twice
            log.warning("%s; Slack will deliver the reply again", error)
            return BoltResponse(status=500, body="")
        log.exception("listener failed: %s", type(error).__name__, exc_info=error)
        user, channel = _where(body)
        if user and channel and context.get("authorize_result") is not None:  # never for an unverified request
            tell_error(client, user=user, channel=channel, locale=context.get("locale"), thread_ts=_thread(body))
        return BoltResponse(status=500, body="")

    return app


# Bolt hands a middleware function or a listener matcher its arguments by building every argument it could inject
# (~30, each payload accessor run on the body: 8 us a call, measured) and keeping the ones the function names. A
# request passes every global middleware and the matchers of every listener registered before the one that takes it
# (~20 calls for a thread reply). The two helpers below call our middleware and Bolt's built-in matchers, whose
# arguments are known, with exactly what Bolt would have passed them.


class _Direct(Middleware):
    """A global middleware `(body, context, next)` called with those three (Bolt's `Middleware` interface)."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> Any:  # noqa: A002
        return self.func(body=req.body, context=req.context, next=next)


class _SharedClient(Middleware):
    """Listeners get the app's client, not the new WebClient Bolt builds for every request: the same token (one
    workspace), and its kept-alive connections to Slack (`KeepAliveWebClient`) outlive the request."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> Any:  # noqa: A002
        req.context["client"] = self.client
        return next()


def _match_body(func: Callable[..., bool], req: BoltRequest, resp: BoltResponse | None = None) -> bool:
    return func(body=req.body)


def _direct_body_matchers(app: App) -> None:
    """Each built-in matcher (command name, action id, event type…) that takes only `body` gets it directly."""
    for listener in getattr(app, "_listeners", ()):
        for matcher in getattr(listener, "matchers", ()):
            if type(matcher) is BuiltinListenerMatcher and list(matcher.arg_names) == ["body"]:
                matcher.matches = functools.partial(_match_body, matcher.func)  # type: ignore[method-assign]


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
