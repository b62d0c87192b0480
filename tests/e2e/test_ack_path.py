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
