"""zh and mixed-language check-ins, the reflection, /growth permissions."""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session, select

from bot.demo.sandbox import Sandbox
from storage.models import Answer, AuditLog, CheckIn, DevelopmentPoint, Person
from tests.e2e.checkin_helpers import answer, thread_root, wait_thread_posts

ZH = [
    "这周还不错，新版上线了。",
    "目标完成了六成，卡在支付页。",
    "我自己组织了用户访谈，效果很好。",
    "给老板汇报的时候我总是讲不清重点，PPT 做了很多页也没用。",
    "数据一多我就不知道从哪下手分析。",
    "希望能多和数据团队交流。",
    "想练习怎么把汇报讲得更有条理。",
    "谢谢，很有帮助。",
]


def test_full_checkin_in_chinese(sandbox: Sandbox) -> None:
    sb = sandbox
    ack = sb.driver.slash("U0MGRZH", "/checkin", "<@U0EMPZH>")
    assert "王芳" in ack.json()["text"]
    root = thread_root(sb)
    posts = wait_thread_posts(sb, root["channel"], root["ts"], 1)
    assert all("\u4e00" <= ch <= "\u9fff" or not ch.isalpha() for ch in posts[0]["text"] if ch.isalpha())
    for i, text in enumerate(ZH):
        answer(sb, "U0EMPZH", root, text, i + 2)
    posts = wait_thread_posts(sb, root["channel"], root["ts"], 9)
    assert "发展点" in str(posts[8]["blocks"])
    with Session(sb.services.engine) as s:
        comps = {p.competency for p in s.exec(select(DevelopmentPoint))}
    assert {"communication", "data_analysis"} <= comps


def _start_mixed_pair(sb: Sandbox) -> None:
    """An en manager starts a check-in with a zh report."""
    with Session(sb.services.engine) as s:
        p = s.exec(select(Person).where(Person.slack_id == "U0EMPZH2")).one()
        p.manager_slack_id = "U0MGR"
        s.add(p)
        s.commit()
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMPZH2>")


def test_mixed_language_pair_is_asked_in_both(sandbox: Sandbox) -> None:
    sb = sandbox
    _start_mixed_pair(sb)
    root = thread_root(sb)
    first = wait_thread_posts(sb, root["channel"], root["ts"], 1)[0]
    q = first["text"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in q) and any(ch.isascii() and ch.isalpha() for ch in q)
    # both read the buttons, and each reads the date in their own format
    labels = [el["text"]["text"] for b in first["blocks"] if b["type"] == "actions" for el in b["elements"]]
    assert labels == ["Skip / 跳过", "Finish check-in / 结束 check-in"]
    state = next(m for m in sb.stub.messages[root["channel"]] if m["ts"] == root["ts"])["blocks"][1]
    assert "started " in str(state) and "开始于 20" in str(state) and "年" in str(state)
    # the closing message names each point in both languages
    answer(sb, "U0EMPZH2", root, "给领导汇报的时候我总是讲不清重点，PPT 做了很多页也没用。", 2)
    answer(sb, "U0EMPZH2", root, "结束", 3)
    summary = str(wait_thread_posts(sb, root["channel"], root["ts"], 3)[2]["blocks"])
    assert "小结 · Summary" in summary and "沟通表达 (Communication)" in summary


def test_reflection_is_offered_to_the_manager_at_the_next_checkin(sandbox: Sandbox) -> None:
    sb = sandbox
    ack = sb.driver.slash("U0EMP", "/checkin", "")
    assert "look for the new thread in your DM" in ack.json()["text"]  # the command's channel is not the thread
    root = sb.stub.wait_for(
        lambda s: next(
            (
                c
                for c in s.calls_of("chat.postMessage")
                if c.params["channel"] == "D0EMP" and not c.params.get("thread_ts")
            ),
            None,
        )
    )
    r = {"channel": "D0EMP", "ts": root.response["ts"]}
    wait_thread_posts(sb, r["channel"], r["ts"], 1)
    answer(sb, "U0EMP", r, "I want more practice presenting to execs.", 2)
    answer(sb, "U0EMP", r, "The churn analysis went well.", 3)
    answer(sb, "U0EMP", r, "Structuring my updates.", 4)
    with Session(sb.services.engine) as s:
        assert s.exec(select(CheckIn).where(CheckIn.kind == "reflection")).one().state == "done"
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    shared = sb.stub.wait_for(
        lambda s: next((c for c in s.calls_of("chat.postEphemeral") if "reflection" in c.params.get("text", "")), None)
    )
    assert shared.params["user"] == "U0MGR" and "presenting to execs" in shared.params["text"]


def test_growth_permissions(sandbox: Sandbox) -> None:
    sb = sandbox
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    root = thread_root(sb)
    wait_thread_posts(sb, root["channel"], root["ts"], 1)
    answer(sb, "U0EMP", root, "A private answer", 2)
    own = sb.driver.slash("U0EMP", "/growth", "")
    assert "A private answer" in str(own.json()["blocks"])
    manager = sb.driver.slash("U0MGR", "/growth", "<@U0EMP|erik>")
    assert "A private answer" in str(manager.json()["blocks"])
    peer = sb.driver.slash("U0EMP2", "/growth", "<@U0EMP>")
    assert "blocks" not in peer.json() and "own growth log" in peer.json()["text"]
    hr = sb.driver.slash("U0HR", "/growth", "<@U0EMP>")
    assert "A private answer" not in str(hr.json()["blocks"]) and "hidden" in str(hr.json()["blocks"])
    with Session(sb.services.engine) as s:
        audit = list(s.exec(select(AuditLog).where(AuditLog.action == "hr.read_growth_log")))
        assert [a.subject_slack_id for a in audit] == ["U0EMP"]
        assert len(list(s.exec(select(Answer)))) == 1


def test_forged_steering_button_values_get_a_clear_answer(sandbox: Sandbox) -> None:
    sb = sandbox
    for n, value in enumerate(["abc", "-1", "9" * 30, ""]):
        sent = sb.driver.action("U0EMP", "checkin_skip", value, channel="G0FORGED")
        assert sent.status == 200
        notes = sb.stub.wait_calls("chat.postEphemeral", n + 1)
        assert notes[-1].params["user"] == "U0EMP" and "Only the two people" in notes[-1].params["text"]


def test_slack_retries_of_handled_replies_post_nothing_twice(sandbox: Sandbox) -> None:
    import time

    from tests.e2e.checkin_helpers import bot_thread_posts

    sb = sandbox
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    root = thread_root(sb)
    wait_thread_posts(sb, root["channel"], root["ts"], 1)
    for text, expect in (("We shipped the importer.", "2/8"), ("skip", "3/8")):
        before = len(bot_thread_posts(sb, root["channel"], root["ts"]))
        sent = sb.driver.message("U0EMP", root["channel"], text, thread_ts=root["ts"])
        posts = wait_thread_posts(sb, root["channel"], root["ts"], before + 1)
        assert expect in str(posts[-1]["blocks"])
        time.sleep(0.3)  # Slack retries seconds later, when the first delivery is long done
        n = len(bot_thread_posts(sb, root["channel"], root["ts"]))
        # Slack retries a delivery whose ack came late, with the same body and event_id
        again = sb.driver.message(
            "U0EMP",
            root["channel"],
            text,
            thread_ts=root["ts"],
            ts=sent.ts,
            event_id=sent.event_id,
            retry=1,
            record=False,
        )
        assert again.status == 200
        time.sleep(0.8)
        assert len(bot_thread_posts(sb, root["channel"], root["ts"])) == n  # the question is not asked again
    with Session(sb.services.engine) as s:
        assert s.exec(select(CheckIn)).one().step == 2  # the retried "skip" skipped once
        assert [a.text for a in s.exec(select(Answer))] == ["We shipped the importer."]


def test_mixed_language_pair_gets_the_employees_language_in_the_closing_message(sandbox: Sandbox) -> None:
    sb = sandbox
    _start_mixed_pair(sb)
    root = thread_root(sb)
    wait_thread_posts(sb, root["channel"], root["ts"], 1)
    posts = answer(sb, "U0EMPZH2", root, "我给领导汇报的时候总是讲不清重点，幻灯片太乱了。", 2)
    sb.driver.click("U0EMPZH2", posts[1], "checkin_finish")
    closing = wait_thread_posts(sb, root["channel"], root["ts"], 3)[2]
    text = str(closing["blocks"])
    assert "小结" in text and "发展点" in text
    # the summary, the reasons and the buttons are the employee's (the coach wrote them in it); the titles and
    # competency names carry the manager's language as well, after the employee's, and so do the facts of the
    # summary (answers, topics, points) and each reason, on a line of their own below
    assert "小结 · Summary" in text and "(Communication)" in text
    assert "1 answer captured" in text and "1 development point(s): Communication" in text
    assert text.index("本次共记录") < text.index("1 answer captured")
    assert "标记原因" in text and "Why flagged: gap language" in text
    assert text.index("标记原因") < text.index("Why flagged")
    # the point names a behaviour to practise, one of its competency's descriptors, in the employee's language
    assert "做得好是这样的：" in text
    for english in ("Agree", "I see it differently", "practise this next"):
        assert english not in text


def test_a_reply_racing_the_roots_record_is_stored_and_one_never_recorded_is_left_to_slacks_retry(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from bot import checkins

    sb = sandbox
    real_attach = checkins.attach_thread
    replies: list = []

    def slow_attach(services, *, checkin_id, channel_id, thread_ts):  # type: ignore[no-untyped-def]
        # the root is posted; Erik replies before its ts is recorded (a database slow under load)
        t = threading.Thread(
            target=lambda: replies.append(
                sb.driver.message("U0EMP", channel_id, "Hi! Busy weeks.", thread_ts=thread_ts)
            )
        )
        t.start()
        time.sleep(0.4)
        attached = real_attach(services, checkin_id=checkin_id, channel_id=channel_id, thread_ts=thread_ts)
        t.join()
        return attached

    monkeypatch.setattr(checkins, "attach_thread", slow_attach)
    sb.driver.slash("U0MGR", "/checkin", "<@U0EMP>")
    root = thread_root(sb)
    posts = wait_thread_posts(sb, root["channel"], root["ts"], 2)  # the first question, then the second
    assert "2/8" in str(posts[-1]["blocks"]) and replies[0].status == 200
    with Session(sb.services.engine) as s:
        assert [a.text for a in s.exec(select(Answer))] == ["Hi! Busy weeks."]
    # a root whose ts is never recorded (the process died between the post and the write): 500, no "try again" note
    # (Slack delivers it again, so a resent message would be stored twice)
    monkeypatch.setattr(checkins, "ROOT_WAIT_S", 0.2)
    monkeypatch.setattr(checkins, "attach_thread", lambda *a, **kw: None)
    with Session(sb.services.engine) as s:
        c = s.exec(select(CheckIn)).one()
        c.state = "done"
        s.add(c)
        s.commit()
    started = checkins.start_guided(sb.services, manager_slack_id="U0MGR", employee_slack_id="U0EMP")
    checkins.note_channel(sb.services, checkin_id=started.checkin.id or 0, channel_id=root["channel"])
    notes = len(sb.stub.calls_of("chat.postEphemeral"))
    sent = sb.driver.message("U0EMP", root["channel"], "hello?", thread_ts="1999.000001")
    assert sent.status == 500
    time.sleep(0.3)
    assert len(sb.stub.calls_of("chat.postEphemeral")) == notes
    real_attach(sb.services, checkin_id=started.checkin.id or 0, channel_id=root["channel"], thread_ts="1999.000001")
    again = sb.driver.message(
        "U0EMP",
        root["channel"],
        "hello?",
        thread_ts="1999.000001",
        ts=sent.ts,
        event_id=sent.event_id,
        retry=1,
        record=False,
    )
    assert again.status == 200
    sb.stub.wait_for(lambda s: any(c.params.get("thread_ts") == "1999.000001" for c in s.calls_of("chat.postMessage")))
    with Session(sb.services.engine) as s:
        assert [a.text for a in s.exec(select(Answer).where(Answer.checkin_id == started.checkin.id))] == ["hello?"]
