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
           "topic": "negotiating a deadline", "ask": "what should I learn next?", "say": {
               "loading": "(loading the embedder and indexing the shipped catalog: 181 micro-courses, zh + en)",
               "proposed": "A check-in ended with a development point; the bot proposes up to three courses for it, "
                           "in the thread:",
               "refused": "The manager presses Start on the employee's course: refused, only the employee may.",
               "start": "The employee presses Start on the first course, Not relevant on the third:",
               "done": "…and Done once finished:",
               "asks": "The employee asks the bot in a DM: “{ask}”",
               "learn": "…and types `/learn {topic}`:"}},
    "zh": {"emp": "U0EMPZH", "mgr": "U0MGRZH", "competency": "communication",
           "evidence": "向上汇报时总是先讲过程，领导听了半天抓不住重点。",
           "topic": "跨部门推动", "ask": "我接下来该学什么？", "say": {
               "loading": "（加载向量模型并为自带的课程库建立索引：181 门微课，中英文）",
               "proposed": "一次 check-in 以一个发展点结束；机器人在话题串里为它推荐最多三门课程：",
               "refused": "经理点了员工课程上的“开始”：被拒绝，只有员工本人可以。",
               "start": "员工在第一门课程上点“开始”，在第三门上点“不相关”：",
               "done": "……学完后点“完成”：",
               "asks": "员工在私信里问机器人：“{ask}”",
               "learn": "……再输入 `/learn {topic}`："}},
}


def _last_bot(sb: Sandbox, channel: str, n: int) -> dict[str, Any]:
    return sb.stub.wait_for(lambda s: len(m := [x for x in s.messages.get(channel, []) if x.get("bot_id")
                                                and not x.get("ephemeral_to")]) >= n and m[-1], timeout=60)


def play(sb: Sandbox, tr: Transcript) -> None:
    lang = sb.extra.get("lang", "en")
    sc = SCRIPT[lang]
    emp, mgr, say = sc["emp"], sc["mgr"], sc["say"]
    tr.say(say["loading"])
    knowledge_of(sb.services).warm()

    tr.say(say["proposed"])
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

    tr.say(say["refused"])
    sb.driver.click(mgr, msg, "learn_start", str(actions[0].id))
    sb.stub.wait_calls("chat.postEphemeral", 1, timeout=30)
    tr.say(say["start"])
    sb.driver.click(emp, msg, "learn_start", str(actions[0].id))
    sb.stub.wait_calls("chat.update", 1, timeout=30)
    msg = next(m for m in sb.stub.messages[channel] if m["ts"] == root["ts"])
    sb.driver.click(emp, msg, "learn_not_relevant", str(actions[2].id))
    sb.stub.wait_calls("chat.update", 2, timeout=30)
    msg = next(m for m in sb.stub.messages[channel] if m["ts"] == root["ts"])
    tr.say(say["done"])
    sb.driver.click(emp, msg, "learn_done", str(actions[0].id))
    sb.stub.wait_calls("chat.update", 3, timeout=30)

    dm = "D" + emp.lstrip("U")
    tr.say(say["asks"].format(ask=sc["ask"]))
    before = len([x for x in sb.stub.messages.get(dm, []) if x.get("bot_id")])
    sb.driver.message(emp, dm, sc["ask"])
    _last_bot(sb, dm, before + 1)
    tr.say(say["learn"].format(topic=sc["topic"]))
    sb.driver.slash(emp, "/learn", sc["topic"], channel=dm)
    _last_bot(sb, dm, before + 2)
