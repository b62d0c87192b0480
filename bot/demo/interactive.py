"""`growthloop demo --interactive`: type as the manager or the employee against the sandbox."""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import Session, col, select

from bot.demo.sandbox import Sandbox
from bot.slack.sandbox.transcript import Transcript
from storage.models import CheckIn

HELP = """Type as someone in the demo org. Commands:
  as NAME            switch who you are (e.g. `as maria`, `as erik`, `as 王芳`); now: {who}
  /checkin @erik     any slash command, as in Slack (mentions by name: @erik)
  anything else      a reply in your open check-in thread, else a DM to the bot
  click LABEL        press a button on the bot's latest message to you (e.g. `click Skip`)
  quit               leave"""


def _people(sb: Sandbox) -> dict[str, str]:
    return {u["real_name"].lower(): uid for uid, u in sb.stub.users.items()}


def _open_thread(sb: Sandbox, user: str) -> CheckIn | None:
    with Session(sb.services.engine) as s:
        q = select(CheckIn).where(CheckIn.state == "open").order_by(col(CheckIn.id).desc())
        return next((c for c in s.exec(q) if user in (c.manager_slack_id, c.employee_slack_id)), None)


def _escape_mentions(sb: Sandbox, text: str) -> str:
    for name, uid in _people(sb).items():
        text = text.replace("@" + name, f"<@{uid}>").replace("@" + name.capitalize(), f"<@{uid}>")
    return text


def _last_message_with_buttons(sb: Sandbox, user: str) -> dict[str, Any] | None:
    for call in reversed(sb.stub.calls_of("chat.postMessage")):
        msg = call.response.get("message") or {}
        ch = msg.get("channel", "")
        c = _open_thread(sb, user)
        mine = ch == "D" + user.lstrip("U") or (c is not None and ch == c.channel_id)
        if mine and any(b.get("type") == "actions" for b in msg.get("blocks") or []):
            return msg
    return None


def repl(sb: Sandbox, tr: Transcript) -> None:
    who = "U0MGR"
    tr.say(HELP.format(who=tr.name(who)))
    while True:
        try:
            line = input(f"{tr.name(who)}> ").strip()
        except EOFError:
            return
        if not line:
            continue
        if line in ("quit", "exit"):
            return
        if line.startswith("as "):
            uid = _people(sb).get(line[3:].strip().lower())
            who = uid or who
            tr.say(f"you are now {tr.name(who)}" if uid else "unknown person")
            continue
        if line.startswith("click "):
            msg = _last_message_with_buttons(sb, who)
            label = line[6:].strip().lower()
            button = None
            for b in (msg or {}).get("blocks") or []:
                for el in b.get("elements") or []:
                    if el.get("type") == "button" and el["text"]["text"].lower() == label:
                        button = el
            if msg is None or button is None:
                tr.say("no such button on your latest message")
                continue
            sb.driver.click(who, msg, button["action_id"], button.get("value"))
            continue
        if line.startswith("/"):
            command, _, text = line.partition(" ")
            sent = sb.driver.slash(who, command, _escape_mentions(sb, text))
            body = sent.json() if sent.body else {}
            if body.get("text"):
                tr.block(tr.labels["ephemeral"].format(name=tr.name(who)), [body["text"]], "    ")
            continue
        c = _open_thread(sb, who)
        if c is not None and c.thread_ts:
            sb.driver.message(who, c.channel_id or "", line, thread_ts=c.thread_ts)
        else:
            sb.driver.message(who, "D" + who.lstrip("U"), line)
        time.sleep(0.6)  # let the bot answer before the next prompt
