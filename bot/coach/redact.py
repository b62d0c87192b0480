"""Redaction before any LLM call: emails, phone numbers, Slack mentions, secret-bearing URLs and people's names
become placeholders (`[PERSON_1]`, `[EMAIL_1]`, …); `restore` puts the originals back into what the model wrote.

One `Redactor` is used for all texts of one call, so the same person is the same placeholder everywhere
(a `<@U0EMP2>` mention and the name "Priya" both become `[PERSON_2]`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from storage.db import session_scope
from storage.people import list_people

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_URL = re.compile(r"<?(https?://[^\s<>|]+)(?:\|[^>]*)?>?")
_SECRET_PARAM = re.compile(r"[?&#](?:[\w-]*(?:token|key|secret|sig|signature|password|passwd|pwd|auth|session|code|"
                           r"credential)[\w-]*)=", re.I)
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){2,4}(?![\w])")
_PLACEHOLDER = re.compile(r"\[(PERSON|EMAIL|PHONE|URL)_(\d+)\]")
_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Person:
    slack_id: str
    name: str


def people_of(engine: Engine) -> list[Person]:
    """Everyone in the people table (name and Slack id), for redaction."""
    with session_scope(engine) as session:
        return [Person(p.slack_id, p.name) for p in list_people(session=session) if p.name]


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    alts = sorted({n for n in names if n}, key=len, reverse=True)
    if not alts:
        return None
    parts = [re.escape(n) if _HAN.search(n) else r"(?<![\w])" + re.escape(n) + r"(?![\w])" for n in alts]
    return re.compile("|".join(parts))


@dataclass
class Redactor:
    """Placeholders for one LLM call; `redact` many texts, then `restore` the model's output."""

    people: list[Person] = field(default_factory=list)
    originals: dict[str, str] = field(default_factory=dict)  # placeholder -> text to restore
    _by_key: dict[tuple[str, str], str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._name_to_id: dict[str, str] = {}
        for p in self.people:
            full = p.name.strip()
            self._name_to_id.setdefault(full, p.slack_id)
            if not _HAN.search(full):  # "Priya Sharma" is also "Priya"; a two-letter first name is too ambiguous
                first = full.split()[0]
                if len(first) >= 3:
                    self._name_to_id.setdefault(first, p.slack_id)
        self._names_re = _name_pattern(self._name_to_id)
        self._display = {p.slack_id: p.name for p in self.people}

    def _placeholder(self, kind: str, key: str, original: str) -> str:
        if (kind, key) not in self._by_key:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            ph = f"[{kind}_{self._counts[kind]}]"
            self._by_key[(kind, key)] = ph
            self.originals[ph] = original
        return self._by_key[(kind, key)]

    def _person(self, slack_id: str, original: str) -> str:
        return self._placeholder("PERSON", slack_id, self._display.get(slack_id, original))

    def redact(self, text: str) -> str:
        """`text` with every personal identifier replaced by a stable placeholder."""
        text = _MENTION.sub(lambda m: self._person(m.group(1), m.group(0)), text or "")
        text = _URL.sub(self._url, text)
        text = _EMAIL.sub(lambda m: self._placeholder("EMAIL", m.group(0).lower(), m.group(0)), text)
        text = _PHONE.sub(self._phone, text)
        if self._names_re is not None:
            text = self._names_re.sub(lambda m: self._person(self._name_to_id[m.group(0)], m.group(0)), text)
        return text

    def _url(self, m: re.Match[str]) -> str:
        url = m.group(1)
        if _SECRET_PARAM.search(url) or re.match(r"https?://[^/\s]*:[^/\s]*@", url):
            return self._placeholder("URL", url, url)
        return m.group(0)

    def _phone(self, m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        if len(digits) < 7 or re.fullmatch(r"(19|20)\d{2}[01]\d[0-3]\d", digits):  # short numbers, dates
            return m.group(0)
        return self._placeholder("PHONE", digits, m.group(0))

    def restore(self, text: str) -> str:
        """The model's text with our placeholders replaced by the originals (unknown ones are left as they are)."""
        return _PLACEHOLDER.sub(lambda m: self.originals.get(m.group(0), m.group(0)), text or "")


def redactor_for(engine: Engine) -> Redactor:
    return Redactor(people=people_of(engine))
