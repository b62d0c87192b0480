"""App Home: publish on app_home_opened; its buttons (give kudos, learn, start check-in, HR report, more)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.access import access_of
from bot.i18n import t
from bot.services import Services
from bot.slack.blocks_home import POINTS_PER_PAGE, REPORTS_PER_PAGE
from bot.slack.home_publish import publish_home
from bot.slack.kudos_flow import open_kudos_modal

log = logging.getLogger(__name__)
_PAGE_SIZES = {"points": POINTS_PER_PAGE, "reports": REPORTS_PER_PAGE}


def _dm(client: WebClient, user: str, text: str) -> None:
    channel = client.conversations_open(users=user)["channel"]["id"]
    client.chat_postMessage(channel=channel, text=text)


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            publish_home(services, client, event["user"])

    @app.action("home_more")
    def more(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        section, _, shown = str(action.get("value", "")).partition(":")
        if section in _PAGE_SIZES and shown.isdigit():
            publish_home(services, client, body["user"]["id"], pages={section: int(shown) // _PAGE_SIZES[section]})

    @app.action("home_give_kudos")
    def give(ack: Ack, body: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        ack()
        open_kudos_modal(
            services,
            client,
            trigger_id=body["trigger_id"],
            giver=body["user"]["id"],
            locale=context["locale"],
            preset=[],
        )

    @app.action("home_learn")
    def learn(ack: Ack, body: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        ack()
        user, locale = body["user"]["id"], context["locale"]
        try:  # the learning surface's recommender, when present; else point to /learn
            from bot import learning
            from bot.slack import blocks_learning as bl
        except ImportError:
            _dm(client, user, t("home_learn_dm", locale))
            return
        intro_key, suggestions = learning.recommend(services, person_slack_id=user)
        if not suggestions:
            _dm(client, user, t("home_learn_dm", locale))
            return
        intro = t(intro_key, locale, topic="")
        channel = client.conversations_open(users=user)["channel"]["id"]
        client.chat_postMessage(
            channel=channel,
            text=bl.suggestion_text(intro, suggestions),
            blocks=bl.suggestion_blocks(intro, suggestions, user, locale),
        )

    @app.action("home_start_checkin")
    def start_checkin(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        manager, employee = body["user"]["id"], str(action.get("value", ""))
        if not access_of(context).manages(employee):  # the button is only shown for reports; the value is forgeable
            text = t("checkin_not_your_report", context["locale"], name=f"<@{employee}>", user=employee)
            _dm(client, manager, text)
            return
        try:
            from bot.slack.flows import start_checkin_flow  # the check-in surface, when present
        except ImportError:
            _dm(client, manager, t("home_checkin_unavailable", context["locale"], user=employee))
            return
        out = start_checkin_flow(
            services, client, manager_slack_id=manager, employee_slack_id=employee, locale=context["locale"]
        )
        if not out.ok and out.message:
            _dm(client, manager, out.message)
        publish_home(services, client, manager)

    @app.action("home_post_report")
    def post_report_clicked(ack: Ack, body: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        ack()
        user, locale = body["user"]["id"], context["locale"]
        if not access_of(context).is_hr_admin:
            _dm(client, user, t("home_not_admin", locale))
            return
        from bot.slack.reporting import post_report

        post_report(services, client, admin_slack_id=user, locale=locale)
