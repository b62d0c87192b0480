"""A Slack Web API stand-in on loopback.

It answers the methods the bot calls with Slack-shaped responses, records every call, keeps the messages it
was asked to post (so `chat.update` and transcripts work), and can be told to answer 429 with `Retry-After`
or 5xx for a share of calls.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import random
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

BOT_USER = "U0BOT"
BOT_ID = "B0BOT"
TEAM = "T0TEAM"


class _StubServer(ThreadingHTTPServer):
    # The listen backlog: at socketserver's default of 5, a burst of the app's calls under load overflowed it, and
    # each dropped connection came back only with TCP's SYN retry a second later (bench/bench_load.py's p99 outliers).
    request_queue_size = 1024
    daemon_threads = True


@dataclass
class Faults:
    """Share of calls answered with 429 (and Retry-After seconds) or 500, per method set (empty = all)."""

    rate429: float = 0.0
    retry_after: int = 1
    rate5xx: float = 0.0
    methods: set[str] = field(default_factory=set)
    seed: int = 7


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    def succeeded(self, method: str) -> bool:
        """A call of `method` that Slack answered with 200 and ok."""
        return self.method == method and self.status == 200 and bool(self.response.get("ok"))


class SlackStub:
    """Start with `start()`; `base_url` is what SLACK_API_URL should be."""

    def __init__(self, users: dict[str, dict[str, Any]] | None = None) -> None:
        self.users: dict[str, dict[str, Any]] = dict(users or {})
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.faults = Faults()
        self.on_call: list[Callable[[Call], None]] = []
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.RLock()
        self._ts = itertools.count(1)
        self._t0 = int(time.time())
        self._server: ThreadingHTTPServer | None = None
        self.base_url = ""
        self.latency_s = 0.0
        self.in_flight = 0  # calls being answered right now (held by `latency_s`)

    # --- lifecycle -----------------------------------------------------------------------------------------
    def start(self, port: int = 0) -> SlackStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # a reply is written in two parts (headers, then body): on a kept-alive connection Nagle's algorithm
            # held the body until the client's delayed ACK, up to 40 ms a call, as Slack's own servers do not
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = urlparse(self.path).path
                if path.startswith("/upload/"):
                    status, body, headers = stub._upload(path.rsplit("/", 1)[-1], raw)
                else:
                    method = path.rsplit("/", 1)[-1]
                    params = stub._parse(raw, self.headers.get("Content-Type", ""), urlparse(self.path).query)
                    status, body, headers = stub.handle(method, params)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

        self._server = _StubServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="slack-stub").start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/api/"
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # --- helpers for tests and the demo --------------------------------------------------------------------
    def add_user(self, slack_id: str, name: str, tz: str = "UTC", locale: str = "en-US", **extra: Any) -> None:
        self.users[slack_id] = {
            "id": slack_id,
            "team_id": TEAM,
            "name": name.lower(),
            "real_name": name,
            "tz": tz,
            "locale": locale,
            "is_bot": extra.pop("is_bot", False),
            "deleted": False,
            "profile": {"real_name": name, "display_name": name, "email": extra.pop("email", None)},
            **extra,
        }

    def next_ts(self) -> str:
        with self._lock:
            return f"{self._t0}.{next(self._ts):06d}"

    def calls_since(self, start: int) -> list[Call]:
        """Every call recorded from index `start` on (O(new calls), for a poller that remembers where it was)."""
        with self._lock:
            return self.calls[start:]

    def calls_of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.succeeded(method)]

    def wait_for(self, predicate: Callable[[SlackStub], Any], timeout: float = 10.0) -> Any:
        """Poll until `predicate(stub)` is truthy (the bot answers after ack, on another thread)."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate(self)
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError("the sandbox did not see the expected Slack call in time\n" + self._diagnosis())
            time.sleep(0.02)

    def _diagnosis(self, last: int = 12) -> str:
        """The last calls seen and what every thread of the process is doing (for a test that timed out)."""
        with self._lock:
            calls = self.calls[-last:]
        lines = [f"last {len(calls)} calls:"]
        lines += [f"  {c.at:.3f} {c.method} {c.status} {str(c.params)[:160]}" for c in calls]
        names = {t.ident: t.name for t in threading.enumerate()}
        for ident, frame in sys._current_frames().items():
            stack = "".join(traceback.format_stack(frame, limit=8))
            lines.append(f"thread {names.get(ident, ident)}:\n{stack}")
        return "\n".join(lines)

    def wait_calls(self, method: str, count: int, timeout: float = 10.0) -> list[Call]:
        return self.wait_for(lambda s: (c := s.calls_of(method)) and len(c) >= count and c, timeout)

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                m for m in self.messages.get(channel, []) if m.get("thread_ts") == thread_ts or m["ts"] == thread_ts
            ]

    def post_as_user(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> dict[str, Any]:
        """Record a message a person typed (the driver then sends the matching event to the app)."""
        msg = {"type": "message", "user": user, "text": text, "ts": self.next_ts(), "channel": channel}
        if thread_ts:
            msg["thread_ts"] = thread_ts
        with self._lock:
            self.messages.setdefault(channel, []).append(msg)
        self._notify(Call("user.message", dict(msg), time.time(), response={"ok": True}))
        return msg

    def edit_as_user(self, channel: str, ts: str, text: str) -> dict[str, Any]:
        with self._lock:
            for m in self.messages.get(channel, []):
                if m["ts"] == ts:
                    previous = dict(m)
                    m["text"] = text
                    m["edited"] = {"user": m.get("user"), "ts": self.next_ts()}
                    self._notify(Call("user.edit", dict(m), time.time(), response={"ok": True}))
                    return previous
        raise KeyError(ts)

    # --- the Web API ---------------------------------------------------------------------------------------
    @staticmethod
    def _parse(raw: bytes, ctype: str, query: str) -> dict[str, Any]:
        params: dict[str, Any] = {k: v[0] for k, v in parse_qs(query).items()}
        if "json" in ctype and raw:
            params.update(json.loads(raw))
        elif raw:
            params.update({k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()})
        for key in ("blocks", "view", "files", "attachments"):
            if isinstance(params.get(key), str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        return params

    def _fault(self, method: str) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        f = self.faults
        if f.methods and method not in f.methods:
            return None
        r = self._rng.random()
        if r < f.rate429:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(f.retry_after)}
        if r < f.rate429 + f.rate5xx:
            return 500, {"ok": False, "error": "internal_error"}, {}
        return None

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.latency_s:
            with self._lock:
                self.in_flight += 1
            try:
                time.sleep(self.latency_s)
            finally:
                with self._lock:
                    self.in_flight -= 1
        with self._lock:
            fault = self._fault(method)
            if fault:
                status, body, headers = fault
            else:
                status, headers = 200, {}
                fn = getattr(self, "_m_" + method.replace(".", "_"), None)
                body = fn(params) if fn else {"ok": False, "error": "unknown_method"}
            call = Call(method, params, time.time(), status, body)
        self._notify(call)  # before it is listed: whoever waits for the call sees it printed first (the demo)
        with self._lock:
            self.calls.append(call)
        return status, body, headers

    def _notify(self, call: Call) -> None:
        for cb in list(self.on_call):
            cb(call)

    def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://acme-eng.slack.com/",
            "team": "Acme",
            "user": "growthloop",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(p.get("user", ""))
        if not user:
            return {"ok": False, "error": "user_not_found"}
        user = dict(user)
        if str(p.get("include_locale", "")).lower() not in ("true", "1"):
            user.pop("locale", None)
        return {"ok": True, "user": user}

    def _m_conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        users = sorted(u for u in str(p.get("users", "")).split(",") if u)
        if not users or any(u not in self.users for u in users):
            return {"ok": False, "error": "user_not_found"}
        if len(users) == 1:
            cid = "D" + users[0].lstrip("U")
        else:
            cid = "G" + hashlib.sha1(",".join(users).encode()).hexdigest()[:9].upper()
        return {"ok": True, "channel": {"id": cid}}

    def _post(self, p: dict[str, Any], **extra: Any) -> dict[str, Any]:
        channel = p.get("channel")
        if channel in self.users:  # posting to a user id lands in the bot's DM with them, as on Slack
            channel = "D" + str(channel).lstrip("U")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not p.get("text") and not p.get("blocks"):
            return {"ok": False, "error": "no_text"}
        msg = {
            "type": "message",
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "ts": self.next_ts(),
            "channel": channel,
            "text": p.get("text", ""),
            "blocks": p.get("blocks") or [],
            **extra,
        }
        if p.get("thread_ts"):
            msg["thread_ts"] = p["thread_ts"]
        self.messages.setdefault(channel, []).append(msg)
        return msg

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        msg = self._post(p)
        if "ts" not in msg:
            return msg
        return {"ok": True, "channel": msg["channel"], "ts": msg["ts"], "message": msg}

    def _m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        msg = self._post(p, ephemeral_to=p.get("user"))
        return {"ok": True, "message_ts": msg["ts"]} if "ts" in msg else msg

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        for m in self.messages.get(p.get("channel", ""), []):
            if m["ts"] == p.get("ts"):
                m["text"] = p.get("text", m["text"])
                if "blocks" in p:
                    m["blocks"] = p["blocks"]
                m["edited"] = True
                return {"ok": True, "channel": p["channel"], "ts": m["ts"], "text": m["text"]}
        return {"ok": False, "error": "message_not_found"}

    def _m_chat_getPermalink(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        ts = str(p.get("message_ts", "")).replace(".", "")
        return {
            "ok": True,
            "channel": p.get("channel"),
            "permalink": f"https://acme-eng.slack.com/archives/{p.get('channel')}/p{ts}",
        }

    def _m_views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        self.views["home:" + str(p.get("user_id"))] = p.get("view", {})
        return {"ok": True, "view": {"id": "V" + str(p.get("user_id")), **(p.get("view") or {})}}

    def _m_views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        vid = f"VMODAL{len(self.views)}"
        self.views[vid] = p.get("view", {})
        return {"ok": True, "view": {"id": vid, **(p.get("view") or {})}}

    def _m_views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        self.views[str(p.get("view_id"))] = p.get("view", {})
        return {"ok": True, "view": {"id": p.get("view_id"), **(p.get("view") or {})}}

    def _m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        fid = f"F{len(self.uploads) + 1:06d}"
        self.uploads[fid] = {"filename": p.get("filename"), "length": int(p.get("length", 0)), "data": None}
        return {"ok": True, "upload_url": self.base_url.replace("/api/", f"/upload/{fid}"), "file_id": fid}

    def _upload(self, fid: str, raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            if fid not in self.uploads:
                return 404, {"ok": False}, {}
            self.uploads[fid]["data"] = raw
        return 200, {"ok": True}, {}

    def _m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        files = p.get("files") or []
        for f in files:
            if f.get("id") in self.uploads:
                self.uploads[f["id"]].update(
                    title=f.get("title"), channel=p.get("channel_id"), comment=p.get("initial_comment")
                )
        return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title")} for f in files]}

    def _m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        """A thread, oldest first: its root and replies at or after `oldest` (ephemeral messages are not in it)."""
        root, oldest = str(p.get("ts") or ""), float(p.get("oldest") or 0)
        if not root:
            return {"ok": False, "error": "thread_not_found"}
        thread = [m for m in self.messages.get(str(p.get("channel")), []) if root in (m["ts"], m.get("thread_ts"))]
        msgs = [m for m in thread if float(m["ts"]) >= oldest and not m.get("ephemeral_to")]
        return {"ok": True, "messages": msgs[: int(p.get("limit") or 100)], "has_more": False}

    def _m_conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        """Newest first, messages at or after `oldest` (used to confirm a send whose answer was lost)."""
        oldest = float(p.get("oldest") or 0)
        msgs = [
            m
            for m in self.messages.get(str(p.get("channel")), [])
            if float(m["ts"]) >= oldest and not m.get("ephemeral_to")
        ]
        return {"ok": True, "messages": list(reversed(msgs))[: int(p.get("limit") or 100)], "has_more": False}
