"""Team gap analysis: by role and capability, required level (capability map) vs current level (the level rule).

For each (role, capability) the map asks for:
- quantity gap: how many people of that role are below the required level (of how many);
- quality gap: the average shortfall (required − current) of those below, 0 when nobody is;
- mean shortfall over everyone in the role (quantity × quality), which colours the heat-map;
- the priorities the gap blocks (those that need it, and those depending on them).

Learning themes: courses tagged with a capability where someone is below the required level, ranked by how
many open person-level gaps they address (people who completed a course are not counted for it).
Only aggregates leave this module: counts and averages, never a name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select

from bot.capabilities import current_map
from bot.capability_levels import levels_for
from bot.services import Services
from knowledge.capability_map import CapabilityMap
from storage.db import session_scope
from storage.models import Course, LearningRecord, Person

MIN_GROUP = 3  # a role with fewer people in scope gets no per-cell figures (k-anonymity for the gap report)


@dataclass
class Gap:
    role: str
    capability: str
    required: int
    people: int
    below: int
    avg_shortfall: float  # among those below (quality gap)
    mean_shortfall: float  # over everyone in the role
    blocks: list[str] = field(default_factory=list)
    suppressed: bool = False  # fewer than MIN_GROUP people: the figures would describe individuals, so none are given

    @property
    def open(self) -> bool:
        return self.below > 0


@dataclass
class Theme:
    course_id: str
    title: str
    capabilities: list[str]
    gaps_addressed: int  # person-level gaps: (person, capability) below the required level


@dataclass
class GapReport:
    team: str | None
    generated_at: datetime
    cmap: CapabilityMap
    roles: list[str]
    capabilities: list[str]
    gaps: list[Gap]
    themes: list[Theme]
    people: int

    def cell(self, role: str, capability: str) -> Gap | None:
        return next((g for g in self.gaps if g.role == role and g.capability == capability), None)

    @property
    def open_gaps(self) -> list[Gap]:
        return sorted((g for g in self.gaps if g.open), key=lambda g: (-g.mean_shortfall, g.role, g.capability))


_ACRONYMS = {"hr", "qa", "ux", "ui", "it", "cs", "pm"}


def role_label(role: str) -> str:
    """'customer_success' → 'Customer success'."""
    words = [w.upper() if w in _ACRONYMS else w for w in role.replace("_", " ").split()] or [role]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def teams(services: Services) -> list[str]:
    with session_scope(services.engine) as s:
        return sorted({t for t in s.exec(select(Person.team).where(col(Person.forgotten).is_(False))).all() if t})


def compute_gaps(services: Services, *, team: str | None = None, themes: int = 5, language: str = "en",
                 min_group: int = MIN_GROUP) -> GapReport:
    """The gap report for the whole organisation or one team; roles with fewer than `min_group` people in scope get
    no figures (a cell of one person would be that person's level).

    Raises:
        ValueError: for a team nobody belongs to (the message names the known teams).
    """
    if team is not None and team not in teams(services):
        raise ValueError(f"unknown team {team!r}; teams: {', '.join(teams(services)) or '(none)'}")
    _seed_catalog(services)
    cmap = current_map(services)
    required = cmap.required()
    with session_scope(services.engine) as s:
        q = select(Person).where(col(Person.forgotten).is_(False), col(Person.role).in_(cmap.roles()))
        if team is not None:
            q = q.where(Person.team == team)
        members = [(p.slack_id, p.role or "") for p in s.exec(q).all()]
    roles = [r for r in cmap.roles() if any(role == r for _, role in members)]
    caps = [c for c in cmap.capabilities() if any((r, c) in required for r in roles)]
    levels = levels_for(services, people=[pid for pid, _ in members], capabilities=caps)
    gaps: list[Gap] = []
    person_gaps: list[tuple[str, str]] = []
    for role in roles:
        ids = [pid for pid, r in members if r == role]
        for cap in caps:
            need = required.get((role, cap))
            if need is None:
                continue
            short = [need - levels[pid][cap].level for pid in ids if levels[pid][cap].level < need]
            person_gaps += [(pid, cap) for pid in ids if levels[pid][cap].level < need]
            if len(ids) < min_group:  # "1 of 1 below" would be one person's level, which HR does not see by default
                gaps.append(Gap(role, cap, need, len(ids), 0, 0.0, 0.0, cmap.blocked_by(role, cap), suppressed=True))
                continue
            gaps.append(Gap(role, cap, need, len(ids), len(short), round(sum(short) / len(short), 2) if short else 0.0,
                            round(sum(short) / len(ids), 2), cmap.blocked_by(role, cap)))
    return GapReport(team, services.now(), cmap, roles, caps, gaps, _themes(services, person_gaps, themes, language),
                     len(members))


def _seed_catalog(services: Services) -> None:
    """A fresh store gets the shipped catalog (as the knowledge base does on start), so themes are never empty."""
    try:
        from knowledge.wiring import attach

        attach(services)
    except Exception:  # the catalog is optional for the table; themes are just empty then
        pass


def _themes(services: Services, person_gaps: list[tuple[str, str]], limit: int, language: str) -> list[Theme]:
    if not person_gaps:
        return []
    with session_scope(services.engine) as s:
        courses = list(s.exec(select(Course)).all())
        done = {(r.person_slack_id, r.course_id) for r in s.exec(
            select(LearningRecord).where(LearningRecord.status == "completed")).all()}
    gap_caps = {cap for _, cap in person_gaps}
    scored: list[tuple[tuple[int, int, bool, int, str], Theme]] = []
    for c in courses:
        tagged = [cap for cap in c.competencies if cap in gap_caps]
        n = sum(1 for pid, cap in person_gaps if cap in tagged and (pid, c.id) not in done)
        if n:
            key = (-n, -len(tagged), c.language != language, c.duration_minutes, c.id)
            scored.append((key, Theme(c.id, c.title, tagged, n)))
    ranked = [th for _, th in sorted(scored, key=lambda x: x[0])]
    # Themes, not a reading list: first the best course for each new set of capabilities, then the rest.
    picked: list[Theme] = []
    covered: set[str] = set()
    for th in ranked:
        if len(picked) < limit and not set(th.capabilities) <= covered:
            picked.append(th)
            covered |= set(th.capabilities)
    picked += [th for th in ranked if th not in picked][: limit - len(picked)]
    return sorted(picked, key=lambda th: ranked.index(th))
