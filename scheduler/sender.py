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
    """`rate` tokens a second, at most `burst` banked; `hold(s)` stops all takers for `s` seconds.

    `refund()` gives back the token of a call Slack did not count (an isolated 429: one busy channel refused,
    not the workspace's limit), so the pace is spent on deliveries. The refund never lets the bucket run ahead
    of one where that call was never made: with a taker waiting, the token is the one that taker would have had
    (so the bank may exceed `burst` by that token until the taker, woken at once, takes it); with nobody
    waiting, the bank is capped at `burst` as usual.
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.rate, self.burst = float(rate), max(1.0, float(burst))
        self.clock, self.sleep = clock, sleep  # sleep=None: wait on a condition (woken by refunds)
        self.tokens = self.burst
        self.updated = clock()
        self.blocked_until = 0.0
        self.waiting = 0
        self.refunded = 0
        self._cond = threading.Condition(threading.Lock())

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = max(self.tokens, min(self.burst, self.tokens + (now - self.updated) * self.rate))
            self.updated = now

    def hold(self, seconds: float) -> None:
        with self._cond:
            self.blocked_until = max(self.blocked_until, self.clock() + seconds)

    def refund(self) -> None:
        """Give back one token taken for a call that did not count (see the class docstring)."""
        with self._cond:
            self._refill(self.clock())
            cap = self.burst + 1 if self.waiting else self.burst
            self.tokens = min(cap, self.tokens + 1)
            self.refunded += 1
            self._cond.notify_all()

    def _take(self) -> float:
        """Take a token now (returns 0) or say how long to wait."""
        now = self.clock()
        wait = self.blocked_until - now
        if wait > 0:  # after a hold, the first taker goes at once, then the pace resumes
            self.updated = max(self.updated, self.blocked_until)
            self.tokens = max(self.tokens, 1.0)
            return wait
        self._refill(now)
        if self.tokens >= 1 - 1e-9:  # float dust must not make a taker wait forever
            self.tokens = max(self.tokens - 1, 0.0)
            return 0.0
        return (1 - self.tokens) / self.rate

    def acquire(self) -> None:
        with self._cond:
            while (wait := self._take()) > 0:
                self.waiting += 1
                try:
                    if self.sleep is None:
                        self._cond.wait(wait)
                    else:
                        self._cond.release()
                        try:
                            self.sleep(wait)
                        finally:
                            self._cond.acquire()
                finally:
                    self.waiting -= 1


@dataclass
class SendResult:
    ok: bool
    channel: str | None = None
    ts: str | None = None
    error: str | None = None
    retry_after: float | None = None  # set on 429
    transient: bool = False  # 5xx or network: retry with back-off


class SlackSender:
    """Calls Slack through per-method token buckets and turns every outcome into a `SendResult`.

    The pace (`rate_per_s`) is the rate of calls Slack counts, on average: a small bank (`burst_s` of the pace,
    0.1 s by default) lets the sender catch up after a stall of its own (a busy CPU, a slow commit) instead of
    losing that time, and never lets it run ahead by more than those few calls. A 429 alone is one recipient's
    channel refusing (Slack limits posting per channel too): its token is refunded and only that row waits for
    Retry-After.
    `RATE_LIMIT_STREAK` 429s in a row are the method's workspace limit: the whole method is held for
    Retry-After, and those tokens stay spent. 5xx and network errors keep their token (Slack may have counted
    the call).
    """

    def __init__(
        self,
        client: WebClient,
        *,
        rate_per_s: float,
        burst: float | None = None,
        burst_s: float = 0.1,
        rates: dict[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.client = client
        self.clock, self.sleep = clock, sleep  # for the buckets (tests pass a fake clock)
        self.rate = rate_per_s
        self.burst = burst  # tokens banked per method; None: `burst_s` seconds of the method's pace, at least 1
        self.burst_s = burst_s
        self.rates = {"conversations.open": 1.0, "conversations.history": 1.0, **(rates or {})}
        self.buckets: dict[str, TokenBucket] = {}
        self.streak = 0
        self.calls = 0
        self.rate_limited = 0
        self.holds = 0
        self._lock = threading.Lock()

    def bucket(self, method: str) -> TokenBucket:
        with self._lock:
            if method not in self.buckets:
                rate = self.rates.get(method, self.rate)
                self.buckets[method] = TokenBucket(
                    rate, self.burst or max(1.0, rate * self.burst_s), clock=self.clock, sleep=self.sleep
                )
            return self.buckets[method]

    def _outcome(self, *, limited: bool) -> bool:
        """Count a call's outcome; for a 429, True when it completes a streak (the method's workspace limit)."""
        with self._lock:
            self.calls += 1
            if not limited:
                self.streak = 0
                return False
            self.rate_limited += 1
            self.streak += 1
            if self.streak >= RATE_LIMIT_STREAK:
                self.holds += 1
                return True
            return False

    def _call(self, method: str, fn: Callable[..., Any], *, paced: bool = False, **kw: Any) -> tuple[SendResult, Any]:
        bucket = self.bucket(method)
        if not paced:  # the caller may take the token itself, earlier (see delivery.send_one)
            bucket.acquire()
        try:
            resp = fn(**kw)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error") or f"http_{status}")
            if status == 429:
                retry_after = float(
                    exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after") or 1
                )
                if self._outcome(limited=True):  # not one busy channel: the whole method is limited
                    bucket.hold(retry_after)
                else:  # one channel refused: Slack did not count the call, the pace goes to the next one
                    bucket.refund()
                return SendResult(False, error="ratelimited", retry_after=retry_after), None
            self._outcome(limited=False)
            return SendResult(False, error=error, transient=status >= 500), None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            self._outcome(limited=False)
            return SendResult(False, error=f"network: {type(exc).__name__}", transient=True), None
        self._outcome(limited=False)
        return SendResult(True, channel=resp.get("channel"), ts=resp.get("ts")), resp

    def post(
        self, *, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, paced: bool = False
    ) -> SendResult:
        """chat.postMessage; `paced=True` when the caller already took this method's token."""
        return self._call(
            "chat.postMessage",
            self.client.chat_postMessage,
            paced=paced,
            channel=channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )[0]

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
        hist, resp = self._call("conversations.history", self.client.conversations_history, channel=channel, limit=100)
        if not hist.ok:
            return hist
        for msg in resp.get("messages") or []:
            if any(b.get("block_id") == marker for b in msg.get("blocks") or []):
                return SendResult(True, channel=channel, ts=msg.get("ts"))
        return None
