"""Who may see and do what: the acting person's roles, resolved once per request (no Slack here).

Roles stack: everyone is an employee; a manager manages their direct reports; an HR admin sees aggregates and
(only when `growthloop_hr_can_read_checkins` is set) check-in content. The middleware puts an `Access` in the Bolt
context as `context["access"]`; listeners ask it before acting. The set of reports is loaded on first use, at most
once per request, so the hot path (thread replies) pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlmodel import col, select

from bot.services import Services
from storage.db import session_scope
from storage.models import AuditLog, Nudge, Person


@dataclass
class Access:
    """The acting person's roles for one request."""

    slack_id: str | None
    is_hr_admin: bool = False
    forgotten: bool = False
    load_reports: Callable[[], frozenset[str]] = field(default=lambda: frozenset(), repr=False, compare=False)

    @cached_property
    def reports(self) -> frozenset[str]:
        """Slack ids of the direct reports (empty for non-managers)."""
        return self.load_reports() if self.slack_id else frozenset()

    @property
    def known(self) -> bool:
        """A person of the directory who has not been forgotten."""
        return bool(self.slack_id) and not self.forgotten

    @property
    def is_manager(self) -> bool:
        return bool(self.reports)

    def manages(self, slack_id: str | None) -> bool:
        """True when `slack_id` is one of this person's direct reports."""
        return bool(slack_id) and slack_id in self.reports

    def may_view_person(self, subject: str) -> bool:
        """The growth log and profile: yourself, your direct reports, or any person for an HR admin."""
        return self.known and (subject == self.slack_id or self.manages(subject) or self.is_hr_admin)

    def may_read_checkin(self, *, manager: str | None, employee: str, hr_can_read: bool) -> bool:
        """Check-in content: the pair only, and HR admins when the setting allows it."""
        return self.known and (self.slack_id in (manager, employee) or (self.is_hr_admin and hr_can_read))

    def roles(self) -> list[str]:
        """Human-readable roles, for logs and the audit trail."""
        out = ["employee"] if self.known else []
        if self.is_manager:
            out.append("manager")
        if self.is_hr_admin:
            out.append("hr_admin")
        return out


ANONYMOUS = Access(slack_id=None)


def resolve_access(services: Services, person: Person | None) -> Access:
    """The Access of `person` (from the request's middleware); reports are looked up lazily."""
    if person is None:
        return ANONYMOUS
    slack_id = person.slack_id

    def load() -> frozenset[str]:
        with session_scope(services.engine) as session:
            rows = session.exec(
                select(Person.slack_id).where(Person.manager_slack_id == slack_id, col(Person.forgotten).is_(False))
            ).all()
        return frozenset(rows)

    return Access(
        slack_id=slack_id, is_hr_admin=bool(person.is_hr_admin), forgotten=bool(person.forgotten), load_reports=load
    )


def access_of(context: dict[str, Any]) -> Access:
    """The request's Access (the anonymous one when the middleware found no person)."""
    found = context.get("access")
    return found if isinstance(found, Access) else ANONYMOUS


def nudge_manager(services: Services, nudge_id: int) -> str | None:
    """The manager a nudge was sent to (only they may act on it); None when there is no such nudge."""
    with session_scope(services.engine) as session:
        nudge = session.get(Nudge, nudge_id)
        return nudge.manager_slack_id if nudge else None


def audit_read(services: Services, *, access: Access, subject: str, what: str, **detail: Any) -> None:
    """Record an HR admin's read of another person's data (nothing for reads of your own or your reports')."""
    if not access.is_hr_admin or subject == access.slack_id or access.manages(subject):
        return
    with session_scope(services.engine) as session:
        session.add(
            AuditLog(actor_slack_id=access.slack_id, action=f"hr.read_{what}", subject_slack_id=subject, detail=detail)
        )
