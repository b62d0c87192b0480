"""`growthloop worker`: runs the closing analysis of finished check-ins (GROWTHLOOP_ANALYSIS=worker)."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

import typer


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker_command(
        poll: float = typer.Option(1.0, "--poll", min=0.1, help="Seconds between two looks at the queue."),
    ) -> None:
        """Run check-in analyses from the queue in the store (start one or more beside `serve`)."""
        from bot.cli import _settings
        from bot.runtime import prepare
        from bot.slack.client import make_client
        from bot.slack.finisher import Finisher

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        settings = _settings()
        if not settings.slack_bot_token:
            from bot.cli import fail

            fail("SLACK_BOT_TOKEN is required by `growthloop worker` (it posts the closing messages)")
        services = prepare(settings)
        knowledge = services.extras.get("knowledge")
        if knowledge is not None and hasattr(knowledge, "warm"):
            knowledge.warm()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        logging.getLogger(__name__).info("analysis worker ready")
        with contextlib.suppress(KeyboardInterrupt):
            Finisher(services, make_client(settings), run_here=False).run_forever(stop, poll_s=poll)
