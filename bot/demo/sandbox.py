"""Bring up the whole product against the loopback Slack sandbox (used by `demo`, the e2e tests and bench)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.people import import_people
from bot.runtime import prepare
from bot.services import Services
from bot.settings import Settings, load_settings
from bot.slack.app import build_app
from bot.slack.http import HttpServer
from bot.slack.sandbox import SlackDriver, SlackStub

DEMO_PEOPLE = Path(__file__).with_name("people.csv")
SIGNING_SECRET = "sandbox-signing-secret"


@dataclass
class Sandbox:
    settings: Settings
    services: Services
    stub: SlackStub
    server: HttpServer
    driver: SlackDriver
    extra: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> None:
        finisher = self.services.extras.get("finisher")
        if finisher is not None:
            finisher.stop()
        self.server.stop()
        self.stub.stop()
        self.services.engine.dispose()


def stub_users_from_csv(stub: SlackStub, text: str) -> None:
    """Give the stub a Slack profile for each person of a people file (tz and Slack locale)."""
    for row in csv.DictReader(io.StringIO(text)):
        locale = "zh-CN" if row["locale"] == "zh" else "en-US"
        stub.add_user(row["slack_id"], row["name"], tz=row["timezone"] or "UTC", locale=locale, email=row["email"])


def start_sandbox(
    data_dir: Path, *, people_csv: str | None = None, stub: SlackStub | None = None, **settings_overrides: Any
) -> Sandbox:
    """Start the stub, the store (migrated) and the app over HTTP on loopback, and load the demo org."""
    stub = stub or SlackStub().start()
    text = DEMO_PEOPLE.read_text(encoding="utf-8") if people_csv is None else people_csv
    if people_csv is None or not stub.users:
        stub_users_from_csv(stub, text)
    overrides: dict[str, Any] = {
        "slack_bot_token": "xoxb-sandbox",
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": stub.base_url,
        "growthloop_data_dir": data_dir,
        "slack_app_token": None,
        "openai_api_key": None,
    }
    overrides.update(settings_overrides)
    settings = load_settings(**overrides)
    services = prepare(settings)
    app = build_app(settings, services)
    if text:
        import_people(services, text)
    from knowledge.embedders import e5_model

    e5_model()  # the process's sentence model (~1.5 s once), loaded before the first answer instead of during it
    server = HttpServer(app, host="127.0.0.1", port=0).start()
    driver = SlackDriver(server.url, SIGNING_SECRET, stub)
    return Sandbox(settings, services, stub, server, driver)
