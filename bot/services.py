"""The services the Slack edge and the scheduler share, passed explicitly (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from bot.settings import Settings, SettingsError
from storage.db import make_engine, upgrade
from storage.types import utcnow


class UserDirectory(Protocol):
    """What the domain may ask of Slack about a person (users.info), without knowing Slack."""

    def user_info(self, slack_id: str) -> dict[str, Any] | None: ...


@dataclass
class Services:
    """Dependencies of the domain services. Optional parts are filled by later layers (knowledge, coach)."""

    settings: Settings
    engine: Engine
    clock: Callable[[], datetime] = utcnow
    directory: UserDirectory | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock()


def build_services(settings: Settings, *, migrate: bool = True, clock: Callable[[], datetime] = utcnow) -> Services:
    """Create the engine (running migrations first unless told not to) and the services around it."""
    try:
        settings.growthloop_data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        where = settings.growthloop_data_dir
        raise SettingsError(f"GROWTHLOOP_DATA_DIR: cannot create {where} ({exc.strerror})") from exc
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine)
    return Services(settings=settings, engine=engine, clock=clock)
