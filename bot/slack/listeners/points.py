"""Agree / "I see it differently" on a development point (the employee only); a dispute keeps the point."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.models.blocks import InputBlock, PlainTextInputElement
from slack_sdk.models.views import View

from bot import checkins
from bot.access import access_of
from bot.i18n import t
from bot.services import Services
from bot.slack.flows import summary_message
from storage.db import session_scope
from storage.models import DevelopmentPoint


def dispute_modal(point_id: int, channel: str, ts: str, locale: str) -> View:
    return View(
        type="modal",
        callback_id="point_dispute_modal",
        title=t("points_dispute_title", locale)[:24],
        submit=t("points_dispute_submit", locale)[:24],
        private_metadata=json.dumps({"point_id": point_id, "channel": channel, "ts": ts}),
        blocks=[
            InputBlock(
                block_id="why",
                label=t("points_dispute_label", locale)[:2000],
                optional=True,
                element=PlainTextInputElement(action_id="text", multiline=True, max_length=2000),
            )
        ],
    )


def _point_id(action: dict[str, Any]) -> int:
    """The point id a button carries; 0 (no such point, so a refusal) for a forged or mangled value."""
    value = str(action.get("value") or "")
    return int(value) if value.isdigit() and len(value) < 10 else 0


def _owner(services: Services, point_id: int) -> DevelopmentPoint | None:
    with session_scope(services.engine) as session:
        return session.get(DevelopmentPoint, point_id)


def _rerender(services: Services, client: WebClient, point: DevelopmentPoint, channel: str, ts: str) -> None:
    if point.checkin_id and channel and ts:
        text, blocks = summary_message(services, point.checkin_id)
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)


def register(app: App, services: Services) -> None:
    @app.action("point_confirm")
    def confirm(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        user, channel, ts = body["user"]["id"], body["channel"]["id"], (body.get("message") or {}).get("ts", "")
        point = checkins.set_point_feedback(services, point_id=_point_id(action), user=user, confirm=True)
        if point is None:
            client.chat_postEphemeral(channel=channel, user=user, text=t("checkin_only_employee", context["locale"]))
            return
        _rerender(services, client, point, channel, ts)

    @app.action("point_dispute")
    def dispute(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        user, channel, ts = body["user"]["id"], body["channel"]["id"], (body.get("message") or {}).get("ts", "")
        point = _owner(services, _point_id(action))
        if point is None or point.person_slack_id != user:
            client.chat_postEphemeral(channel=channel, user=user, text=t("checkin_only_employee", context["locale"]))
            return
        client.views_open(
            trigger_id=body["trigger_id"], view=dispute_modal(point.id or 0, channel, ts, context["locale"])
        )

    @app.action("point_close")
    def close_point(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        point = checkins.close_point(services, point_id=_point_id(action), manager_slack_id=user)
        loc = context["locale"]
        if point is None:
            client.chat_postEphemeral(channel=channel, user=user, text=t("checkin_only_manager_closes", loc))
            return
        from knowledge.competencies import load_competency_model

        client.chat_postEphemeral(
            channel=channel,
            user=user,
            text=t("checkin_point_closed", loc, competency=load_competency_model().name(point.competency, loc)),
        )

    @app.view("point_dispute_modal")
    def dispute_submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any], client: WebClient
    ) -> None:
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        meta = meta if isinstance(meta, dict) else {}
        pid = str(meta.get("point_id", ""))
        point = _owner(services, int(pid)) if pid.isdigit() and len(pid) < 10 else None
        if point is None or point.person_slack_id != access_of(context).slack_id:  # private_metadata is forgeable
            ack(response_action="errors", errors={"why": t("access_point_not_yours", context["locale"])})
            return
        ack()
        values = (view.get("state") or {}).get("values") or {}
        reason = ((values.get("why") or {}).get("text") or {}).get("value")
        point = checkins.set_point_feedback(
            services, point_id=point.id or 0, user=body["user"]["id"], confirm=False, reason=reason
        )
        if point is not None:
            _rerender(services, client, point, meta.get("channel", ""), meta.get("ts", ""))
