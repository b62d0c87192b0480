"""Secrets never reach the logs: the whole app at DEBUG through a check-in, forged requests, an LLM call and a
Slack error, with every log record (message, arguments, exception text) searched for each secret."""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.coach.openai_stub import OpenAIStub
from bot.demo.sandbox import start_sandbox
from bot.slack.sandbox import Faults
from tests.e2e.checkin_helpers import answer, thread_root

SECRETS = {
    "bot token": "xoxb-1111-SECRETBOT-a8f3c2",
    "signing secret": "SECRETSIGN0b7e4d9c1f2a",
    "OpenAI key": "sk-SECRETOPENAI-5d1e9b0c",
    "app token": "xapp-1-SECRETAPP-0e77c3",
}


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.name, str(record.msg), repr(record.args)]
        with contextlib.suppress(Exception):  # a malformed record still has its raw parts above
            parts.append(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
            parts.append(repr(record.exc_info[1].args))
        parts.extend(
            repr(v) for k, v in vars(record).items() if k not in logging.LogRecord("", 0, "", 0, "", (), None).__dict__
        )
        self.texts.append("\n".join(parts))


@pytest.fixture
def captured() -> Iterator[_Capture]:
    handler, root = _Capture(), logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "slack_bolt.App", "slack_sdk", "openai", "httpx")}
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_no_secret_in_any_log_record(tmp_path: Path, captured: _Capture) -> None:
    llm = OpenAIStub().start()
    sb = start_sandbox(
        tmp_path / "data",
        slack_bot_token=SECRETS["bot token"],
        slack_signing_secret=SECRETS["signing secret"],
        openai_api_key=SECRETS["OpenAI key"],
        openai_base_url=llm.url,
        slack_app_token=SECRETS["app token"],
    )
    sb.driver.secret = SECRETS["signing secret"]
    try:
        # a forged request (wrong signature) and a stale one: both refused
        assert sb.driver.slash("U0EMP", "/growth", "", signature="v0=" + "0" * 64).status == 401
        assert sb.driver.slash("U0EMP", "/growth", "", timestamp=1).status == 401
        # a check-in with the LLM coach (stubbed), then a Slack failure inside a listener
        sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
        root = thread_root(sb)
        for i, text in enumerate(["Shipped the onboarding revamp.", "My slides never land with leadership."]):
            answer(sb, "U0EMP", root, text, expect_posts=i + 2)
        sb.driver.message("U0EMP", root["channel"], "done", thread_ts=root["ts"])
        sb.stub.wait_for(lambda s: any(c.params.get("ts") == root["ts"] for c in s.calls_of("chat.update")), timeout=60)
        assert llm.requests, "the LLM stub was called"
        sb.stub.faults = Faults(rate5xx=1.0, methods={"views.publish"})
        sb.driver.app_home_opened("U0EMP")
        sb.stub.wait_for(lambda s: any(c.method == "views.publish" and c.status == 500 for c in s.calls))
        sb.stub.wait_for(lambda s: any("listener failed" in t or "views.publish" in t for t in captured.texts))
    finally:
        sb.stop()
        llm.stop()
    assert len(captured.texts) > 50  # DEBUG really was on
    assert any("(redacted)" in t for t in captured.texts)  # slack_sdk logged its request headers, redacted
    for what, secret in SECRETS.items():
        leaks = [t[:300] for t in captured.texts if secret in t]
        assert not leaks, f"the {what} appears in the logs: {leaks[:2]}"


def test_settings_repr_shows_no_secret() -> None:
    """A failing test or a traceback that prints the Settings must not print the tokens or a database password."""
    from bot.settings import load_settings

    s = load_settings(
        slack_bot_token="xoxb-REPR-SECRET",
        slack_signing_secret="sign-REPR-SECRET",
        slack_app_token="xapp-REPR-SECRET",
        openai_api_key="sk-REPR-SECRET",
        database_url="postgresql+psycopg://app:REPR-SECRET@db/growthloop",
    )
    assert s.slack_bot_token == "xoxb-REPR-SECRET"  # still readable where it is used
    for text in (repr(s), str(s), f"{s!r}"):
        assert "REPR-SECRET" not in text
