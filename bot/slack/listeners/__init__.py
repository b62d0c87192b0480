"""One `register(app, services)` per surface; the composition root calls them all."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services

SURFACES = (
    "bot.slack.listeners.checkin",
    "bot.slack.listeners.events",
)


def register(app: App, services: Services) -> None:
    import importlib

    for name in SURFACES:
        importlib.import_module(name).register(app, services)
