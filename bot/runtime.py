"""Process wiring for `serve`: the store, the index, the app, the HTTP or Socket Mode transport."""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from typing import Any

from bot.services import Services, build_services
from bot.settings import Settings

log = logging.getLogger(__name__)


def offline_directory(settings: Settings) -> Any:
    """A users.info directory when a bot token is configured, else None (defaults apply)."""
    if not settings.slack_bot_token:
        return None
    from bot.slack.client import make_client
    from bot.slack.directory import SlackDirectory

    return SlackDirectory(make_client(settings, retries=False))


def prepare(settings: Settings) -> Services:
    """Migrate the store and load the optional parts (knowledge index, coach) into the services."""
    services = build_services(settings, migrate=True)
    for hook in _hooks():
        hook(services)
    return services


def _hooks() -> list[Any]:
    hooks = []
    try:
        from knowledge.wiring import attach as attach_knowledge

        hooks.append(attach_knowledge)
    except ImportError:
        pass
    return hooks


def freeze_startup_heap() -> None:
    """Move what startup built (embedder, index, app: the process's whole life) out of the collector's reach.

    A full collection otherwise walks those millions of objects: 135-160 ms with every thread stopped, several times
    a minute under load (bench/bench_load.py at 100 req/s), which was most of serve's ack p99. Collections now walk
    only what requests allocate.
    """
    gc.collect()
    gc.freeze()
    log.info("startup heap frozen: %d objects", gc.get_freeze_count())


def run_serve(settings: Settings, *, http: bool, host: str, port: int, scheduler: bool) -> None:
    """Migrate, build the app, start the transport; `/healthz` says ok once the store and the index are ready."""
    from bot.slack.app import build_app

    started = time.monotonic()
    ready = threading.Event()
    services = prepare(settings)
    app = build_app(settings, services)
    server = None
    if not (settings.slack_app_token and not http):
        from bot.slack.http import HttpServer

        server = HttpServer(app, host=host, port=port, ready=ready.is_set).start()  # /healthz: 503 until ready
        log.info("listening on %s (POST /slack/events, GET /healthz)", server.url)
    knowledge = services.extras.get("knowledge")
    if knowledge is not None and hasattr(knowledge, "warm"):
        knowledge.warm()  # embedder, vector index and BM25 built before the first user waits for them
    from bot.coach import get_coach

    get_coach(services)  # the coach too: the first thread reply asks it for a follow-up before the next question
    services.extras["finisher"].start()  # owed closing work left by an earlier process is picked up now
    if scheduler:
        try:
            from scheduler.runner import start_in_background

            services.extras["scheduler_runner"] = start_in_background(services)
        except ImportError:
            log.info("scheduler not available in this build")
    freeze_startup_heap()
    ready.set()
    log.info("ready in %.2f s", time.monotonic() - started)
    _interrupt_on_sigterm()
    try:
        if server is None:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            SocketModeHandler(app, settings.slack_app_token).start()
            return
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM from a process manager: stop taking requests, exit 0
        log.info("stopping")
        if server is not None:
            server.stop()
        services.extras["finisher"].stop()
        scheduler_runner = services.extras.get("scheduler_runner")
        if scheduler_runner is not None:
            scheduler_runner.stop()


def _interrupt_on_sigterm() -> None:
    """SIGTERM (what systemd, Docker and Kubernetes send) ends `serve` the way Ctrl-C does."""

    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)
