"""User-facing strings in en and zh, loaded from `prompts/strings/*.yaml`.

Each file maps a key to `{en: ..., zh: ...}`; a key may appear in one file only. Formatting uses
`str.format` with keyword arguments.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

STRINGS_DIR = Path(__file__).resolve().parent.parent / "prompts" / "strings"
LOCALES = ("en", "zh")


class StringsError(ValueError):
    """A strings file is malformed (missing translation, duplicate key)."""


@lru_cache(maxsize=1)
def load_strings(directory: Path = STRINGS_DIR) -> dict[str, dict[str, str]]:
    """Load and check every strings file: each key needs both locales and the same placeholders."""
    table: dict[str, dict[str, str]] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, value in data.items():
            if key in table:
                raise StringsError(f"{path.name}: key {key!r} is defined twice")
            if not isinstance(value, dict) or set(value) != set(LOCALES):
                raise StringsError(f"{path.name}: key {key!r} needs exactly en and zh")
            if _fields(value["en"]) != _fields(value["zh"]):
                raise StringsError(f"{path.name}: key {key!r} has different placeholders in en and zh")
            table[key] = {loc: str(value[loc]).rstrip("\n") for loc in LOCALES}
    return table


def _fields(template: str) -> set[str]:
    import string

    return {f for _, f, _, _ in string.Formatter().parse(str(template)) if f}


def norm_locale(locale: str | None, default: str = "en") -> str:
    """Map a Slack locale ('zh-CN', 'en-US') or ours to 'en'/'zh'."""
    if not locale:
        return default
    return "zh" if locale.lower().startswith("zh") else "en" if locale.lower().startswith("en") else default


def t(key: str, locale: str | None, **kw: Any) -> str:
    """The string `key` in `locale`, formatted with `kw`."""
    entry = load_strings()[key]
    return entry[norm_locale(locale)].format(**kw)


def t_both(key: str, locales: list[str], **kw: Any) -> str:
    """The string in each distinct locale of `locales`, joined (a zh manager with an en employee sees both)."""
    seen: list[str] = []
    for loc in locales or ["en"]:
        n = norm_locale(loc)
        if n not in seen:
            seen.append(n)
    return "\n".join(t(key, loc, **kw) for loc in seen)


_WEEKDAYS = {
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    "zh": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
}


def fmt_dt(when: datetime, tz: str, locale: str | None) -> str:
    """'Tue 10:00, 5 Mar' / '3月5日 周二 10:00' in the recipient's time zone."""
    local = when.astimezone(ZoneInfo(tz))
    loc = norm_locale(locale)
    wd = _WEEKDAYS[loc][local.weekday()]
    if loc == "zh":
        return f"{local.month}月{local.day}日 {wd} {local:%H:%M}"
    return f"{wd} {local.day} {local:%b} {local:%H:%M}"


def fmt_date(when: datetime, tz: str, locale: str | None) -> str:
    local = when.astimezone(ZoneInfo(tz))
    if norm_locale(locale) == "zh":
        return f"{local.year}年{local.month}月{local.day}日"
    return f"{local.day} {local:%b} {local.year}"


def shorten(text: str, n: int = 80) -> str:
    """`text` on one line in at most `n` characters; a cut falls between words where there are spaces, with "…"."""
    text = " ".join((text or "").split())
    if len(text) <= n:
        return text
    cut = text[: n - 1]
    space = cut.rfind(" ")
    if space >= n * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:，；：、") + "…"
