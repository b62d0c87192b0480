"""The persistent fan-out against the loopback Slack stub with faults: nothing lost, nothing sent twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from sqlmodel import select

from bot.broadcasts import start_broadcast
from bot.services import Services
from bot.slack.sandbox import Faults, SlackStub
from scheduler.delivery import DrainConfig, drain, marker
from scheduler.sender import SlackSender, TokenBucket
from storage import deliveries as q
from storage.db import session_scope
from storage.models import Delivery, Person

N = 200


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    s = SlackStub().start()
    yield s
    s.stop()


@pytest.fixture
def org(services: Services, stub: SlackStub) -> Services:
    with session_scope(services.engine) as session:
        session.add(Person(slack_id="U0HR", name="Hana", is_hr_admin=True, team="people"))
        stub.add_user("U0HR", "Hana")
        for i in range(N):
            sid = f"U{i:05d}"
            session.add(Person(slack_id=sid, name=f"P{i}", team="big" if i % 2 else "small",
                               locale="zh" if i % 3 == 0 else "en"))
            stub.add_user(sid, f"P{i}")
    return services


def sender_for(stub: SlackStub, rate: float = 1000.0) -> SlackSender:
    client = WebClient(token="xoxb-test", base_url=stub.base_url, retry_handlers=[])  # the sender paces
    assert not client.retry_handlers
    return SlackSender(client, rate_per_s=rate, burst=10,
                       rates={"conversations.open": 100, "conversations.history": 100})


def posts_per_channel(stub: SlackStub) -> Counter[str]:
    return Counter(c.response["channel"] for c in stub.calls_of("chat.postMessage"))


def test_broadcast_with_429_and_5xx_loses_nothing_and_duplicates_nothing(org: Services, stub: SlackStub) -> None:
    out = start_broadcast(org, admin_slack_id="U0HR", spec="all", message="Q3 check-ins close Friday")
    assert out.count == N + 1
    stub.faults = Faults(rate429=0.10, retry_after=1, rate5xx=0.01, methods={"chat.postMessage"})
    stats = drain(org, sender_for(stub), cfg=DrainConfig(backoff_base_s=0.05), until_empty=True)
    per = posts_per_channel(stub)
    recipients = {f"D{i:05d}" for i in range(N)} | {"D0HR"}
    assert {c for c in per if c in recipients} == recipients  # 0 lost
    broadcast_posts = Counter(c.response["channel"] for c in stub.calls_of("chat.postMessage")
                              if c.params.get("text", "").startswith("📣"))
    assert max(broadcast_posts.values()) == 1  # 0 duplicated
    assert stats.retried > 0 and any(c.status == 429 for c in stub.calls)
    report = [c for c in stub.calls_of("chat.postMessage") if c.response["channel"] == "D0HR"
              and "Delivery report" in c.params["text"]]
    assert len(report) == 1 and f"{N + 1} sent, 0 failed, 0 pending" in report[0].params["text"]
    zh = [c for c in stub.calls_of("chat.postMessage") if c.response["channel"] == "D00000"]
    assert "来自 Hana" in zh[0].params["text"]


def test_permanent_errors_are_reported_with_reasons(org: Services, stub: SlackStub) -> None:
    with session_scope(org.engine) as session:
        session.add(Person(slack_id="U0GONE", name="Gone", team="small"))  # not in Slack: channel_not_found-like
    start_broadcast(org, admin_slack_id="U0HR", spec="team:small", message="hello")
    stub.faults = Faults(rate5xx=1.0, methods={"chat.postMessage"})
    cfg = DrainConfig(backoff_base_s=0.01, max_attempts=2)

    def heal(stats: object) -> None:  # Slack recovers once every broadcast row has failed: the report gets out
        if getattr(stats, "failed", 0) >= N // 2 + 1:
            stub.faults = Faults()

    drain(org, sender_for(stub), cfg=cfg, until_empty=True, on_pass=heal)
    report = [c for c in stub.calls_of("chat.postMessage") if "Delivery report" in c.params["text"]]
    assert len(report) == 1
    assert "0 sent" in report[0].params["text"] and "internal_error (gave up after 2 attempts)" in report[0].params[
        "text"]


def test_resume_after_crash_confirms_or_resends_never_duplicates(org: Services, stub: SlackStub) -> None:
    start_broadcast(org, admin_slack_id="U0HR", spec="team:small", message="crash test")
    sender = sender_for(stub)
    with session_scope(org.engine) as session:
        ids = q.due_ids(session=session, now=org.now(), limit=3)
    now = org.now()
    rows = []
    for did in ids[:2]:  # two rows claimed by a sender that then died...
        with session_scope(org.engine) as session:
            rows.append(q.claim(session=session, delivery_id=did, now=now))
    d = rows[0]  # ...after Slack accepted the first one, before it was confirmed
    sender.post(channel=d.recipient_slack_id, text=d.payload["text"],
                blocks=[{**d.payload["blocks"][0], "block_id": marker(d.id)}])
    stats = drain(org, sender, cfg=DrainConfig(lease_s=0), until_empty=True)
    assert stats.confirmed_after_crash == 1 and stats.resent_after_crash == 1
    per = posts_per_channel(stub)
    members = [f"D{i:05d}" for i in range(0, N, 2)]
    assert all(per[c] == 1 for c in members)
    with session_scope(org.engine) as session:
        assert {r.status for r in session.exec(select(Delivery))} == {"sent"}


def test_enqueue_is_idempotent_by_key(org: Services) -> None:
    row = {"key": "k1", "recipient_slack_id": "U00001", "payload": {"text": "x"}}
    with session_scope(org.engine) as session:
        assert q.enqueue(session=session, rows=[row], now=org.now()) == 1
    with session_scope(org.engine) as session:
        assert q.enqueue(session=session, rows=[row, {**row, "key": "k2"}], now=org.now()) == 1


def test_token_bucket_paces_and_holds() -> None:
    t = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        t[0] += s

    b = TokenBucket(10, 1, clock=lambda: t[0], sleep=sleep)
    for _ in range(5):
        b.acquire()
    assert t[0] == pytest.approx(0.4)
    b.hold(2.0)
    b.acquire()
    assert t[0] == pytest.approx(2.4 + 0.0, abs=0.11)
