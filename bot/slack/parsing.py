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


# Slack's message text escapes `&`, `<` and `>` and wraps links as `<url|label>`; user, channel and special
# mentions (`<@U1>`, `<#C1|name>`, `<!here>`) are markup to keep as they are, so they still render when shown.
_SLACK_MARKUP = re.compile(r"<([^<>]*)>")
_LINK = re.compile(r"(?:https?|mailto|ftp|tel|sms|slack):[^\s|]+(?:\|[^<>]*)?$", re.I)
_SPECIAL = re.compile(r"<![a-z]+(?:\^[^<>|]*)?(?:\|[^<>]*)?>")  # <!here>, <!subteam^S1|@eng>
_KEPT_MARKUP = re.compile("|".join(p.pattern for p in (MENTION, CHANNEL, _SPECIAL)))


def _plain_link(m: re.Match[str]) -> str:
    inner = m.group(1)
    if _KEPT_MARKUP.fullmatch(m.group(0)) or not _LINK.match(inner):
        return m.group(0)  # a mention, or not Slack's markup at all (text sent unescaped): left as it is
    url, _, label = inner.partition("|")
    return label or url.removeprefix("mailto:")


def from_slack(text: str | None) -> str:
    """A message's text as the person typed it: links unwrapped to what they typed, `&amp;`/`&lt;`/`&gt;` decoded.

    Stored answers and evidence keep this plain form (exports quote it verbatim); `to_mrkdwn` escapes it again
    when it is shown in Slack.
    """
    plain = _SLACK_MARKUP.sub(_plain_link, text or "")
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_mrkdwn(text: str | None) -> str:
    """Plain text made safe inside Slack mrkdwn: `&`, `<`, `>` escaped, mentions kept as mentions."""
    out, last = [], 0
    source = text or ""
    for m in _KEPT_MARKUP.finditer(source):
        out.append(_escape(source[last:m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_escape(source[last:]))
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
