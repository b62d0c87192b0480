"""Chapter 1: the signed path works, retries are ignored, forgeries refused."""

from __future__ import annotations

import json
import time

from bot.demo.sandbox import Sandbox
from bot.slack.sandbox.transcript import Transcript

TITLE = {"en": "Foundation: signed requests, retries, forgeries", "zh": "基础：签名请求、重试与伪造请求"}


def play(sb: Sandbox, tr: Transcript) -> None:
    d = sb.driver
    tr.say("Erik types `/checkin help` (a signed slash command):")
    sent = d.slash("U0EMP", "/checkin", "help")
    tr.block("(only Erik sees) GrowthLoop:", [json.loads(sent.body).get("text", "")], "    ")

    tr.say("Erik writes to the bot in a DM; Slack then retries the same event (X-Slack-Retry-Num: 1):")
    first = d.message("U0EMP", "D0EMP", "hello")
    sb.stub.wait_calls("chat.postMessage", 1)
    before = len(sb.stub.calls_of("chat.postMessage"))
    d.message("U0EMP", "D0EMP", "hello", event_id=first.event_id, retry=1, record=False, ts=first.ts)
    time.sleep(0.3)
    after = len(sb.stub.calls_of("chat.postMessage"))
    tr.say(f"    retry answered HTTP 200 and ignored: bot messages before {before}, after {after}")

    forged = d.send(
        b"command=%2Fhr&text=broadcast+all+pwned&user_id=U0EMP",
        "application/x-www-form-urlencoded",
        signature="v0=" + "0" * 64,
    )
    stale = d.slash("U0EMP", "/checkin", "status", timestamp=1_000_000_000)
    tr.say(f"A forged request is refused with HTTP {forged.status}; a replayed one from 2001 with HTTP {stale.status}.")
