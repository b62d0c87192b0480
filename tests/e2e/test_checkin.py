"""A guided check-in end to end, through signed HTTP against the sandbox."""

from __future__ import annotations

import time

from sqlmodel import Session, col, select

from bot.coach.acknowledge import VARIANTS
from bot.demo.sandbox import Sandbox, start_sandbox
from bot.i18n import t
from storage.models import Answer, CheckIn, DevelopmentPoint
from tests.e2e.checkin_helpers import answer, bot_thread_posts, thread_root, wait_thread_posts

EN_ANSWERS = [
    "Pretty good week overall, the onboarding revamp shipped.",
    "The activation goal is at 60%. The blocker is the pricing page.",
    "I ran the customer interviews myself and they went really well.",
    "I struggle to present the roadmap to the leadership team; my slides never land.",
    "Honestly I keep saying yes to every request and the important work slips.",
    "Some time with the data team would help me.",
    "I want to practise structuring an executive update.",
    "Thanks, this was useful.",
]


def _answers(sb: Sandbox) -> list[Answer]:
    with Session(sb.services.engine) as s:
        return list(s.exec(select(Answer).order_by(col(Answer.id))))


def test_full_checkin_in_english(sandbox: Sandbox) -> None:
    sb = sandbox
    ack = sb.driver.slash("U0MGR", "/checkin", "<@U0EMP|erik>")
    assert ack.status == 200 and "Erik" in ack.json()["text"]
    root = thread_root(sb)
    posts = wait_thread_posts(sb, root["channel"], root["ts"], 1)
    assert "1/8" in str(posts[0]["blocks"])
    tips = sb.stub.wait_calls("chat.postEphemeral", 1)
    assert tips[0].params["user"] == "U0MGR" and "Coaching tip" in tips[0].params["text"]
    for i, text in enumerate(EN_ANSWERS):
        answer(sb, "U0EMP", root, text, expect_posts=i + 2)
    posts = wait_thread_posts(sb, root["channel"], root["ts"], 9)
    assert [a.text for a in _answers(sb)] == EN_ANSWERS
    # acknowledge first, then explore: each next question opens with a line that fits the answer before it
    assert "1/8" in posts[0]["blocks"][0]["elements"][0]["text"]  # the first question follows no answer
    for i, tone in [(1, "positive"), (2, "obstacle"), (4, "gap"), (7, "goal")]:
        first = posts[i]["blocks"][0]["text"]["text"]
        assert first in {t(f"checkin_ack_{tone}_{v}", "en") for v in range(VARIANTS)}, (i, first)
        assert posts[i]["text"].startswith(first + "\n")
    summary = posts[8]
    assert "Development points" in str(summary["blocks"])
    assert "confidence" not in str(summary["blocks"]) and "%" not in str(summary["blocks"])  # no score on a person
    with Session(sb.services.engine) as s:
        checkin = s.exec(select(CheckIn)).one()
        points = list(s.exec(select(DevelopmentPoint)))
    assert checkin.state == "done" and checkin.finished_at is not None
    comps = {p.competency for p in points}
    assert "communication" in comps and "planning" in comps
    assert all(p.evidence in " ".join(EN_ANSWERS) for p in points)
    # the root message now shows the check-in is done
    sb.stub.wait_for(
        lambda s: any(
            c.params.get("ts") == root["ts"] and "Done" in c.params.get("text", "") for c in s.calls_of("chat.update")
        )
    )


def test_steering_words_and_buttons(sandbox: Sandbox) -> None:
    sb = sandbox
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP2>")
    root = thread_root(sb)
    q1 = wait_thread_posts(sb, root["channel"], root["ts"], 1)[0]
    answer(sb, "U0EMP2", root, "skip", expect_posts=2)  # word: no answer stored
    assert _answers(sb) == []
    posts = answer(sb, "U0EMP2", root, "back", expect_posts=3)
    assert posts[2]["text"] == q1["text"]
    sb.driver.click("U0MGR", posts[2], "checkin_skip")
    posts = wait_thread_posts(sb, root["channel"], root["ts"], 4)
    sb.driver.click("U0EMP3", posts[3], "checkin_finish")  # a third party cannot steer
    sb.stub.wait_for(
        lambda s: any("Only the two people" in c.params.get("text", "") for c in s.calls_of("chat.postEphemeral"))
    )
    sb.driver.click("U0EMP2", posts[3], "checkin_finish")
    wait_thread_posts(sb, root["channel"], root["ts"], 5)
    with Session(sb.services.engine) as s:
        assert s.exec(select(CheckIn)).one().state == "done"


def test_retry_edit_third_party_and_bad_answers(sandbox: Sandbox) -> None:
    sb = sandbox
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    root = thread_root(sb)
    wait_thread_posts(sb, root["channel"], root["ts"], 1)
    first = sb.driver.message("U0EMP", root["channel"], "first answer", thread_ts=root["ts"])
    wait_thread_posts(sb, root["channel"], root["ts"], 2)
    sb.driver.message(
        "U0EMP",
        root["channel"],
        "first answer",
        thread_ts=root["ts"],
        event_id=first.event_id,
        retry=1,
        record=False,
        ts=first.ts,
    )
    sb.driver.message("U0EMP3", root["channel"], "I am not part of this", thread_ts=root["ts"])
    sb.driver.bot_echo(root["channel"], "echo", thread_ts=root["ts"])
    time.sleep(0.5)
    assert [a.text for a in _answers(sb)] == ["first answer"]
    sb.driver.edit("U0EMP", root["channel"], first.ts or "", "first answer, edited", thread_ts=root["ts"])
    sb.stub.wait_for(lambda s: _answers(sb)[0].text == "first answer, edited")
    assert _answers(sb)[0].edits[0]["text"] == "first answer"
    n = len(bot_thread_posts(sb, root["channel"], root["ts"]))
    for i, text in enumerate(["", "😀🎉👍" * 50, "x" * 40_000]):
        sb.driver.message("U0EMP", root["channel"], text, thread_ts=root["ts"])
        wait_thread_posts(sb, root["channel"], root["ts"], n + i + 1)
    assert [len(a.text) for a in _answers(sb)][1:] == [0, 150, 40_000]


def test_refusals_and_second_checkin(sandbox: Sandbox) -> None:
    sb = sandbox
    refused = sb.driver.slash("U0MGR", "/checkin", "<@U0EMPZH>")
    assert "Only 王芳's manager" in refused.json()["text"]
    zh = sb.driver.slash("U0MGRZH", "/checkin", "<@U0EMP>")
    assert "只有" in zh.json()["text"]
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    root = thread_root(sb)
    again = sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    assert "already open" in again.json()["text"] and root["channel"] in again.json()["text"]
    with Session(sb.services.engine) as s:
        assert len(list(s.exec(select(CheckIn)))) == 1


def test_restart_mid_checkin_resumes_at_the_same_question(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sb = start_sandbox(tmp_path / "data")
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    root = thread_root(sb)
    wait_thread_posts(sb, root["channel"], root["ts"], 1)
    answer(sb, "U0EMP", root, "answer one", 2)
    answer(sb, "U0EMP", root, "answer two", 3)
    stub = sb.stub
    sb.server.stop()
    sb.services.engine.dispose()
    sb2 = start_sandbox(tmp_path / "data", stub=stub, people_csv="")
    try:
        before = len(bot_thread_posts(sb2, root["channel"], root["ts"]))
        sb2.driver.message("U0EMP", root["channel"], "answer three", thread_ts=root["ts"])
        posts = wait_thread_posts(sb2, root["channel"], root["ts"], before + 1)
        assert "4/8" in str(posts[-1]["blocks"])
        assert [a.text for a in _answers(sb2)] == ["answer one", "answer two", "answer three"]
        assert [a.step for a in _answers(sb2)] == [0, 1, 2]
    finally:
        sb2.stop()


def test_a_button_under_an_earlier_question_or_pressed_twice_moves_nothing(sandbox: Sandbox) -> None:
    sb = sandbox
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP2>")
    root = thread_root(sb)
    q1 = wait_thread_posts(sb, root["channel"], root["ts"], 1)[0]
    posts = answer(sb, "U0EMP2", root, "Mostly the billing migration.", expect_posts=2)
    q2 = posts[1]

    def notes(text: str) -> int:
        return len([c for c in sb.stub.calls_of("chat.postEphemeral") if text in c.params.get("text", "")])

    sb.driver.click("U0EMP2", q1, "checkin_skip")  # under the answered first question: nothing moves
    sb.stub.wait_for(lambda s: notes("belongs to an earlier question") == 1)
    sb.driver.click("U0EMP2", q2, "checkin_skip")  # the current question: skipped once ...
    wait_thread_posts(sb, root["channel"], root["ts"], 3)
    sb.driver.click("U0EMP2", q2, "checkin_skip")  # ... and a second press of the same button is stale
    sb.stub.wait_for(lambda s: notes("belongs to an earlier question") == 2)
    time.sleep(0.3)
    assert len(bot_thread_posts(sb, root["channel"], root["ts"])) == 3
    with Session(sb.services.engine) as s:
        assert s.exec(select(CheckIn)).one().step == 2
    last = bot_thread_posts(sb, root["channel"], root["ts"])[-1]
    sb.driver.click("U0MGR", last, "checkin_finish")
    wait_thread_posts(sb, root["channel"], root["ts"], 4)  # the summary
    sb.driver.click("U0EMP2", last, "checkin_finish")  # one of the pair, on a closed check-in: told it is closed
    sb.stub.wait_for(lambda s: notes("already closed") == 1)
    # writing in the closed thread: one of the pair is told it was not saved (once per message); a third party is not
    sb.stub.wait_for(lambda s: any(c.params.get("ts") == root["ts"] for c in s.calls_of("chat.update")), timeout=30)
    sb.driver.message("U0EMP2", root["channel"], "One more thought: I'd like a mentor.", thread_ts=root["ts"])
    sb.stub.wait_for(lambda s: notes("so that was not saved") == 1)
    sb.driver.message("U0EMP3", root["channel"], "hello?", thread_ts=root["ts"])
    time.sleep(0.5)
    assert notes("so that was not saved") == 1
    with Session(sb.services.engine) as s:
        assert "One more thought" not in str([a.text for a in s.exec(select(Answer))])


def test_back_and_a_new_reply_replace_the_answer_for_the_coach_and_keep_the_old_one(sandbox: Sandbox) -> None:
    sb = sandbox
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP2>")
    root = thread_root(sb)
    answer(sb, "U0EMP2", root, "Quiet week, nothing to report.", expect_posts=2)
    answer(sb, "U0EMP2", root, "I keep missing deadlines because I say yes to everything.", expect_posts=3)
    answer(sb, "U0EMP2", root, "back", expect_posts=4)
    posts = answer(sb, "U0EMP2", root, "The goals are on track, no blockers.", expect_posts=5)
    sb.driver.click("U0EMP2", posts[4], "checkin_finish")
    summary = wait_thread_posts(sb, root["channel"], root["ts"], 6)[5]
    with Session(sb.services.engine) as s:
        stored = [a.text for a in s.exec(select(Answer).order_by(col(Answer.id)))]
        points = list(s.exec(select(DevelopmentPoint)))
    assert len(stored) == 3  # the replaced answer stays stored, as history
    assert "2 answers captured" in str(summary["blocks"])
    assert all("deadlines" not in p.evidence for p in points)  # ...but the coach reads only the answer that stands
