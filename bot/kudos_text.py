"""Parse the text of `/kudos @a [@b …] message [#value]` (Slack-escaped mentions) into a request or a problem.

Pure: no store, no Slack. Recipients are the leading mentions; trailing `#tags` are company values (checked
against the configured values later); everything in between is the message, kept as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_MESSAGE_CHARS = 2000

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#(C[A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone|subteam\^[A-Z0-9]+)(?:\|([^>]*))?>")
_BARE = re.compile(r"@([^\s@<>|]+)")
_SEP = ",，、;；"
_TAGS = re.compile(r"(?:^|\s)((?:#[^\s#<>]+\s*)+)$")


@dataclass(frozen=True)
class KudosProblem:
    """Why a kudos cannot be given: a strings key (`kudos_err_*`), its placeholders, and the form field at fault."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    field: str = "message"  # recipients | message | value | competency


@dataclass(frozen=True)
class ParsedKudos:
    recipients: tuple[str, ...]
    message: str
    tags: tuple[str, ...] = ()


def _leading_token(text: str) -> tuple[str, str] | None:
    """The mention-like token at the start of `text` (after spaces and separators) and the rest, or None."""
    stripped = text.lstrip(" \t\n" + _SEP)
    for pattern in (_USER, _CHANNEL, _SPECIAL):
        m = pattern.match(stripped)
        if m:
            return m.group(0), stripped[m.end() :]
    m = _BARE.match(stripped)
    if m:
        return m.group(0), stripped[m.end() :]
    if stripped[:2].lower() == "<@":  # a malformed mention
        end = stripped.find(">")
        return (stripped[: end + 1], stripped[end + 1 :]) if end > 0 else (stripped.split()[0], "")
    return None


def parse_kudos_text(text: str | None) -> ParsedKudos | KudosProblem:
    """Turn the slash-command text into recipients, message and tags, or the first problem with it."""
    rest = (text or "").replace("\u00a0", " ").strip()
    if not rest:
        return KudosProblem("help_kudos", field="recipients")
    recipients: list[str] = []
    while (tok := _leading_token(rest)) is not None:
        token, rest = tok
        if m := _USER.fullmatch(token):
            if m.group(1) not in recipients:
                recipients.append(m.group(1))
        elif m := _CHANNEL.fullmatch(token):
            return KudosProblem("kudos_err_channel", {"channel": m.group(1)}, "recipients")
        elif _SPECIAL.fullmatch(token):
            return KudosProblem("kudos_err_group", field="recipients")
        else:
            name = token.lstrip("<@").rstrip(">")[:40] or "?"
            return KudosProblem("kudos_err_unknown_name", {"name": name}, "recipients")
    if not recipients:
        return KudosProblem("help_kudos", field="recipients")
    rest = rest.strip(" \t\n" + _SEP)
    tags: tuple[str, ...] = ()
    if m := _TAGS.search(rest):
        tags = tuple(dict.fromkeys(t for t in m.group(1).split("#") if t.strip()))
        tags = tuple(t.strip() for t in tags)
        rest = rest[: m.start()].rstrip()
    return check_message(rest) or ParsedKudos(tuple(recipients), rest, tags)


def check_message(message: str) -> KudosProblem | None:
    """The problem with a kudos message (missing, too long), or None."""
    text = message.strip()
    if not text:
        return KudosProblem("kudos_err_no_message")
    if len(text) > MAX_MESSAGE_CHARS:
        return KudosProblem("kudos_err_too_long", {"max": f"{MAX_MESSAGE_CHARS:,}", "length": f"{len(text):,}"})
    return None
