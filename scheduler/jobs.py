"""Thin, module-level scheduler jobs (APScheduler stores them by reference: `scheduler.jobs:tick`).

The runner binds the process's Services once with `bind()`; each job is a few lines calling the domain.
"""

from __future__ import annotations

import logging

from bot.services import Services
from scheduler.delivery import DrainConfig, drain
from scheduler.sender import SlackSender

log = logging.getLogger(__name__)
_bound: dict[str, object] = {}


def bind(services: Services, sender: SlackSender | None = None) -> None:
    """Give the jobs of this process their services and the paced Slack sender."""
    _bound["services"] = services
    _bound["sender"] = sender or make_sender(services)


def make_sender(services: Services) -> SlackSender:
    from slack_sdk import WebClient

    # No retry handlers at all (not even slack-sdk's default connection-error retry, which could re-send a
    # message Slack already accepted): the sender paces and retries itself through the queue.
    s = services.settings
    client = WebClient(token=s.slack_bot_token, base_url=s.slack_api_url, timeout=15, retry_handlers=[])
    return SlackSender(client, rate_per_s=services.settings.growthloop_broadcast_rate_per_s)


def _services() -> Services:
    services = _bound.get("services")
    if not isinstance(services, Services):
        raise RuntimeError("scheduler.jobs.bind(services) was not called in this process")
    return services


def tick() -> int:
    """Plan at `now` and queue the due nudges, reflection prompts and cycle reminders (idempotent)."""
    from bot.broadcasts import queue_cycle_reminders
    from bot.nudges import enqueue_due
    from bot.slack.blocks_nudges import render_due

    services = _services()
    now = services.now()
    new = enqueue_due(services, render=render_due, now=now)
    new += queue_cycle_reminders(services, now=now)  # one round = one reported "broadcast" to the cycle's admin
    if new:
        log.info("tick queued %d message(s)", new)
    return new


def deliver() -> None:
    """Send what is due in the queue (paced; retries are rescheduled rows, picked up by a later run)."""
    sender = _bound.get("sender")
    assert isinstance(sender, SlackSender)
    drain(_services(), sender, cfg=_bound.get("drain_config") or DrainConfig())  # type: ignore[arg-type]


def retention() -> dict[str, int]:
    """Daily: erase personal texts older than the retention setting; counts stay (see `bot.retention`)."""
    from bot.retention import prune

    counts = prune(_services())
    log.info("retention pruned %s", counts)
    return counts


def close_abandoned() -> int:
    """Close check-ins silent for 7 days and mark their root message (the paced sender's client, no retries:
    a failed root update is only cosmetic, the check-in is closed in the store either way)."""
    from bot.slack.flows import close_abandoned as close

    sender = _bound.get("sender")
    assert isinstance(sender, SlackSender)
    closed = close(_services(), sender.client)
    if closed:
        log.info("closed %d abandoned check-in(s)", closed)
    return closed
