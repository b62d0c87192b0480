"""Faults at small scale: Slack 429/5xx storms during a check-in, the LLM timing out mid check-in."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, select

from bot.coach.openai_stub import OpenAIStub
from bot.demo.sandbox import Sandbox, start_sandbox
from bot.slack.sandbox import Faults
from storage.models import Answer, CheckIn, DevelopmentPoint
from tests.e2e.checkin_helpers import answer, bot_thread_posts, thread_root

TRY_AGAIN = "please try again"


def _answers(sb: Sandbox) -> list[str]:
    with Session(sb.services.engine) as s:
        return [a.text for a in s.exec(select(Answer).order_by(col(Answer.id)))]


def _questions(sb: Sandbox, root: dict) -> int:
    return len([p for p in bot_thread_posts(sb, root["channel"], root["ts"]) if "checkin_skip" in str(p.get("blocks"))])


def _told(sb: Sandbox) -> int:
    return len([c for c in sb.stub.calls_of("chat.postEphemeral") if TRY_AGAIN in c.params.get("text", "")])


def test_a_slack_storm_during_a_checkin_loses_and_duplicates_nothing(sandbox: Sandbox) -> None:
    sb = sandbox
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    root = thread_root(sb)
    sb.stub.wait_for(lambda s: _questions(sb, root) == 1)
    # 429s are retried by the client (Retry-After honoured); 5xx fail the post of the next question
    sb.stub.faults = Faults(rate429=0.35, retry_after=0, rate5xx=0.25, methods={"chat.postMessage"}, seed=3)
    texts = [f"answer number {i}" for i in range(6)]
    for text in texts:
        asked, told = _questions(sb, root), _told(sb)
        sent = sb.driver.message("U0EMP", root["channel"], text, thread_ts=root["ts"])
        while True:  # the next question is out, or the employee was told to try again (then Slack retries)
            sb.stub.wait_for(lambda s, a=asked, t=told: _questions(sb, root) > a or _told(sb) > t, timeout=20)
            if _questions(sb, root) > asked:
                break
            told = _told(sb)
            assert sb.stub.calls_of("chat.postEphemeral")[-1].params["user"] == "U0EMP"
            sb.driver.message(
                "U0EMP",
                root["channel"],
                text,
                thread_ts=root["ts"],
                ts=sent.ts,
                retry=1,
                event_id=sent.event_id,
                record=False,
            )
    sb.stub.faults = Faults()
    assert _answers(sb) == texts  # each answer stored once, in order, none lost
    assert (
        _told(sb) >= 1 and any(c.status == 429 for c in sb.stub.calls) and any(c.status == 500 for c in sb.stub.calls)
    )
    with Session(sb.services.engine) as s:
        assert s.exec(select(CheckIn)).one().step == len(texts)


def test_the_llm_timing_out_mid_checkin_falls_back_and_loses_nothing(tmp_path: Path) -> None:
    llm = OpenAIStub(delay_s=3.0).start()
    sb = start_sandbox(
        tmp_path / "data", openai_api_key="sk-test", openai_base_url=llm.url, growthloop_llm_timeout_s=0.3
    )
    try:
        sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
        root = thread_root(sb)
        texts = ["We shipped onboarding on time.", "My roadmap slides never land with leadership; I ramble."]
        for i, text in enumerate(texts):
            answer(sb, "U0EMP", root, text, expect_posts=i + 2)  # the next question still comes (no follow-up hint)
        sb.driver.message("U0EMP", root["channel"], "done", thread_ts=root["ts"])
        sb.stub.wait_for(lambda s: any(c.params.get("ts") == root["ts"] for c in s.calls_of("chat.update")), timeout=90)
        assert llm.requests  # the coach did try the LLM
        assert _answers(sb) == texts
        with Session(sb.services.engine) as s:
            c = s.exec(select(CheckIn)).one()
            points = list(s.exec(select(DevelopmentPoint)))
        assert c.state == "done" and c.summary
        assert points and {p.source for p in points} == {"offline"}
    finally:
        sb.stop()
        llm.stop()


def test_a_checkin_whose_thread_cannot_be_opened_tells_the_manager_and_can_be_started_again(sandbox: Sandbox) -> None:
    sb = sandbox
    sb.stub.faults = Faults(rate5xx=1.0, methods={"conversations.open"})
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")  # acked ("starting…"); the thread is posted after the ack
    sb.stub.wait_for(lambda s: _told(sb) == 1, timeout=15)
    told = next(c for c in sb.stub.calls_of("chat.postEphemeral") if TRY_AGAIN in c.params.get("text", ""))
    assert told.params["user"] == "U0MGR" and told.params["channel"] == "C0GENERAL"
    sb.stub.faults = Faults()
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")  # the claim on the root was given back: this one posts it
    root = thread_root(sb)
    sb.stub.wait_for(lambda s: _questions(sb, root) == 1)
    with Session(sb.services.engine) as s:
        assert len(s.exec(select(CheckIn)).all()) == 1  # the same check-in, not a second one
