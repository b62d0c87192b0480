"""Chapter 1: the signed path works, retries are ignored, forgeries refused."""

from __future__ import annotations

import json
import time

from bot.demo.sandbox import Sandbox
from bot.slack.sandbox.transcript import Transcript

TITLE = {"en": "Foundation: signed requests, retries, forgeries", "zh": "基础：签名请求、重试与伪造请求"}


SAY = {
    "en": {"help": "{n} types `/checkin help` (a signed slash command):",
           "dm": "{n} writes to the bot in a DM; Slack then retries the same event (X-Slack-Retry-Num: 1):",
           "retry": "    retry answered HTTP 200 and ignored: bot messages before {b}, after {a}",
           "forged": "A forged request is refused with HTTP {f}; a replayed one from 2001 with HTTP {s}."},
    "zh": {"help": "{n} 输入 `/checkin help`（一条带签名的斜杠命令）：",
           "dm": "{n} 私信机器人；随后 Slack 重发了同一事件（X-Slack-Retry-Num: 1）：",
           "retry": "    重发请求返回 HTTP 200 并被忽略：机器人消息数 之前 {b}，之后 {a}",
           "forged": "伪造的请求被拒绝（HTTP {f}）；2001 年的重放请求同样被拒绝（HTTP {s}）。"},
}


def play(sb: Sandbox, tr: Transcript) -> None:
    d = sb.driver
    lang = sb.extra.get("lang", "en")
    say = SAY[lang]
    user, dm, hello = ("U0EMPZH", "D0EMPZH", "你好") if lang == "zh" else ("U0EMP", "D0EMP", "hello")
    tr.say(say["help"].format(n=tr.name(user)))
    sent = d.slash(user, "/checkin", "help")
    tr.block(tr.labels["ephemeral"].format(name=tr.name(user)), [json.loads(sent.body).get("text", "")], "    ")

    tr.say(say["dm"].format(n=tr.name(user)))
    first = d.message(user, dm, hello)
    sb.stub.wait_calls("chat.postMessage", 1)
    before = len(sb.stub.calls_of("chat.postMessage"))
    d.message(user, dm, hello, event_id=first.event_id, retry=1, record=False, ts=first.ts)
    time.sleep(0.3)
    after = len(sb.stub.calls_of("chat.postMessage"))
    tr.say(say["retry"].format(b=before, a=after))

    forged = d.send(
        b"command=%2Fhr&text=broadcast+all+pwned&user_id=U0EMP",
        "application/x-www-form-urlencoded",
        signature="v0=" + "0" * 64,
    )
    stale = d.slash(user, "/checkin", "status", timestamp=1_000_000_000)
    tr.say(say["forged"].format(f=forged.status, s=stale.status))
