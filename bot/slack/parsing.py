"""Parsing slash-command text: mentions as Slack escapes them (`<@U123|name>`, `<@U123>`) or typed (`@name`)."""

from __future__ import annotations

import re

MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>")
CHANNEL = re.compile(r"<#(C[A-Z0-9]+)(?:\|[^>]*)?>")
PLAIN_AT = re.compile(r"(?<![<\w])@([\w.\-\u4e00-\u9fff]{1,40})")


def mentions(text: str) -> list[str]:
    """Slack user ids mentioned in `text`, in order, without repeats."""
    return list(dict.fromkeys(MENTION.findall(text or "")))


def strip_mentions(text: str) -> str:
    return MENTION.sub("", text or "").strip()


def plain_names(text: str) -> list[str]:
    """Names typed as `@name` without Slack's escaping (resolved against the people table by the caller)."""
    return PLAIN_AT.findall(MENTION.sub("", text or ""))
