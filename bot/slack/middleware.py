"""Cross-cutting concerns: event-retry dedupe and the per-request person/locale/access context."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse
from sqlalchemy.exc import IntegrityError

from bot.access import ANONYMOUS, resolve_access
from bot.i18n import norm_locale
from bot.people import ensure_person
from bot.services import Services
from storage.db import session_scope
from storage.models import ProcessedEvent

log = logging.getLogger(__name__)


def claim_event(services: Services, event_id: str) -> bool:
    """Record `event_id` as processed; False when it already was (a Slack retry)."""
    try:
        with session_scope(services.engine) as session:
            session.add(ProcessedEvent(event_id=event_id))
        return True
    except IntegrityError:
        return False


def release_event(services: Services, event_id: str) -> None:
    """Forget a claim so Slack's retry can redo work that failed."""
    with session_scope(services.engine) as session:
        row = session.get(ProcessedEvent, event_id)
        if row is not None:
            session.delete(row)


def make_dedupe(services: Services) -> Callable[..., Any]:
    def dedupe(body: dict[str, Any], context: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        event_id = event_id if isinstance(event_id, str) and 0 < len(event_id) <= 64 else None
        event = _dict(body.get("event"))
        thread_message = event.get("type") == "message" and (
            event.get("thread_ts") or _dict(event.get("message")).get("thread_ts")
        )
        # Thread replies are idempotent in the domain (an answer is unique by its Slack ts), and a retry must be able
        # to finish what a crashed first attempt started, so they are not claimed here.
        if event_id and not thread_message:
            if not claim_event(services, event_id):
                log.info("ignored a retry of event %s", event_id)
                return BoltResponse(status=200, body="")
            context["event_id"] = event_id
        return next()

    return dedupe


def _dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else {} (a malformed payload must not crash the middleware)."""
    return value if isinstance(value, dict) else {}


def _actor(body: dict[str, Any]) -> str | None:
    if body.get("user_id"):  # slash commands
        return str(body["user_id"])
    user = body.get("user")
    if isinstance(user, dict):
        return user.get("id") if isinstance(user.get("id"), str) else None
    event = _dict(body.get("event"))
    if event.get("bot_id") or event.get("subtype") == "bot_message":
        return None
    actor = event.get("user") or _dict(event.get("message")).get("user")
    return actor if isinstance(actor, str) else None


def make_person_context(services: Services) -> Callable[..., Any]:
    """Put the acting person, their locale and their roles (`context["access"]`, see `bot.access`) in the context
    (first contact syncs tz/locale from Slack)."""

    def person_context(body: dict[str, Any], context: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002
        actor = _actor(body)
        context["locale"] = services.settings.growthloop_default_locale
        context["access"] = ANONYMOUS
        if actor and actor != context.get("bot_user_id"):
            person = ensure_person(services, actor)
            context["person"] = person
            context["locale"] = norm_locale(person.locale, services.settings.growthloop_default_locale)
            context["access"] = resolve_access(services, person)
        return next()

    return person_context


def make_thread_store(services: Services) -> Callable[..., Any]:
    """Store a check-in answer before the ack (an event is acked before its listener runs): while the store is down
    Slack gets a 500 and retries, and nothing acknowledged can be lost. The listener gets the stored turn."""
    from bot.slack.flows import store_thread_reply

    def thread_store(body: dict[str, Any], context: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002
        event = _dict(body.get("event")) if body.get("type") == "event_callback" else {}
        if event.get("type") == "message" and event.get("thread_ts") and _actor(body):
            context["thread_reply"] = (store_thread_reply(services, event),)
        return next()

    return thread_store
