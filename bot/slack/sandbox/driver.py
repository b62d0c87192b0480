"""Sends requests to the app signed exactly as Slack signs them.

Shapes follow Slack's documented payloads (slash commands and interactivity form-encoded, events as JSON).
Messages a person types are also recorded in the stub, so transcripts and thread views are complete.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.slack.sandbox.stub import BOT_USER, TEAM, SlackStub

APP_ID = "A0APP"


@dataclass
class Sent:
    status: int
    body: str
    event_id: str | None = None
    ts: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`v0=` + HMAC-SHA256 over `v0:{timestamp}:{body}`, as Slack does."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackDriver:
    """Plays Slack's side of the conversation against `app_url` (e.g. http://127.0.0.1:3000)."""

    def __init__(self, app_url: str, signing_secret: str, stub: SlackStub) -> None:
        self.url = app_url.rstrip("/") + "/slack/events"
        self.secret = signing_secret
        self.stub = stub
        self._ids = itertools.count(1)

    # --- transport -----------------------------------------------------------------------------------------
    def send(
        self,
        body: bytes,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> Sent:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        h = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or sign(self.secret, ts, body),
        }
        h.update(headers or {})
        req = urllib.request.Request(self.url, data=body, headers=h, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return Sent(resp.status, resp.read().decode())
        except urllib.error.HTTPError as err:
            return Sent(err.code, err.read().decode())

    def _form(self, fields: dict[str, str], **kw: Any) -> Sent:
        return self.send(urlencode(fields).encode(), "application/x-www-form-urlencoded", **kw)

    def _interactive(self, payload: dict[str, Any], **kw: Any) -> Sent:
        return self._form({"payload": json.dumps(payload)}, **kw)

    # --- slash commands ------------------------------------------------------------------------------------
    def slash(self, user: str, command: str, text: str = "", channel: str = "C0GENERAL", **kw: Any) -> Sent:
        n = next(self._ids)
        fields = {
            "token": "0000PLACEHOLDERTOKEN0000",
            "team_id": TEAM,
            "team_domain": "acme-eng",
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else "general",
            "user_id": user,
            "user_name": self.stub.users.get(user, {}).get("name", user),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"https://hooks.slack.com/commands/{TEAM}/{n}/x",
            "trigger_id": f"{n}.1234567890123.{n:032x}",
        }
        return self._form(fields, **kw)

    # --- events --------------------------------------------------------------------------------------------
    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int = 0, **kw: Any) -> Sent:
        eid = event_id or f"Ev{int(time.time())}{next(self._ids):06d}"
        envelope = {
            "token": "0000PLACEHOLDERTOKEN0000",
            "team_id": TEAM,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": eid,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM,
                    "user_id": BOT_USER,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers = dict(kw.pop("headers", {}) or {})
        if retry:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        sent = self.send(json.dumps(envelope).encode(), "application/json", headers=headers, **kw)
        sent.event_id = eid
        return sent

    def message(
        self,
        user: str,
        channel: str,
        text: str,
        *,
        thread_ts: str | None = None,
        record: bool = True,
        event_id: str | None = None,
        retry: int = 0,
        ts: str | None = None,
    ) -> Sent:
        """A person posts `text` (a thread reply when `thread_ts` is given, a DM when the channel is D…)."""
        if record and ts is None:
            ts = self.stub.post_as_user(user, channel, text, thread_ts)["ts"]
        ts = ts or self.stub.next_ts()
        ev: dict[str, Any] = {
            "client_msg_id": f"{next(self._ids):08x}-0000-4000-8000-000000000000",
            "type": "message",
            "text": text,
            "user": user,
            "ts": ts,
            "team": TEAM,
            "channel": channel,
            "event_ts": ts,
            "channel_type": "im" if channel.startswith("D") else "mpim" if channel.startswith("G") else "channel",
            "blocks": [
                {
                    "type": "rich_text",
                    "block_id": "b1",
                    "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
                }
            ],
        }
        if thread_ts:
            ev.update(thread_ts=thread_ts, parent_user_id=BOT_USER)
        sent = self.event(ev, event_id=event_id, retry=retry)
        sent.ts = ts
        return sent

    def edit(self, user: str, channel: str, ts: str, new_text: str, *, thread_ts: str | None = None) -> Sent:
        previous = self.stub.edit_as_user(channel, ts, new_text)
        edit_ts = self.stub.next_ts()
        msg = {
            "type": "message",
            "user": user,
            "text": new_text,
            "ts": ts,
            "edited": {"user": user, "ts": edit_ts},
            "team": TEAM,
        }
        prev = {"type": "message", "user": user, "text": previous["text"], "ts": ts, "team": TEAM}
        if thread_ts:
            msg.update(thread_ts=thread_ts, parent_user_id=BOT_USER)
            prev.update(thread_ts=thread_ts, parent_user_id=BOT_USER)
        ev = {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "message": msg,
            "channel": channel,
            "previous_message": prev,
            "event_ts": edit_ts,
            "ts": edit_ts,
            "channel_type": "im" if channel.startswith("D") else "mpim",
        }
        return self.event(ev)

    def bot_echo(self, channel: str, text: str, thread_ts: str | None = None) -> Sent:
        ts = self.stub.next_ts()
        ev = {
            "type": "message",
            "user": BOT_USER,
            "bot_id": "B0BOT",
            "app_id": APP_ID,
            "text": text,
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
            "channel_type": "mpim",
            "team": TEAM,
        }
        if thread_ts:
            ev.update(thread_ts=thread_ts, parent_user_id=BOT_USER)
        return self.event(ev)

    def app_home_opened(self, user: str) -> Sent:
        return self.event(
            {
                "type": "app_home_opened",
                "user": user,
                "channel": "D" + user.lstrip("U"),
                "tab": "home",
                "event_ts": self.stub.next_ts(),
            }
        )

    # --- interactivity -------------------------------------------------------------------------------------
    def click(
        self, user: str, message: dict[str, Any], action_id: str, value: str | None = None, block_id: str | None = None
    ) -> Sent:
        """Press the button `action_id` on a message the bot posted (a stub message dict)."""
        button = _find_button(message.get("blocks") or [], action_id, value)
        if button is None:
            raise LookupError(f"no button {action_id!r} on that message")
        n = next(self._ids)
        container = {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": message["channel"],
            "is_ephemeral": bool(message.get("ephemeral_to")),
        }
        if message.get("thread_ts"):
            container["thread_ts"] = message["thread_ts"]
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user, "name": user, "team_id": TEAM},
            "api_app_id": APP_ID,
            "token": "0000PLACEHOLDERTOKEN0000",
            "container": container,
            "trigger_id": f"{n}.1234567890123.{n:032x}",
            "team": {"id": TEAM, "domain": "acme-eng"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": message["channel"], "name": "directmessage"},
            "message": {k: v for k, v in message.items() if k != "ephemeral_to"},
            "state": {"values": {}},
            "response_url": f"https://hooks.slack.com/actions/{TEAM}/{n}/x",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": button.get("_block_id", block_id or "b"),
                    "text": button.get("text"),
                    "value": button.get("value"),
                    "type": "button",
                    "action_ts": self.stub.next_ts(),
                }
            ],
        }
        return self._interactive(payload)

    def click_home(self, user: str, action_id: str, value: str | None = None) -> Sent:
        view = self.stub.views.get("home:" + user) or {}
        button = _find_button(view.get("blocks") or [], action_id, value)
        if button is None:
            raise LookupError(f"no button {action_id!r} on {user}'s App Home")
        n = next(self._ids)
        payload = {
            "type": "block_actions",
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": APP_ID,
            "container": {"type": "view", "view_id": "V" + user},
            "trigger_id": f"{n}.1.{n:032x}",
            "team": {"id": TEAM, "domain": "acme-eng"},
            "view": {"id": "V" + user, "type": "home", **view},
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": button.get("_block_id", "b"),
                    "value": button.get("value"),
                    "type": "button",
                    "action_ts": self.stub.next_ts(),
                }
            ],
        }
        return self._interactive(payload)

    def submit_view(
        self, user: str, view: dict[str, Any], values: dict[str, dict[str, Any]], view_id: str = "VMODAL0"
    ) -> Sent:
        """Submit a modal; `values` is Slack's `state.values` ({block_id: {action_id: {...}}})."""
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "acme-eng"},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": APP_ID,
            "trigger_id": "1.2.3",
            "view": {
                "id": view_id,
                "team_id": TEAM,
                "type": "modal",
                "hash": "h1",
                **view,
                "state": {"values": values},
            },
            "response_urls": [],
        }
        return self._interactive(payload)

    def message_shortcut(self, user: str, callback_id: str, message: dict[str, Any]) -> Sent:
        n = next(self._ids)
        payload = {
            "type": "message_action",
            "token": "0000PLACEHOLDERTOKEN0000",
            "action_ts": self.stub.next_ts(),
            "team": {"id": TEAM, "domain": "acme-eng"},
            "user": {"id": user, "team_id": TEAM},
            "channel": {"id": message.get("channel", "C0GENERAL"), "name": "general"},
            "callback_id": callback_id,
            "trigger_id": f"{n}.1.{n:032x}",
            "message_ts": message["ts"],
            "message": message,
            "response_url": f"https://hooks.slack.com/app/{TEAM}/{n}/x",
        }
        return self._interactive(payload)

    def action(
        self, user: str, action_id: str, value: str, *, channel: str = "C0GENERAL", message_ts: str = "1.000001"
    ) -> Sent:
        """A block_actions click on any button, as if it existed (for access-control and fuzz tests)."""
        message = {
            "ts": message_ts,
            "channel": channel,
            "blocks": [
                {
                    "type": "actions",
                    "block_id": "b",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": action_id,
                            "value": value,
                            "text": {"type": "plain_text", "text": action_id},
                        }
                    ],
                }
            ],
        }
        return self.click(user, message, action_id, value)


def _find_button(blocks: list[dict[str, Any]], action_id: str, value: str | None) -> dict[str, Any] | None:
    for block in blocks:
        elements = block.get("elements") or ([block["accessory"]] if block.get("accessory") else [])
        for el in elements:
            if (
                el.get("type") == "button"
                and el.get("action_id") == action_id
                and (value is None or el.get("value") == value)
            ):
                return {**el, "_block_id": block.get("block_id", "b")}
    return None
