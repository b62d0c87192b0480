"""`/kudos`, the "Give kudos" message shortcut and its modal."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.i18n import t
from bot.kudos_text import KudosProblem, parse_kudos_text
from bot.recognition import give_kudos
from bot.services import Services
from bot.slack.blocks_kudos import B_TO, FIELD_BLOCKS, MODAL_CALLBACK, local_tz, problem_text, read_modal
from bot.slack.kudos_flow import deliver, open_kudos_modal, sent_text
from bot.slack.parsing import from_slack


def _tz(context: dict[str, Any]) -> str:
    person = context.get("person")
    return local_tz(person.timezone if person else None)


def register(app: App, services: Services) -> None:
    @app.command("/kudos")
    def kudos_command(ack: Ack, command: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        # Validation is store-only and quick, so the outcome rides on the ack (no chat.postEphemeral in a
        # channel the bot may not be in).
        locale = context["locale"]
        parsed = parse_kudos_text(from_slack(command.get("text")))
        if isinstance(parsed, KudosProblem):
            ack(response_type="ephemeral", text=problem_text(parsed, locale, _tz(context)))
            return
        outcome = give_kudos(
            services,
            giver_slack_id=command["user_id"],
            recipients=parsed.recipients,
            message=parsed.message,
            tags=parsed.tags,
            bot_user_id=context.get("bot_user_id"),
        )
        if outcome.problem or outcome.recognition is None:
            ack(response_type="ephemeral", text=problem_text(outcome.problem, locale, _tz(context)))  # type: ignore[arg-type]
            return
        ack(response_type="ephemeral", text=sent_text(services, outcome.recognition, locale))
        deliver(services, client, outcome.recognition)

    @app.shortcut("give_kudos")
    def give_kudos_shortcut(ack: Ack, shortcut: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        ack()
        message = shortcut.get("message") or {}
        author = None if message.get("bot_id") else message.get("user")
        open_kudos_modal(
            services,
            client,
            trigger_id=shortcut["trigger_id"],
            giver=shortcut["user"]["id"],
            locale=context["locale"],
            preset=[author] if author else [],
        )

    @app.view(MODAL_CALLBACK)
    def kudos_submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any], client: WebClient
    ) -> None:
        locale, giver = context["locale"], body["user"]["id"]
        fields = read_modal(view["state"]["values"])
        if not fields["recipients"]:
            ack(response_action="errors", errors={B_TO: t("kudos_err_nobody", locale)})
            return
        outcome = give_kudos(
            services,
            giver_slack_id=giver,
            recipients=fields["recipients"],
            message=fields["message"],
            tags=[fields["value"]] if fields["value"] else [],
            competency=fields["competency"],
            bot_user_id=context.get("bot_user_id"),
        )
        if outcome.problem or outcome.recognition is None:
            text = problem_text(outcome.problem, locale, _tz(context))  # type: ignore[arg-type]
            ack(response_action="errors", errors={FIELD_BLOCKS[outcome.problem.field]: text})  # type: ignore[union-attr]
            return
        ack()
        dm = client.conversations_open(users=giver)["channel"]["id"]
        client.chat_postMessage(channel=dm, text=sent_text(services, outcome.recognition, locale))
        deliver(services, client, outcome.recognition)
