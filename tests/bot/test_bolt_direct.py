"""The app calls Bolt's built-in listener matchers and its own middleware directly (bot.slack.app): same answers."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import BoltRequest
from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher
from slack_sdk import WebClient

from bot.services import Services
from bot.settings import load_settings
from bot.slack.app import _Direct, build_app

BODIES: list[dict[str, Any]] = [
    {"command": "/checkin", "text": "help", "user_id": "U1", "channel_id": "C1", "team_id": "T1"},
    {"command": "/learn", "text": "feedback", "user_id": "U1", "channel_id": "C1", "team_id": "T1"},
    {"command": "/nope", "text": "", "user_id": "U1", "channel_id": "C1", "team_id": "T1"},
    {
        "type": "block_actions",
        "user": {"id": "U1"},
        "team": {"id": "T1"},
        "actions": [{"action_id": "checkin_skip", "block_id": "b", "value": "1"}],
    },
    {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"}, "actions": [{"action_id": "zzz"}]},
    {
        "type": "view_submission",
        "user": {"id": "U1"},
        "team": {"id": "T1"},
        "view": {"type": "modal", "callback_id": "kudos"},
    },
    {
        "type": "event_callback",
        "team_id": "T1",
        "event_id": "Ev1",
        "event": {
            "type": "message",
            "user": "U1",
            "text": "an answer",
            "channel": "D1",
            "ts": "2.0",
            "thread_ts": "1.0",
        },
    },
    {
        "type": "event_callback",
        "team_id": "T1",
        "event_id": "Ev2",
        "event": {"type": "message", "channel_type": "im", "user": "U1", "text": "what should I learn next?"},
    },
    {"type": "event_callback", "team_id": "T1", "event_id": "Ev3", "event": {"type": "app_home_opened", "user": "U1"}},
    {"type": "shortcut", "callback_id": "kudos", "user": {"id": "U1"}, "team": {"id": "T1"}},
]


@pytest.fixture
def app(sqlite_services: Services, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_settings(growthloop_data_dir=tmp_path, slack_bot_token="xoxb-test", slack_signing_secret="secret")
    services = Services(settings=settings, engine=sqlite_services.engine)
    return build_app(settings, services, client=WebClient(token="xoxb-test", base_url="http://127.0.0.1:9/"))


def _request(body: dict[str, Any]) -> BoltRequest:
    if "command" in body:
        from urllib.parse import urlencode

        return BoltRequest(body=urlencode(body), headers={"content-type": ["application/x-www-form-urlencoded"]})
    if body.get("type") == "event_callback":
        return BoltRequest(body=json.dumps(body), headers={"content-type": ["application/json"]})
    from urllib.parse import quote

    return BoltRequest(
        body="payload=" + quote(json.dumps(body)), headers={"content-type": ["application/x-www-form-urlencoded"]}
    )


def test_every_builtin_matcher_is_called_directly_and_answers_as_bolt_would(app) -> None:  # type: ignore[no-untyped-def]
    matchers = [m for listener in app._listeners for m in listener.matchers]
    assert matchers and all(isinstance(m.matches, functools.partial) for m in matchers)
    matched = 0
    for body in BODIES:
        req = _request(body)
        for m in matchers:
            direct = m.matches(req, None)
            assert direct == BuiltinListenerMatcher.matches(m, req, None), (body, m.func)
            matched += bool(direct)
    assert matched >= 5  # the bodies do reach listeners (a check-in reply, /checkin, /learn, the DM, App Home, …)


def test_a_direct_middleware_gets_the_body_the_context_and_next() -> None:
    seen: dict[str, Any] = {}

    def middleware(body: dict[str, Any], context: dict[str, Any], next: Any) -> Any:  # noqa: A002
        seen.update(body=body, user=context.get("user_id"))
        return next()

    req = _request(BODIES[0])
    req.context["user_id"] = "U1"
    out = _Direct(middleware).process(req=req, resp=None, next=lambda: "went on")  # type: ignore[arg-type]
    assert out == "went on" and seen == {"body": req.body, "user": "U1"}
