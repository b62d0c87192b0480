"""The ack path: an answer is in the store before Slack hears 200, and the question follows."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.demo.sandbox import Sandbox
from storage.models import Answer
from tests.e2e.checkin_helpers import thread_root, wait_thread_posts


def _answers(sb: Sandbox) -> list[str]:
    with Session(sb.services.engine) as s:
        return [a.text for a in s.exec(select(Answer).order_by(Answer.id))]  # type: ignore[arg-type]


def test_an_answer_is_stored_before_the_ack(sandbox: Sandbox) -> None:
    sb = sandbox
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    root = thread_root(sb)
    wait_thread_posts(sb, root["channel"], root["ts"], 1)
    sb.stub.latency_s = 1.0  # Slack is slow: the listener's next question takes a while to post
    try:
        for n, text in enumerate(["first, stored at once", "second, stored at once"], start=1):
            sent = sb.driver.message("U0EMP", root["channel"], text, thread_ts=root["ts"])
            assert sent.status == 200
            assert _answers(sb)[-1] == text and len(_answers(sb)) == n  # no waiting: it was stored before the 200
            wait_thread_posts(sb, root["channel"], root["ts"], n + 1, timeout=20)
    finally:
        sb.stub.latency_s = 0.0


def test_a_message_in_another_thread_is_not_taken_as_an_answer(sandbox: Sandbox) -> None:
    sb = sandbox
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    root = thread_root(sb)
    wait_thread_posts(sb, root["channel"], root["ts"], 1)
    sent = sb.driver.message("U0EMP", root["channel"], "about lunch", thread_ts="1700000000.000001")
    assert sent.status == 200
    assert _answers(sb) == []


def test_a_double_submitted_checkin_gets_one_thread(sandbox: Sandbox) -> None:
    import time

    sb = sandbox
    sb.stub.latency_s = 0.5  # the first start is still posting its thread when the second arrives
    try:
        first = sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
        time.sleep(0.2)
        second = sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
        assert first.status == 200 and second.status == 200
        root = thread_root(sb)
        wait_thread_posts(sb, root["channel"], root["ts"], 1, timeout=20)
        time.sleep(2.0)
    finally:
        sb.stub.latency_s = 0.0
    roots = [
        c
        for c in sb.stub.calls_of("chat.postMessage")
        if c.params["channel"].startswith("G") and not c.params.get("thread_ts")
    ]
    assert len(roots) == 1  # one thread for the pair, not two


def test_a_stale_root_claim_is_taken_over(sqlite_services) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from bot import checkins

    s = sqlite_services
    assert checkins.claim_root(s, checkin_id=7) is True
    assert checkins.claim_root(s, checkin_id=7) is False  # held
    checkins.release_root(s, checkin_id=7)
    assert checkins.claim_root(s, checkin_id=7) is True  # given back after a failed post
    later = s.now() + checkins.ROOT_CLAIM_STALE + timedelta(seconds=1)
    s.clock = lambda: later
    assert checkins.claim_root(s, checkin_id=7) is True  # its holder died before posting
