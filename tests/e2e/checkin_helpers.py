"""Helpers to play a check-in through the sandbox like the two people would."""

from __future__ import annotations

from typing import Any

from bot.checkins import find_by_thread
from bot.demo.sandbox import Sandbox


def thread_root(sb: Sandbox, before: int = 0) -> dict[str, Any]:
    """The newest root message the bot posted in a group DM (after `before` posts)."""

    def find(stub):  # type: ignore[no-untyped-def]
        roots = [
            c
            for c in stub.calls_of("chat.postMessage")[before:]
            if c.params["channel"].startswith("G") and not c.params.get("thread_ts")
        ]
        return roots[-1] if roots else None

    call = sb.stub.wait_for(find)
    channel, ts = call.params["channel"], call.response["ts"]
    # the thread is recorded once its first question is up (as a person sees it: the check-in has started)
    # (a sandbox around another process has no store here: its replies wait for the record in the app instead)
    if sb.services is not None:
        sb.stub.wait_for(lambda _: find_by_thread(sb.services, channel_id=channel, thread_ts=ts) is not None)
    return {"channel": channel, "ts": ts}


def bot_thread_posts(sb: Sandbox, channel: str, ts: str) -> list[dict[str, Any]]:
    return [
        c.response["message"]
        for c in sb.stub.calls_of("chat.postMessage")
        if c.params.get("channel") == channel and c.params.get("thread_ts") == ts
    ]


def wait_thread_posts(sb: Sandbox, channel: str, ts: str, n: int, timeout: float = 15) -> list[dict[str, Any]]:
    return sb.stub.wait_for(lambda s: (p := bot_thread_posts(sb, channel, ts)) and len(p) >= n and p, timeout)


def answer(sb: Sandbox, user: str, root: dict[str, Any], text: str, expect_posts: int) -> list[dict[str, Any]]:
    """`user` answers once the question is in the thread (as a person would), then the bot's next post is awaited."""
    if expect_posts > 1:
        wait_thread_posts(sb, root["channel"], root["ts"], expect_posts - 1)
    sb.driver.message(user, root["channel"], text, thread_ts=root["ts"])
    return wait_thread_posts(sb, root["channel"], root["ts"], expect_posts)
