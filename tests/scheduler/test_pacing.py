"""Pacing of the Slack sender with a fake clock: refused calls give their token back, streaks hold the method."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.broadcasts import start_broadcast
from bot.services import Services
from scheduler.delivery import DrainConfig, send_one
from scheduler.sender import RATE_LIMIT_STREAK, SlackSender, TokenBucket
from storage import deliveries as q
from storage.db import session_scope
from storage.models import Person


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def _error(status: int, error: str, headers: dict[str, str] | None = None) -> SlackApiError:
    resp = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="chat.postMessage",
        req_args={},
        data={"ok": False, "error": error},
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError(error, resp)


class ScriptedSlack:
    """chat.postMessage answering from a script of outcomes ("ok", "429", "500"), recording the fake time."""

    def __init__(self, clock: FakeClock, script: Iterator[str]) -> None:
        self.clock, self.script = clock, script
        self.calls: list[tuple[float, str]] = []

    def chat_postMessage(self, **kw: Any) -> dict[str, Any]:  # noqa: N802 (the WebClient's name)
        outcome = next(self.script)
        self.calls.append((self.clock.t, outcome))
        if outcome == "429":
            raise _error(429, "ratelimited", {"Retry-After": "1"})
        if outcome == "500":
            raise _error(500, "internal_error")
        return {"ok": True, "channel": kw["channel"], "ts": f"{self.clock.t:.6f}"}


def _sender(
    clock: FakeClock, script: Iterator[str], rate: float = 100.0, burst: float = 1.0
) -> tuple[SlackSender, ScriptedSlack]:
    slack = ScriptedSlack(clock, script)
    return SlackSender(slack, rate_per_s=rate, burst=burst, clock=clock, sleep=clock.sleep), slack  # type: ignore[arg-type]


def _pattern(n: int) -> Iterator[str]:
    """The bench's mix, spread out: every 10th call an isolated 429, every 100th a 500."""
    for i in range(n):
        yield "429" if i % 10 == 5 else "500" if i % 100 == 42 else "ok"


def test_refund_gives_the_token_back_without_banking_more_than_the_burst() -> None:
    clock = FakeClock()
    b = TokenBucket(10, 1, clock=clock, sleep=clock.sleep)
    b.acquire()
    b.refund()  # the call was not counted: the next taker goes at once
    b.acquire()
    assert clock.t == 0.0
    b.acquire()
    assert clock.t == pytest.approx(0.1)
    clock.t += 5.0  # idle: the bank is full (one token)...
    b.refund()  # ...and a late refund with nobody waiting does not raise it above the burst
    b.acquire()
    b.acquire()
    assert clock.t == pytest.approx(5.2)


def test_isolated_429s_do_not_spend_the_pace_so_deliveries_run_at_the_pace() -> None:
    clock = FakeClock()
    sender, slack = _sender(clock, _pattern(10_000))
    delivered = 0
    while delivered < 2000:
        if sender.post(channel="D1", text="hi").ok:
            delivered += 1
    counted = [t for t, outcome in slack.calls if outcome != "429"]
    assert delivered / clock.t >= 0.98 * 100  # the 10 % refused calls cost no pace; the 1 % 5xx do
    assert len(counted) / clock.t <= 100 + 1 / clock.t
    for start in range(0, int(clock.t)):  # Slack never counts more than rate·T + burst calls in any second
        assert sum(1 for t in counted if start <= t < start + 1) <= 100 + 1
    assert sender.rate_limited == sum(1 for _, o in slack.calls if o == "429") and sender.holds == 0
    assert sender.bucket("chat.postMessage").refunded == sender.rate_limited


def test_without_refunds_the_same_mix_would_deliver_only_89_percent() -> None:
    """The control: the 5xx keep their token; if 429s kept theirs too, 11 % of the pace would be lost."""
    clock = FakeClock()
    b = TokenBucket(100, 1, clock=clock, sleep=clock.sleep)
    delivered = 0
    for outcome in _pattern(2000):
        b.acquire()
        delivered += outcome == "ok"
    assert delivered / clock.t == pytest.approx(89, abs=1)


def test_a_streak_of_429s_holds_the_whole_method_for_retry_after() -> None:
    clock = FakeClock()
    script = iter(["ok"] + ["429"] * RATE_LIMIT_STREAK + ["ok"] * 5)
    sender, slack = _sender(clock, script)
    results = [sender.post(channel=f"D{i}", text="hi") for i in range(1 + RATE_LIMIT_STREAK)]
    assert [r.retry_after for r in results[1:]] == [1.0] * RATE_LIMIT_STREAK
    assert sender.holds == 1
    t_streak = slack.calls[-1][0]
    assert sender.post(channel="D9", text="hi").ok
    assert slack.calls[-1][0] == pytest.approx(t_streak + 1.0)  # the workspace limit: everyone waited 1 s
    # the streak-ending token is not refunded (it is the workspace's limit), the isolated ones before were
    assert sender.bucket("chat.postMessage").refunded == RATE_LIMIT_STREAK - 1


def test_isolated_429s_between_deliveries_never_hold_the_method() -> None:
    clock = FakeClock()
    script = iter(["429", "ok"] * 50)
    sender, slack = _sender(clock, script)
    for i in range(100):
        sender.post(channel=f"D{i}", text="hi")
    assert sender.holds == 0
    assert clock.t == pytest.approx(49 / 100, abs=0.011)  # 50 counted calls at 100/s (the first one free)


def test_5xx_keeps_its_token() -> None:
    clock = FakeClock()
    sender, _ = _sender(clock, iter(["500"] * 10), rate=10)
    for _ in range(10):
        assert sender.post(channel="D1", text="hi").transient
    assert clock.t == pytest.approx(0.9) and sender.bucket("chat.postMessage").refunded == 0


def test_a_refund_wakes_a_waiting_taker_at_once() -> None:
    b = TokenBucket(1.0, 1)  # real clock: a taker would otherwise wait a whole second
    b.acquire()
    took = threading.Event()

    def taker() -> None:
        b.acquire()
        took.set()

    th = threading.Thread(target=taker)
    t0 = time.monotonic()
    th.start()
    while not b.waiting:
        time.sleep(0.005)
    b.refund()
    assert took.wait(0.5) and time.monotonic() - t0 < 0.5
    th.join()
    assert b.tokens < 1  # the refunded token went to the waiter; nothing extra was banked


@pytest.fixture
def one_row(services: Services) -> tuple[Services, int]:
    with session_scope(services.engine) as session:
        session.add(Person(slack_id="U0HR", name="Hana", is_hr_admin=True))
        session.add(Person(slack_id="U1", name="Ann"))
    start_broadcast(services, admin_slack_id="U0HR", spec="all", message="hello")
    with session_scope(services.engine) as session:
        return services, q.due_ids(session=session, now=services.now())[0]


def test_a_row_taken_by_another_sender_gives_the_token_back(one_row: tuple[Services, int]) -> None:
    services, did = one_row
    clock = FakeClock()
    sender, slack = _sender(clock, iter(["ok"] * 5), rate=1.0)
    with session_scope(services.engine) as session:
        assert q.claim(session=session, delivery_id=did, now=services.now()) is not None  # another process
    assert send_one(services, sender, did, cfg=DrainConfig()) is None
    assert not slack.calls and sender.bucket("chat.postMessage").refunded == 1
    sender.bucket("chat.postMessage").acquire()
    assert clock.t == 0.0  # the token was not lost to the row nobody sent


def test_an_isolated_429_only_delays_its_own_row(one_row: tuple[Services, int]) -> None:
    services, did = one_row
    clock = FakeClock()
    sender, _ = _sender(clock, iter(["429", "ok"]), rate=1.0)
    assert send_one(services, sender, did, cfg=DrainConfig()) == "pending"
    with session_scope(services.engine) as session:
        assert did not in q.due_ids(session=session, now=services.now())  # waits for its Retry-After
        row_ids = q.due_ids(session=session, now=services.now())
    assert row_ids  # the other recipient's row goes at once, with the refunded token
    assert send_one(services, sender, row_ids[0], cfg=DrainConfig()) == "sent"
    assert clock.t == 0.0 and sender.holds == 0


def test_an_idle_drain_looks_for_rows_in_doubt_once_and_returns(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scheduler.delivery as delivery

    calls: list[float] = []
    real = delivery.recover

    def slow_recover(*args: Any, **kw: Any) -> int:  # a look-up slower than the main loop's own queries
        calls.append(time.monotonic())
        time.sleep(0.2)
        return real(*args, **kw)

    monkeypatch.setattr(delivery, "recover", slow_recover)
    clock = FakeClock()
    sender, slack = _sender(clock, iter(()))
    stop, out = threading.Event(), []
    th = threading.Thread(target=lambda: out.append(delivery.drain(services, sender, stop=stop)))
    th.start()
    th.join(3)
    stop.set()  # (a drain that kept looking would only end here)
    th.join()
    assert len(calls) == 1 and out[0].sent == 0 and not slack.calls
