"""Chapter 3: what to learn next — courses for development points, /learn, and the course buttons."""

from __future__ import annotations

from typing import Any

from bot.demo.sandbox import Sandbox
from bot.learning import propose_actions
from bot.slack.blocks_learning import action_blocks, action_text
from bot.slack.sandbox.transcript import Transcript
from knowledge.competencies import load_competency_model
from knowledge.wiring import knowledge_of
from storage.db import session_scope
from storage.models import DevelopmentPoint

TITLE = {"en": "Learning: courses for development points, /learn, Start / Done / Not relevant",
         "zh": "学习：针对发展点的课程、/learn、开始 / 完成 / 不相关"}

SCRIPT = {
    "en": {"emp": "U0EMP", "mgr": "U0MGR", "competency": "communication",
           "evidence": "My updates to the VP ramble and she stops reading after the first paragraph.",
           "topic": "negotiating a deadline", "ask": "what should I learn next?"},
    "zh": {"emp": "U0EMPZH", "mgr": "U0MGRZH", "competency": "communication",
           "evidence": "向上汇报时总是先讲过程，领导听了半天抓不住重点。",
           "topic": "跨部门推动", "ask": "我接下来该学什么？"},
}


def _last_bot(sb: Sandbox, channel: str, n: int) -> dict[str, Any]:
    return sb.stub.wait_for(lambda s: len(m := [x for x in s.messages.get(channel, []) if x.get("bot_id")
                                                and not x.get("ephemeral_to")]) >= n and m[-1], timeout=60)


def play(sb: Sandbox, tr: Transcript) -> None:
    lang = sb.extra.get("lang", "en")
    sc = SCRIPT[lang]
    emp, mgr = sc["emp"], sc["mgr"]
    tr.say("(loading the embedder and indexing the shipped catalog: 181 micro-courses, zh + en)")
    knowledge_of(sb.services).warm()

    tr.say("A check-in ended with a development point; the bot proposes up to three courses for it, in the thread:")
    with session_scope(sb.services.engine) as s:
        point = DevelopmentPoint(person_slack_id=emp, competency=sc["competency"], evidence=sc["evidence"])
        s.add(point)
        s.flush()
    [(_, actions)] = propose_actions(sb.services, person_slack_id=emp, points=[point])
    client = sb.services.extras["slack_client"]
    channel = client.conversations_open(users=f"{mgr},{emp}")["channel"]["id"]
    name = load_competency_model().name(sc["competency"], lang)
    root = client.chat_postMessage(channel=channel, text=action_text(name, actions, lang),
                                   blocks=action_blocks(name, actions, lang))
    msg = next(m for m in sb.stub.messages[channel] if m["ts"] == root["ts"])

    tr.say("The manager presses Start on the employee's course: refused, only the employee may.")
    sb.driver.click(mgr, msg, "learn_start", str(actions[0].id))
    sb.stub.wait_calls("chat.postEphemeral", 1, timeout=30)
    tr.say("The employee presses Start on the first course, Not relevant on the third:")
    sb.driver.click(emp, msg, "learn_start", str(actions[0].id))
    sb.stub.wait_calls("chat.update", 1, timeout=30)
    msg = next(m for m in sb.stub.messages[channel] if m["ts"] == root["ts"])
    sb.driver.click(emp, msg, "learn_not_relevant", str(actions[2].id))
    sb.stub.wait_calls("chat.update", 2, timeout=30)
    msg = next(m for m in sb.stub.messages[channel] if m["ts"] == root["ts"])
    tr.say("…and Done once finished:")
    sb.driver.click(emp, msg, "learn_done", str(actions[0].id))
    sb.stub.wait_calls("chat.update", 3, timeout=30)

    dm = "D" + emp.lstrip("U")
    tr.say(f"The employee asks the bot in a DM: “{sc['ask']}”")
    before = len([x for x in sb.stub.messages.get(dm, []) if x.get("bot_id")])
    sb.driver.message(emp, dm, sc["ask"])
    _last_bot(sb, dm, before + 1)
    tr.say(f"…and types `/learn {sc['topic']}`:")
    sb.driver.slash(emp, "/learn", sc["topic"], channel=dm)
    _last_bot(sb, dm, before + 2)
