"""Current level (1–4) of a person on a capability, from evidence, by one rule.

The rule (also in the README, "Goals and the capability map"):

    score = 1 + Σ weight × 0.5 ** (age_days / 180)        level = clamp(round_half_up(score), 1, 4)

| evidence (tagged with the capability)                     | weight | cap on the sum of that kind |
|-----------------------------------------------------------|--------|-----------------------------|
| a closed development point (dated when it was closed)     | +1.0   | –                           |
| a completed course whose competencies include it           | +0.25  | +1.0                        |
| kudos received that tag it                                 | +0.25  | +0.75                       |
| one of the person's last 3 finished check-ins where their  | +0.1   | (3 check-ins at most)       |
|   own answers mention it (cue words of the competency)     |        |                             |
| an open development point from a check-in                  | −0.5   | −1.0                        |

- Everyone starts at 1 ("no evidence yet"); nobody is assumed good or bad without evidence.
- Evidence fades with a half-life of 180 days: a closed point keeps someone a level up for about six months,
  then counts half, and so on. Evidence older than two years is ignored (it would weigh under 1/16).
- Open points do not fade: they describe the present until they are closed. An open point the person set
  themselves through a development goal (source "goal") is an intention, not evidence, and counts 0.
- Caps stop volume from standing in for growth: ten short courses are not a level.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from bot.coach.gaps import sentences
from bot.i18n import shorten
from bot.services import Services
from knowledge.competencies import load_competency_model
from storage import goals as repo
from storage.db import session_scope

HALF_LIFE_DAYS = 180.0
HORIZON = timedelta(days=730)
BASE = 1.0
WEIGHTS = {"closed_point": 1.0, "course": 0.25, "kudos": 0.25, "checkin": 0.1, "open_point": -0.5}
CAPS = {"course": 1.0, "kudos": 0.75, "open_point": -1.0}
FADES = {"closed_point", "course", "kudos", "checkin"}


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence about one capability of one person."""

    kind: str  # closed_point | open_point | course | kudos | checkin
    at: datetime
    detail: str = ""


@dataclass
class Level:
    """A person's current level on a capability, with what each piece of evidence contributed."""

    capability: str
    level: int
    score: float
    evidence: list[tuple[Evidence, float]] = field(default_factory=list)


def fade(at: datetime, now: datetime) -> float:
    """0.5 ** (age / half-life); evidence from the future (clock skew) counts in full."""
    age = max(0.0, (now - at).total_seconds() / 86400)
    return 0.5 ** (age / HALF_LIFE_DAYS)


def level_from(capability: str, evidence: Iterable[Evidence], now: datetime) -> Level:
    """Apply the rule to a list of evidence (pure; see the module docstring)."""
    parts: list[tuple[Evidence, float]] = []
    sums: dict[str, float] = {}
    for ev in sorted(evidence, key=lambda e: e.at, reverse=True):
        if ev.kind not in WEIGHTS or now - ev.at > HORIZON:
            continue
        w = WEIGHTS[ev.kind] * (fade(ev.at, now) if ev.kind in FADES else 1.0)
        cap = CAPS.get(ev.kind)
        before = sums.get(ev.kind, 0.0)
        if cap is not None:
            w = min(0.0, max(w, cap - before)) if cap < 0 else max(0.0, min(w, cap - before))
        sums[ev.kind] = before + w
        parts.append((ev, round(w, 3)))
    score = BASE + sum(sums.values())
    return Level(capability, max(1, min(4, math.floor(score + 0.5))), round(score, 3), parts)


@lru_cache(maxsize=64)
def _cue_pattern(capability: str) -> re.Pattern[str] | None:
    try:
        comp = load_competency_model().get(capability)
    except KeyError:
        return None
    en = [r"\b" + re.escape(c.lower()) + r"\b" for c in comp.cues.en]
    zh = [re.escape(c) for c in comp.cues.zh]
    return re.compile("|".join(en + zh), re.I)


def mentions(capability: str, text: str) -> bool:
    """True when `text` uses a cue word of the capability (either language)."""
    pat = _cue_pattern(capability)
    return bool(pat and pat.search(text or ""))


def gather(services: Services, *, people: Iterable[str], capabilities: Iterable[str]
           ) -> dict[tuple[str, str], list[Evidence]]:
    """All evidence for each (person, capability), in a handful of queries whatever the number of people."""
    ids, caps = list(dict.fromkeys(people)), set(capabilities)
    out: dict[tuple[str, str], list[Evidence]] = {}

    def add(pid: str, cap: str, ev: Evidence) -> None:
        if cap in caps:
            out.setdefault((pid, cap), []).append(ev)

    now = services.now()
    with session_scope(services.engine) as s:
        for p in repo.points_of(session=s, people=ids):
            if p.status == "closed":
                add(p.person_slack_id, p.competency, Evidence("closed_point", p.closed_at or p.created_at, p.evidence))
            elif p.status == "open" and p.source != "goal" and not p.disputed:
                add(p.person_slack_id, p.competency, Evidence("open_point", p.created_at, p.evidence))
        for rec, course in repo.completed_courses_of(session=s, people=ids):
            for cap in course.competencies:
                add(rec.person_slack_id, cap, Evidence("course", rec.at, course.title))
        wanted = set(ids)
        for r in repo.recognitions_since(session=s, since=now - HORIZON):
            for pid in wanted.intersection(r.receivers):
                for cap in r.competencies:
                    add(pid, cap, Evidence("kudos", r.created_at, r.message))
        for pid, checkins in repo.recent_checkin_answers(session=s, people=ids).items():
            for checkin, texts in checkins:
                joined = "\n".join(texts)
                for cap in caps:
                    if mentions(cap, joined):
                        add(pid, cap, Evidence("checkin", checkin.finished_at or checkin.started_at,
                                               _quote(joined, cap)))
    return out


def _quote(text: str, capability: str) -> str:
    """The sentence of `text` that names the capability (else the first), whole words, at most 120 characters."""
    pat = _cue_pattern(capability)
    parts = sentences(text) or [text]
    hit = next((p for p in parts if pat and pat.search(p)), parts[0])
    return shorten(hit, 120)


def levels_for(services: Services, *, people: Iterable[str], capabilities: Iterable[str]
               ) -> dict[str, dict[str, Level]]:
    """person → capability → Level, for every pair (no evidence → level 1)."""
    ids, caps = list(dict.fromkeys(people)), list(dict.fromkeys(capabilities))
    evidence = gather(services, people=ids, capabilities=caps)
    now = services.now()
    return {pid: {cap: level_from(cap, evidence.get((pid, cap), []), now) for cap in caps} for pid in ids}
