"""`growthloop scheduler`: the scheduler alone, in the foreground (leader-locked on PostgreSQL)."""

from __future__ import annotations

import logging

import typer


def register(app: typer.Typer) -> None:
    @app.command("scheduler")
    def scheduler_command() -> None:
        """Run the scheduler alone (exactly one is active per deployment: a leader lock on PostgreSQL)."""
        from bot.cli import _settings
        from bot.runtime import offline_directory, prepare
        from scheduler.runner import run_foreground

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        services = prepare(_settings())
        services.directory = offline_directory(services.settings)
        run_foreground(services)
