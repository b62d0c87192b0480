"""A paced Slack sender: a token bucket per Web API method, 429 Retry-After honoured, errors classified.

The WebClient given here must have NO retry handlers (`make_client(settings, retries=False)`): this sender
decides when to retry, so pacing stays under our control and a retry is a new claim of the queue row.
"""

from __future__ import annotations

import threading
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

RATE_LIMIT_STREAK = 5  # this many 429s in a row across different recipients = the method's workspace limit


class TokenBucket:
    """`rate` tokens a second, at most `burst` banked; `hold(s)` stops all takers for `s` seconds."""

    def __init__(self, rate: float, burst: float = 1.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate, self.burst = float(rate), max(1.0, float(burst))
        self.clock, self.sleep = clock, sleep
        self.tokens = self.burst
        self.updated = clock()
        self.blocked_until = 0.0
        self._lock = threading.Lock()

    def hold(self, seconds: float) -> None:
        with self._lock:
            self.blocked_until = max(self.blocked_until, self.clock() + seconds)

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self.clock()
                wait = self.blocked_until - now
                if wait <= 0:
                    self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
                    self.updated = now
                    if self.tokens >= 1 - 1e-9:  # float dust must not make a taker wait forever
                        self.tokens = max(self.tokens - 1, 0.0)
                        return
                    wait = (1 - self.tokens) / self.rate
                else:  # after a hold, the first taker goes at once, then the pace resumes
                    self.updated = max(self.updated, self.blocked_until)
                    self.tokens = max(self.tokens, 1.0)
            self.sleep(wait)


@dataclass
class SendResult:
    ok: bool
    channel: str | None = None
    ts: str | None = None
    error: str | None = None
    retry_after: float | None = None  # set on 429
    transient: bool = False  # 5xx or network: retry with back-off


class SlackSender:
    """Calls Slack through per-method token buckets and turns every outcome into a `SendResult`."""

    def __init__(self, client: WebClient, *, rate_per_s: float, burst: float = 1.0,
                 rates: dict[str, float] | None = None) -> None:
        self.client = client
        self.rate = rate_per_s
        self.burst = burst
        self.rates = {"conversations.open": 1.0, "conversations.history": 1.0, **(rates or {})}
        self.buckets: dict[str, TokenBucket] = {}
        self.streak = 0
        self.calls = 0
        self.rate_limited = 0

    def bucket(self, method: str) -> TokenBucket:
        if method not in self.buckets:
            self.buckets[method] = TokenBucket(self.rates.get(method, self.rate), self.burst)
        return self.buckets[method]

    def _call(self, method: str, fn: Callable[..., Any], *, paced: bool = False, **kw: Any) -> tuple[SendResult, Any]:
        bucket = self.bucket(method)
        if not paced:  # the caller may take the token itself, earlier (see delivery.send_one)
            bucket.acquire()
        self.calls += 1
        try:
            resp = fn(**kw)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error") or f"http_{status}")
            if status == 429:
                self.rate_limited += 1
                retry_after = float(exc.response.headers.get("Retry-After") or exc.response.headers.get(
                    "retry-after") or 1)
                self.streak += 1
                if self.streak >= RATE_LIMIT_STREAK:  # not one busy channel: the whole method is limited
                    bucket.hold(retry_after)
                return SendResult(False, error="ratelimited", retry_after=retry_after), None
            self.streak = 0
            return SendResult(False, error=error, transient=status >= 500), None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            self.streak = 0
            return SendResult(False, error=f"network: {type(exc).__name__}", transient=True), None
        self.streak = 0
        return SendResult(True, channel=resp.get("channel"), ts=resp.get("ts")), resp

    def post(self, *, channel: str, text: str, blocks: list[dict[str, Any]] | None = None,
             paced: bool = False) -> SendResult:
        """chat.postMessage; `paced=True` when the caller already took this method's token."""
        return self._call("chat.postMessage", self.client.chat_postMessage, paced=paced, channel=channel, text=text,
                          blocks=blocks, unfurl_links=False, unfurl_media=False)[0]

    def update(self, *, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> SendResult:
        return self._call("chat.update", self.client.chat_update, channel=channel, ts=ts, text=text, blocks=blocks)[0]

    def find_marker(self, *, user: str, marker: str) -> SendResult | None:
        """Look for a message of ours carrying block_id `marker` among the newest in the DM with `user`.

        Returns a SendResult with ok=True (found, with ts) or None (surely not there); a failed SendResult when
        Slack could not be asked (the caller keeps the row in doubt and asks again later).
        """
        opened, resp = self._call("conversations.open", self.client.conversations_open, users=user)
        if not opened.ok:
            return opened
        channel = resp["channel"]["id"]
        hist, resp = self._call("conversations.history", self.client.conversations_history, channel=channel,
                                limit=100)
        if not hist.ok:
            return hist
        for msg in resp.get("messages") or []:
            if any(b.get("block_id") == marker for b in msg.get("blocks") or []):
                return SendResult(True, channel=channel, ts=msg.get("ts"))
        return None
