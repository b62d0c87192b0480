"""Peer recognition (kudos): validation, the daily allowance, storage, and kudos as development evidence.

No Slack here: the edge parses (`bot.kudos_text`), calls `give_kudos`, and renders the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.kudos_text import KudosProblem, check_message
from bot.people import ensure_person
from bot.services import Services
from bot.values import load_values
from knowledge.competencies import load_competency_model
from storage.db import session_scope
from storage.models import AuditLog, DevelopmentPoint, Recognition
from storage.people import people_by_ids
from storage.recognition import add_recognition, given_since, received_by

__all__ = [
    "Allowance",
    "KudosEvidence",
    "KudosOutcome",
    "KudosProblem",
    "allowance_status",
    "give_kudos",
    "kudos_evidence",
    "recent_kudos",
]


@dataclass(frozen=True)
class Allowance:
    """How many kudos a giver has used today (counted per recipient) and when the count resets."""

    used: int
    limit: int
    resets_at: datetime  # the giver's next local midnight, as UTC

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class KudosOutcome:
    recognition: Recognition | None = None
    problem: KudosProblem | None = None

    @property
    def ok(self) -> bool:
        return self.recognition is not None


@dataclass(frozen=True)
class KudosEvidence:
    """A kudos tagged with the competency of one of the recipient's open development points."""

    point_id: int
    competency: str
    recognition_id: int
    giver_slack_id: str
    message: str
    at: datetime


def _tz(services: Services, slack_id: str) -> ZoneInfo:
    with session_scope(services.engine) as session:
        person = people_by_ids(session=session, slack_ids=[slack_id]).get(slack_id)
    try:
        return ZoneInfo(person.timezone if person else services.settings.growthloop_default_timezone)
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def allowance_status(services: Services, *, giver_slack_id: str, now: datetime | None = None) -> Allowance:
    """Kudos used today in the giver's time zone (one per recipient) against the daily allowance."""
    now = now or services.now()
    tz = _tz(services, giver_slack_id)
    local = now.astimezone(tz)
    start = datetime.combine(local.date(), time(0), tzinfo=tz)
    resets = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=tz)
    with session_scope(services.engine) as session:
        rows = given_since(session=session, giver_slack_id=giver_slack_id, since=start)
    used = sum(len(r.receivers) for r in rows)
    return Allowance(used, services.settings.growthloop_kudos_daily_allowance, resets.astimezone(ZoneInfo("UTC")))


def _check_recipient(services: Services, rid: str, *, giver: str, bot_user_id: str | None) -> KudosProblem | None:
    if rid == giver:
        return KudosProblem("kudos_err_self", field="recipients")
    if bot_user_id and rid == bot_user_id:
        return KudosProblem("kudos_err_bot", {"user": rid}, "recipients")
    with session_scope(services.engine) as session:
        known = people_by_ids(session=session, slack_ids=[rid]).get(rid)
    if known is not None and not known.forgotten and known.profile_synced:
        return None
    user = None
    if services.directory is not None:
        try:
            user = services.directory.user_info(rid)
        except Exception:  # Slack unreachable: a person in the people file is still fine
            user = None
    if user and (user.get("is_bot") or rid == "USLACKBOT"):
        return KudosProblem("kudos_err_bot", {"user": rid}, "recipients")
    if user and not user.get("deleted"):
        ensure_person(services, rid)
        return None
    if known is not None and not known.forgotten:
        return None
    return KudosProblem("kudos_err_unknown_user", {"user": rid}, "recipients")


def validate_kudos(
    services: Services,
    *,
    giver_slack_id: str,
    recipients: Sequence[str],
    message: str,
    tags: Sequence[str] = (),
    competency: str | None = None,
    bot_user_id: str | None = None,
    now: datetime | None = None,
) -> tuple[list[str], KudosProblem | None]:
    """Resolve value tags to ids and return the first problem (or None), checking cheap things first."""
    values = load_values(services.settings.growthloop_values_file)
    value_ids: list[str] = []
    for tag in tags:
        v = values.resolve(tag)
        if v is None:
            return [], KudosProblem(
                "kudos_err_unknown_value", {"tag": tag[:40], "values": _value_list(values.ids)}, "value"
            )
        if v.id not in value_ids:
            value_ids.append(v.id)
    if competency and competency not in load_competency_model().ids:
        return [], KudosProblem("kudos_err_unknown_competency", {"competency": competency[:40]}, "competency")
    if problem := check_message(message):
        return [], problem
    if not recipients:
        return [], KudosProblem("help_kudos", field="recipients")
    for rid in recipients:
        if problem := _check_recipient(services, rid, giver=giver_slack_id, bot_user_id=bot_user_id):
            return [], problem
    allowance = allowance_status(services, giver_slack_id=giver_slack_id, now=now)
    if allowance.used + len(recipients) > allowance.limit:
        return [], KudosProblem(
            "kudos_err_allowance",
            {
                "limit": allowance.limit,
                "left": allowance.left,
                "resets_at": allowance.resets_at,
                "wanted": len(recipients),
            },
            "recipients",
        )
    return value_ids, None


def _value_list(ids: list[str]) -> str:
    return ", ".join(f"#{i}" for i in ids)


def give_kudos(
    services: Services,
    *,
    giver_slack_id: str,
    recipients: Sequence[str],
    message: str,
    tags: Sequence[str] = (),
    competency: str | None = None,
    bot_user_id: str | None = None,
) -> KudosOutcome:
    """Validate and store one kudos (nothing is stored when there is a problem).

    Args:
        services: the shared services (store, clock, directory).
        giver_slack_id: who gives.
        recipients: Slack user ids, deduplicated in order.
        message: the message as typed.
        tags: company value tags as typed (`customer_first`, an alias); unknown ones are refused.
        competency: an optional competency id (a kudos becomes evidence on a matching development point).
        bot_user_id: the bot's own user id (never a recipient).

    Returns:
        The stored recognition, or the problem to explain to the giver.
    """
    recipients = list(dict.fromkeys(recipients))
    now = services.now()
    value_ids, problem = validate_kudos(
        services,
        giver_slack_id=giver_slack_id,
        recipients=recipients,
        message=message,
        tags=tags,
        competency=competency,
        bot_user_id=bot_user_id,
        now=now,
    )
    if problem:
        return KudosOutcome(problem=problem)
    with session_scope(services.engine) as session:
        row = add_recognition(
            session=session,
            giver_slack_id=giver_slack_id,
            receivers=recipients,
            message=message.strip(),
            values=value_ids,
            competencies=[competency] if competency else [],
            created_at=now,
        )
        session.add(
            AuditLog(
                actor_slack_id=giver_slack_id,
                action="kudos.given",
                at=now,
                detail={"recognition_id": row.id, "receivers": len(recipients)},
            )
        )
    return KudosOutcome(recognition=row)


def recent_kudos(services: Services, *, slack_id: str, limit: int = 5) -> list[Recognition]:
    """The newest kudos `slack_id` received."""
    with session_scope(services.engine) as session:
        return received_by(session=session, slack_id=slack_id, limit=limit)


def kudos_evidence(services: Services, *, person_slack_id: str) -> list[KudosEvidence]:
    """Kudos tagged with the competency of one of the person's open development points, given since it opened.

    The check-in calls this to offer the manager to close such a point; the profile and App Home show it.
    """
    with session_scope(services.engine) as session:
        q = select(DevelopmentPoint).where(
            DevelopmentPoint.person_slack_id == person_slack_id, DevelopmentPoint.status == "open"
        )
        points = list(session.exec(q.order_by(DevelopmentPoint.id)))  # type: ignore[arg-type]
        if not points:
            return []
        kudos = [r for r in received_by(session=session, slack_id=person_slack_id) if r.competencies]
    out: list[KudosEvidence] = []
    for p in points:
        for r in kudos:
            if p.competency in r.competencies and r.created_at >= p.created_at:
                out.append(KudosEvidence(p.id or 0, p.competency, r.id or 0, r.giver_slack_id, r.message, r.created_at))
    return out
