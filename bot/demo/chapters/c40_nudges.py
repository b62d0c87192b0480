"""Chapter 4: cadence and nudges at each person's local time; pause; HR holidays, cycle and a broadcast."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any

from bot.demo.sandbox import Sandbox
from bot.slack.sandbox.transcript import Transcript
from scheduler import jobs
from scheduler.slots import local_instant, zone
from storage.types import utcnow

TITLE = {"en": "Nudges at local time, pause, HR holidays, cycles and a broadcast that loses nothing",
         "zh": "按当地时间提醒、暂停、HR 假期、评估周期与不丢消息的群发"}

SCRIPT = {
    "en": {"mgr": "U0MGR", "tz": "Europe/Berlin", "away": "U0EMP3", "pause": "2w", "start": "U0EMP2",
           "snooze": "U0EMP", "say": {
               "status": "Maria asks when her next check-ins are:",
               "pause": "Sam is going on leave and pauses his nudges:",
               "prompt": "Monday, the day before: each report gets a reflection prompt at 10:00 *their* time.",
               "tick": "Tuesday 10:00 in Berlin: the scheduler's tick plans and sends the nudges (Sam is paused).",
               "again": "The scheduler runs again a minute later (or a second instance): nothing is sent twice.",
               "click": "Maria starts the check-in with Priya from the nudge and snoozes the other one:",
               "hr": "Hana (HR) adds a company holiday, opens a review cycle and sends a broadcast:"}},
    "zh": {"mgr": "U0MGRZH", "tz": "Asia/Shanghai", "away": "U0EMPZH", "pause": "2周", "start": "U0EMPZH2",
           "snooze": "U0EMPZH", "say": {
               "status": "李伟查看下一次 check-in 的时间：",
               "pause": "王芳要休假，暂停了提醒：",
               "prompt": "周一（前一天）：每位下属在*自己的*当地时间 10:00 收到反思提示。",
               "tick": "周二上海时间 10:00：调度器的 tick 规划并发送提醒（王芳已暂停）。",
               "again": "一分钟后调度器再次运行（或第二个实例）：不会重复发送。",
               "click": "李伟从提醒里直接开始与陈静的 check-in：",
               "hr": "Hana（HR）添加公司假期、开启评估周期并群发通知："}},
}


def _next_weekday_at(now: datetime, weekday: int, at: time, tz: str) -> datetime:
    day = now.astimezone(zone(tz)).date() + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return local_instant(day, at, tz)


def _nudge_about(sb: Sandbox, channel: str, employee: str) -> dict[str, Any] | None:
    name = sb.stub.users[employee]["real_name"]
    return next((m for m in sb.stub.messages.get(channel, []) if name in m.get("text", "")
                 and any(b.get("type") == "actions" for b in m.get("blocks") or [])), None)


def _slash(sb: Sandbox, tr: Transcript, user: str, command: str, text: str) -> None:
    tr.say(f"{tr.name(user)}: {command} {text}")
    body = json.loads(sb.driver.slash(user, command, text).body or "{}")
    if body.get("text"):
        tr.block("    " + tr.labels["ephemeral"].format(name=tr.name(user)), [body["text"]], "    ")


def _tick(sb: Sandbox, at: datetime) -> None:
    sb.services.clock = lambda: at
    jobs.tick()
    jobs.deliver()


def play(sb: Sandbox, tr: Transcript) -> None:
    lang = sb.extra.get("lang", "en")
    sc, say = SCRIPT[lang], SCRIPT[lang]["say"]
    mgr, tz = sc["mgr"], sc["tz"]
    dm = "D" + mgr.lstrip("U")
    jobs.bind(sb.services)
    slot = _next_weekday_at(utcnow(), 1, time(10, 0, 30), tz)  # the coming Tuesday, 10:00 in the manager's zone
    try:
        sb.services.clock = lambda: slot - timedelta(days=2)
        tr.say(say["status"])
        _slash(sb, tr, mgr, "/checkin", "status")
        tr.say(say["pause"])
        _slash(sb, tr, sc["away"], "/checkin", f"pause {sc['pause']}")
        tr.say(say["prompt"])
        _tick(sb, slot - timedelta(days=1) + timedelta(minutes=30))
        tr.say(say["tick"])
        _tick(sb, slot)
        tr.say(say["again"])
        before = len(sb.stub.calls_of("chat.postMessage"))
        _tick(sb, slot + timedelta(minutes=1))
        tr.say(f"    chat.postMessage calls before {before}, after {len(sb.stub.calls_of('chat.postMessage'))}")
        tr.say(say["click"])
        start = _nudge_about(sb, dm, sc["start"])
        if start:
            updates = len(sb.stub.calls_of("chat.update"))
            sb.driver.click(mgr, start, "nudge_start")
            sb.stub.wait_calls("chat.update", updates + 1, timeout=30)
        snooze = _nudge_about(sb, dm, sc["snooze"])
        if snooze:
            updates = len(sb.stub.calls_of("chat.update"))
            sb.driver.click(mgr, snooze, "nudge_snooze")
            sb.stub.wait_calls("chat.update", updates + 1)
        tr.say(say["hr"])
        sb.services.clock = utcnow
        year = utcnow().year + 1
        _slash(sb, tr, "U0HR", "/hr", f"holidays add {year}-01-01 New Year")
        _slash(sb, tr, "U0HR", "/hr", f"cycle start {year}-H1 {year}-06-30")
        _slash(sb, tr, "U0HR", "/hr", "cycle start H2 2020-12-31")
        reports = len([c for c in sb.stub.calls_of("chat.postMessage") if "report" in c.params.get("text", "")])
        _slash(sb, tr, "U0HR", "/hr", "broadcast managers Please finish this quarter's check-ins by Friday.")
        sb.stub.wait_for(lambda s: len([c for c in s.calls_of("chat.postMessage")
                                        if "report" in c.params.get("text", "")]) > reports, timeout=30)
    finally:
        sb.services.clock = utcnow
        from bot.cadence import resume

        resume(sb.services, slack_id=sc["away"])
