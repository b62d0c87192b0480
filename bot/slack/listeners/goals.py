"""`/goal`: a modal for a result goal with its development goal; on save, a DM with the capability check."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import goals
from bot.capabilities import current_map
from bot.i18n import t
from bot.services import Services
from bot.slack import blocks_goals as bg
from storage import goals as repo
from storage.db import session_scope


def _today(services: Services, person: Any) -> Any:
    return services.now().astimezone(ZoneInfo(getattr(person, "timezone", None) or "UTC")).date()


def register(app: App, services: Services) -> None:
    @app.command("/goal")
    def open_goal(ack: Ack, command: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        ack()
        locale, person = context.get("locale") or "en", context.get("person")
        with session_scope(services.engine) as s:
            cycle = repo.current_cycle(session=s, today=_today(services, person))
            due = cycle.end_date if cycle else None
        role_caps = list(current_map(services).for_role(getattr(person, "role", None)))
        view = bg.goal_modal(locale, role_capabilities=role_caps, due=due, channel=command.get("channel_id", ""))
        client.views_open(trigger_id=command["trigger_id"], view=view)

    @app.view(bg.CALLBACK_ID)
    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any],
               client: WebClient) -> None:
        locale, person, user = context.get("locale") or "en", context.get("person"), body["user"]["id"]
        fields = bg.read_modal(view["state"]["values"])
        try:
            goal = goals.save_goal(services, person_slack_id=user, text=fields["text"], measure=fields["measure"],
                                   due=fields["due"], capability=fields["capability"],
                                   development_text=fields["development_text"], today=_today(services, person))
        except goals.GoalError as exc:
            ack(response_action="errors", errors=bg.modal_errors(exc.errors, locale))
            return
        ack()
        channel = client.conversations_open(users=user)["channel"]["id"]
        first = client.chat_postMessage(channel=channel, text=t("goals_checking", locale))
        check = goals.check_goal(services, goal)  # retrieval and levels: after the modal has closed
        client.chat_update(channel=channel, ts=first["ts"], text=bg.check_text(check, locale),
                           blocks=bg.check_blocks(check, locale))

