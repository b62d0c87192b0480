"""Nudge buttons: Start check-in / Snooze 1 day / Skip this time. The nudge message is updated in place."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import nudges
from bot.access import access_of, nudge_manager
from bot.cadence import UserError
from bot.i18n import t
from bot.services import Services
from bot.slack.blocks_nudges import ACTION_SKIP, ACTION_SNOOZE, ACTION_START, outcome_blocks


def _update(client: WebClient, body: dict[str, Any], outcome: nudges.NudgeOutcome, where: str = "") -> None:
    text, blocks = outcome_blocks(outcome, where=where)
    container = body.get("container") or {}
    client.chat_update(channel=container.get("channel_id") or body["channel"]["id"],
                       ts=container.get("message_ts") or body["message"]["ts"], text=text, blocks=blocks)


def _tell(client: WebClient, body: dict[str, Any], text: str) -> None:
    client.chat_postEphemeral(channel=body["channel"]["id"], user=body["user"]["id"], text=text)


def _owns(services: Services, context: dict[str, Any], action: dict[str, Any]) -> bool:
    """Only the manager the nudge was sent to may act on it (a forwarded or forged click is refused)."""
    value = str(action.get("value") or "")
    me = access_of(context).slack_id
    return value.isdigit() and len(value) < 10 and me is not None and nudge_manager(services, int(value)) == me


def register(app: App, services: Services) -> None:
    @app.action(ACTION_SNOOZE)
    @app.action(ACTION_SKIP)
    def snooze_or_skip(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: dict[str, Any],
                       client: WebClient) -> None:
        ack()
        if not _owns(services, context, action):
            return _tell(client, body, t("access_nudge_not_yours", context.get("locale")))
        act = nudges.snooze if action["action_id"] == ACTION_SNOOZE else nudges.skip
        try:
            outcome = act(services, nudge_id=int(action["value"]), actor=body["user"]["id"])
        except UserError as exc:
            _tell(client, body, exc.text(context.get("locale")))
            return
        _update(client, body, outcome)

    @app.action(ACTION_START)
    def start(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: dict[str, Any],
              client: WebClient) -> None:
        ack()
        if not _owns(services, context, action):
            return _tell(client, body, t("access_nudge_not_yours", context.get("locale")))
        actor, nudge_id = body["user"]["id"], int(action["value"])
        try:
            manager, employee = nudges.peek(services, nudge_id=nudge_id, actor=actor)
        except UserError as exc:
            _tell(client, body, exc.text(context.get("locale")))
            return
        try:
            from bot.slack.flows import start_checkin_flow  # the guided check-in (lead's module)
        except ImportError:
            _tell(client, body, t("scheduler_start_unavailable", context.get("locale"), employee=employee.name))
            return
        result = start_checkin_flow(services, client, manager_slack_id=manager.slack_id,
                                    employee_slack_id=employee.slack_id, locale=context.get("locale") or "en")
        if not result.ok:
            _tell(client, body, result.message)
            return
        outcome = nudges.mark_started(services, nudge_id=nudge_id, actor=actor)
        _update(client, body, outcome, where=f" (<#{result.channel}>)" if result.channel else "")
