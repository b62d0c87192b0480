"""Render what the sandbox saw as a person would read it in Slack."""

from __future__ import annotations

import re
import sys
import textwrap
import threading
from collections.abc import Callable
from typing import Any, TextIO

from bot.slack.sandbox.stub import BOT_USER, Call, SlackStub


def render_blocks(blocks: list[dict[str, Any]]) -> list[str]:
    """Block Kit as plain lines: text of sections/headers/context, buttons as [Label]."""
    lines: list[str] = []
    for b in blocks or []:
        kind = b.get("type")
        if kind == "header":
            lines.append(f"== {b['text']['text']} ==")
        elif kind == "section":
            if b.get("text"):
                lines.append(b["text"]["text"])
            for f in b.get("fields") or []:
                lines.append("  " + f["text"])
            acc = b.get("accessory") or {}
            if acc.get("type") == "button":
                lines.append(f"  [{acc['text']['text']}]")
        elif kind == "context":
            lines.append("  " + " · ".join(e.get("text", "") for e in b.get("elements", []) if e.get("text")))
        elif kind == "actions":
            labels = [e["text"]["text"] for e in b.get("elements", []) if e.get("type") == "button"]
            if labels:
                lines.append("  " + " ".join(f"[{x}]" for x in labels))
        elif kind == "divider":
            lines.append("  ---")
        elif kind == "image":
            lines.append(f"  (image: {b.get('alt_text', '')})")
        elif kind == "rich_text":
            continue
    return lines


# The transcript's own framing, in the language the demo narrates in (what the bot says is already per recipient).
LABELS = {
    "en": {
        "dm": "DM with {name}",
        "group": "group DM",
        "post": "GrowthLoop → {where}:",
        "thread_post": "↳ GrowthLoop (in the thread, {where}):",
        "ephemeral": "(only {name} sees) GrowthLoop:",
        "update": "✎ GrowthLoop updated its message:",
        "user_thread": "↳ {name} (in the thread):",
        "user": "{name} ({where}):",
        "user_edit": "✎ {name} edited their message:",
        "home": "[App Home of {name}]",
        "modal": "[modal opened: {title}]",
        "failed": "   (Slack answered {status} to {method}; the bot will retry)",
    },
    "zh": {
        "dm": "与 {name} 的私信",
        "group": "群组私信",
        "post": "GrowthLoop → {where}：",
        "thread_post": "↳ GrowthLoop（话题串内，{where}）：",
        "ephemeral": "（仅 {name} 可见）GrowthLoop：",
        "update": "✎ GrowthLoop 更新了消息：",
        "user_thread": "↳ {name}（话题串内）：",
        "user": "{name}（{where}）：",
        "user_edit": "✎ {name} 编辑了消息：",
        "home": "[{name} 的 App Home]",
        "modal": "[打开表单：{title}]",
        "failed": "   （Slack 对 {method} 返回了 {status}；机器人会重试）",
    },
}


class Transcript:
    """Prints each call as it happens, framed in `lang` (en or zh)."""

    def __init__(self, stub: SlackStub, out: TextIO = sys.stdout, width: int = 100, lang: str = "en") -> None:
        self.labels = LABELS.get(lang, LABELS["en"])
        self.stub = stub
        self.out = out
        self.width = width
        self.enabled = True
        self.roots: dict[tuple[str, str], str] = {}
        self._print_lock = threading.Lock()

    def name(self, uid: str | None) -> str:
        if not uid:
            return "?"
        if uid == BOT_USER:
            return "GrowthLoop"
        return self.stub.users.get(uid, {}).get("real_name", uid)

    def _mentions(self, text: str) -> str:
        return re.sub(r"<@([UW][A-Z0-9]+)(\|[^>]*)?>", lambda m: "@" + self.name(m.group(1)), text or "")

    def where(self, channel: str) -> str:
        if channel in self.stub.users:  # chat.postMessage to a user id: the bot's DM with them
            return self.labels["dm"].format(name=self.name(channel))
        if channel.startswith("D"):
            uid = "U" + channel[1:]
            return self.labels["dm"].format(name=self.name(uid))
        if channel.startswith("G"):
            return self.labels["group"]
        return "#" + channel

    def say(self, line: str = "") -> None:
        if self.enabled:
            print(line, file=self.out, flush=True)

    def block(self, header: str, body: list[str], indent: str = "") -> None:
        """One message, printed whole: listener threads and the narrator print at once, and lines must not mix."""
        lines = [indent + header]
        for line in body:
            for part in (line or "").splitlines() or [""]:
                wrapped = textwrap.wrap(self._mentions(part), self.width - len(indent) - 4) or [""]
                lines += [indent + "    " + w for w in wrapped]
        with self._print_lock:
            self.say("\n".join(lines))

    def attach(self) -> Callable[[Call], None]:
        def on_call(call: Call) -> None:
            self.render(call)

        self.stub.on_call.append(on_call)
        return on_call

    def render(self, call: Call) -> None:
        p = call.params
        if call.status != 200:
            self.say(self.labels["failed"].format(status=call.status, method=call.method))
            return
        if not call.response.get("ok"):
            return
        if call.method == "chat.postMessage":
            body = render_blocks(p.get("blocks") or []) or [p.get("text", "")]
            if p.get("thread_ts"):
                self.block(self.labels["thread_post"].format(where=self.where(p["channel"])), body, "    ")
            else:
                self.block(self.labels["post"].format(where=self.where(p["channel"])), body)
        elif call.method == "chat.postEphemeral":
            body = render_blocks(p.get("blocks") or []) or [p.get("text", "")]
            self.block(self.labels["ephemeral"].format(name=self.name(p.get("user"))), body, "    ")
        elif call.method == "chat.update":
            body = render_blocks(p.get("blocks") or []) or [p.get("text", "")]
            self.block(self.labels["update"], body, "    ")
        elif call.method == "user.message":
            if p.get("thread_ts"):
                self.block(
                    self.labels["user_thread"].format(name=self.name(p.get("user"))), [p.get("text", "")], "    "
                )
            else:
                who = self.labels["user"].format(name=self.name(p.get("user")), where=self.where(p["channel"]))
                self.block(who, [p.get("text", "")])
        elif call.method == "user.edit":
            self.block(self.labels["user_edit"].format(name=self.name(p.get("user"))), [p.get("text", "")], "    ")
        elif call.method == "views.publish":
            self.block(
                self.labels["home"].format(name=self.name(p.get("user_id"))),
                render_blocks((p.get("view") or {}).get("blocks")),
            )
        elif call.method == "views.open":
            view = p.get("view") or {}
            self.block(
                self.labels["modal"].format(title=(view.get("title") or {}).get("text", "")),
                render_blocks(view.get("blocks")),
            )
        elif call.method == "files.completeUploadExternal":
            titles = ", ".join(f.get("title") or f.get("id") for f in p.get("files") or [])
            self.say(self.labels["post"].format(where=self.where(p.get("channel_id", ""))) + f" 📎 {titles}")
