"""Goals: a result goal for the cycle with a development goal, and the capability check when one is saved.

The check lists the capabilities the goal needs: those the capability map asks of the person's role, the
development capability they chose, and those the goal text calls for (cue words of the competency model, plus
the competencies of the courses retrieval finds for the text). For each it gives the current level with its
evidence (`bot.capability_levels`); a capability below the level needed is a risk, and gets a development
point (source "goal") with up to three proposed courses.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from bot.capabilities import current_map
from bot.capability_levels import Level, levels_for, mentions
from bot.services import Services
from knowledge.competencies import load_competency_model
from storage import courses as course_repo
from storage import goals as repo
from storage.db import session_scope
from storage.models import DevelopmentAction, DevelopmentPoint, Goal
from storage.people import get_person

log = logging.getLogger(__name__)

TEXT_LEVEL = 2  # what a goal needs of a capability its text calls for but the role map does not name
MAX_TEXT_CAPABILITIES = 3
MAX_GAPS_WITH_COURSES = 3  # keeps the DM short; /learn covers the rest
MAX_TEXT = 3000


class GoalError(ValueError):
    """Invalid goal fields: `errors` maps a field (text, measure, due, capability) to a strings key."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass
class Need:
    capability: str
    required: int
    sources: list[str]  # role | development | text
    level: Level
    actions: list[DevelopmentAction] = field(default_factory=list)

    @property
    def gap(self) -> bool:
        return self.level.level < self.required


@dataclass
class Check:
    goal: Goal
    role: str | None
    needs: list[Need]

    @property
    def gaps(self) -> list[Need]:
        return [n for n in self.needs if n.gap]


def validate(*, text: str, measure: str, due: date | None, capability: str | None, today: date) -> dict[str, str]:
    """Field errors (field → strings key); empty when the goal can be saved."""
    errors: dict[str, str] = {}
    if not (text or "").strip():
        errors["text"] = "goals_err_text"
    elif len(text) > MAX_TEXT:
        errors["text"] = "goals_err_too_long"
    if not (measure or "").strip():
        errors["measure"] = "goals_err_measure"
    if due is None:
        errors["due"] = "goals_err_due_missing"
    elif due < today:
        errors["due"] = "goals_err_due_past"
    if capability and capability not in load_competency_model().ids:
        errors["capability"] = "goals_err_capability"
    return errors


def save_goal(services: Services, *, person_slack_id: str, text: str, measure: str, due: date | None,
              capability: str | None, today: date, development_text: str = "") -> Goal:
    """Validate and store a goal in the current cycle (none when no cycle is open).

    Raises:
        GoalError: with the field errors.
    """
    errors = validate(text=text, measure=measure, due=due, capability=capability, today=today)
    if errors:
        raise GoalError(errors)
    with session_scope(services.engine) as s:
        cycle = repo.current_cycle(session=s, today=today)
        return repo.create_goal(session=s, person_slack_id=person_slack_id, cycle_id=cycle.id if cycle else None,
                                result_text=text.strip(), measure=measure.strip(), due_date=due,
                                development_competency=capability or None, development_text=development_text.strip())


def goal_names(services: Services, *, person_slack_id: str) -> list[str]:
    """Open goals of the current cycle (of no cycle when none is open), as short names, oldest first."""
    with session_scope(services.engine) as s:
        cycle = repo.current_cycle(session=s, today=services.now().date())
        goals = repo.open_goals(session=s, person_slack_id=person_slack_id, cycle_id=cycle.id if cycle else None)
        if cycle is None:
            goals = [g for g in goals if g.cycle_id is None]
    return [_short(g.result_text) for g in goals]


def _short(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def text_capabilities(services: Services, text: str) -> list[str]:
    """Capabilities a goal text calls for: cue words first, then competencies shared by the courses retrieval finds."""
    model = load_competency_model()
    found = [c for c in model.ids if mentions(c, text)]
    try:
        from knowledge.wiring import knowledge_of

        hits = knowledge_of(services).search(text, 5)
        counts = Counter(cap for h in hits for cap in h.course.competencies)
        found += [c for c, n in counts.most_common() if n >= 3 and c not in found]
    except Exception:  # retrieval is optional here: the cue words and the map still give a useful check
        log.warning("retrieval over the goal text failed; using cue words only", exc_info=True)
    return found[:MAX_TEXT_CAPABILITIES]


def check_goal(services: Services, goal: Goal, *, propose: bool = True) -> Check:
    """The capability check for a saved goal; with `propose`, development points and courses for the gaps."""
    with session_scope(services.engine) as s:
        person = get_person(session=s, slack_id=goal.person_slack_id)
        role = person.role if person else None
    required = current_map(services).for_role(role)
    needs: dict[str, tuple[int, list[str]]] = {cap: (lvl, ["role"]) for cap, lvl in required.items()}
    dev = goal.development_competency
    for cap in text_capabilities(services, goal.result_text + "\n" + goal.measure):
        lvl, src = needs.get(cap, (TEXT_LEVEL, []))
        needs[cap] = (lvl, src + ["text"])
    levels = levels_for(services, people=[goal.person_slack_id], capabilities=list(needs) + ([dev] if dev else []))
    mine = levels[goal.person_slack_id]
    if dev:
        lvl, src = needs.get(dev, (min(4, mine[dev].level + 1), []))
        needs[dev] = (max(lvl, mine[dev].level + 1) if "role" not in src else lvl, ["development"] + src)
    out = [Need(cap, lvl, src, mine[cap]) for cap, (lvl, src) in needs.items()]
    out.sort(key=lambda n: ("development" not in n.sources, "text" not in n.sources, -(n.required - n.level.level),
                            n.capability))
    check = Check(goal, role, out)
    if propose:
        _propose(services, check)
    return check


def _propose(services: Services, check: Check) -> None:
    """A development point (reused when one is open) and up to three proposed courses per gap."""
    goal = check.goal
    targets = [n for n in check.needs if n.gap][:MAX_GAPS_WITH_COURSES]
    for need in targets:
        with session_scope(services.engine) as s:
            existing = [p for p in course_repo.open_points(session=s, person_slack_id=goal.person_slack_id)
                        if p.competency == need.capability]
            point = existing[0] if existing else DevelopmentPoint(
                person_slack_id=goal.person_slack_id, competency=need.capability, source="goal", confidence=1.0,
                evidence=goal.result_text, reason=f"goal {goal.id}: needs level {need.required}, "
                                                  f"now {need.level.level}", created_at=services.now())
            s.add(point)
            s.flush()
        need.actions = _courses(services, goal.person_slack_id, point)


def _courses(services: Services, person_slack_id: str, point: DevelopmentPoint) -> list[DevelopmentAction]:
    try:  # the learning service ranks with retrieval and stores the actions
        from bot.learning import propose_actions

        [(_, actions)] = propose_actions(services, person_slack_id=person_slack_id, points=[point], per_point=3)
        return actions
    except Exception:  # no index (or it failed): the catalog's tags still give relevant courses
        log.warning("retrieval unavailable for goal courses; using catalog tags", exc_info=True)
    from sqlmodel import select

    from storage.models import Course

    with session_scope(services.engine) as s:
        done = course_repo.course_ids_with_status(session=s, person_slack_id=person_slack_id, status="completed")
        courses = [c for c in s.exec(select(Course).order_by(Course.id)).all()
                   if point.competency in c.competencies and c.id not in done][:3]
        return [course_repo.create_action(session=s, person_slack_id=person_slack_id, point_id=point.id,
                                          course_id=c.id, title=c.title, why=point.reason) for c in courses]
