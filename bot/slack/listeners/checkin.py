"""`/checkin`: start a guided check-in, reflect, pause, resume, status; thread replies; Skip/Back/Finish buttons."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import select

from bot import checkins
from bot.checkin_flow import Move
from bot.i18n import t
from bot.services import Services
from bot.slack import flows
from bot.slack.client import tell_error
from bot.slack.executor import defer
from bot.slack.parsing import mentions, plain_names
from storage.db import session_scope
from storage.models import Person

_MOVES = {"checkin_skip": Move.SKIP, "checkin_back": Move.BACK, "checkin_finish": Move.DONE}


def _resolve_name(services: Services, name: str) -> str | None:
    with session_scope(services.engine) as session:
        rows = session.exec(select(Person).where(Person.forgotten == False)).all()  # noqa: E712
    low = name.lower()
    hits = [
        p.slack_id for p in rows if (p.name or "").lower() in (low,) or (p.email or "").split("@")[0].lower() == low
    ]
    return hits[0] if len(hits) == 1 else None


_SUBCOMMANDS = {"暂停": "pause", "恢复": "resume", "继续": "resume", "状态": "status"}  # the zh words for them


def register(app: App, services: Services) -> None:
    @app.command("/checkin")
    def checkin_command(ack: Ack, command: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        loc, user, text = context.get("locale", "en"), command["user_id"], (command.get("text") or "").strip()
        first = text.split()[0] if text else ""
        word = _SUBCOMMANDS.get(first.lower(), first.lower())
        if word in ("pause", "resume", "status"):
            return _cadence(ack, services, user, loc, word, text[len(first) :].strip())
        target = (mentions(text) or [None])[0]
        if target is None and plain_names(text):
            name = plain_names(text)[0]
            target = _resolve_name(services, name)
            if target is None:  # a typed @name that matches nobody (or several): not a Slack id to show as <@…>
                return ack(response_type="ephemeral", text=t("checkin_unknown_name", loc, name=name))
        if text and target is None:
            return ack(response_type="ephemeral", text=t("help_checkin", loc))
        if target is None:
            ack(response_type="ephemeral", text=t("checkin_reflection_starting", loc))
            out = flows.start_reflection_flow(services, client, employee_slack_id=user, locale=loc)
            if out.message:
                client.chat_postMessage(channel=out.channel or user, text=out.message)
            return None
        try:  # refusals are cheap store look-ups: answer them in the ack itself
            started = checkins.start_guided(services, manager_slack_id=user, employee_slack_id=target)
        except checkins.Refusal as r:
            return ack(response_type="ephemeral", text=t(r.key, loc, **r.kw))
        if started.existing:
            out = flows.start_checkin_flow(
                services, client, manager_slack_id=user, employee_slack_id=target, locale=loc
            )
            return ack(response_type="ephemeral", text=out.message)
        ack(response_type="ephemeral", text=t("checkin_starting", loc, name=started.employee.name))
        defer(  # off the ack lane; its outcome's message (with a permalink) is not shown: the ack said it
            lambda: flows.start_checkin_flow(
                services,
                client,
                manager_slack_id=user,
                employee_slack_id=target,
                locale=loc,
                started=started,
                link=False,
            ),
            on_error=lambda: tell_error(client, user=user, channel=command["channel_id"], locale=loc),
        )
        return None

    def on_thread_message(event: dict[str, Any], context: dict[str, Any], client: WebClient) -> bool:
        return flows.handle_thread_message(
            services,
            client,
            event,
            is_retry=bool(context.get("is_retry")),
            stored=context.get("thread_reply"),
        )

    services.extras.setdefault("message_handlers", []).insert(0, on_thread_message)

    @app.action("checkin_skip")
    @app.action("checkin_back")
    @app.action("checkin_finish")
    def nav(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        checkin_id, at_step = _nav_value(str(action.get("value") or ""))
        move = _MOVES[action["action_id"]]
        turn = checkins.steer(services, checkin_id=checkin_id, user=user, move=move, at_step=at_step)
        if turn is None or turn.duplicate:
            key = "checkin_stale_button" if turn is not None else checkins.steer_refusal(
                services, checkin_id=checkin_id, user=user
            )
            client.chat_postEphemeral(channel=body["channel"]["id"], user=user, text=t(key, context["locale"]))
            return
        flows.continue_after(services, client, turn)


def _nav_value(value: str) -> tuple[int, int | None]:
    """(check-in id, step of the question the button is under) from "12:3"; a value from before steps were in it
    ("12") has no step. A forged value matches no check-in (id 0)."""
    cid, _, step = value.partition(":")
    if not (cid.isdigit() and len(cid) < 10) or (step and not (step.isdigit() and len(step) < 4)):
        return 0, None
    return int(cid), int(step) if step else None


def _cadence(ack: Ack, services: Services, user: str, loc: str, word: str, arg: str) -> None:
    try:
        from bot import cadence
    except ImportError:
        return ack(response_type="ephemeral", text=t("checkin_feature_unavailable", loc))
    from bot.i18n import fmt_date
    from storage.people import get_person

    with session_scope(services.engine) as session:
        person = get_person(session=session, slack_id=user)
    tz = person.timezone if person else "UTC"
    if word == "pause":
        if not arg:
            return ack(response_type="ephemeral", text=t("checkin_usage_pause", loc))
        try:
            until = cadence.pause(services, slack_id=user, duration=cadence.parse_duration(arg))
        except ValueError as err:  # cadence.UserError knows the user's language
            reason = err.text(loc) if hasattr(err, "text") else str(err)
            return ack(response_type="ephemeral", text=f"{reason}\n{t('checkin_usage_pause', loc)}")
        return ack(response_type="ephemeral", text=t("checkin_paused", loc, date=fmt_date(until, tz, loc)))
    if word == "resume":
        cadence.resume(services, slack_id=user)
        return ack(response_type="ephemeral", text=t("checkin_resumed", loc))
    info = cadence.status(services, slack_id=user)
    return ack(response_type="ephemeral", text=cadence.status_text(info, tz=tz, locale=loc))
