"""Kudos at the Slack edge, shared by the `/kudos` command, the shortcut, the modal and App Home."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient

from bot.i18n import norm_locale, t
from bot.recognition import allowance_status
from bot.services import Services
from bot.slack.blocks_kudos import kudos_message_blocks, kudos_modal, mentions
from bot.values import load_values
from knowledge.competencies import load_competency_model
from storage.db import session_scope
from storage.models import Recognition
from storage.people import people_by_ids
from storage.recognition import set_channel_post

log = logging.getLogger(__name__)


def open_kudos_modal(
    services: Services, client: WebClient, *, trigger_id: str, giver: str, locale: str, preset: list[str]
) -> None:
    """Open the "Give kudos" modal (recipients preset, e.g. to a message's author)."""
    allowance = allowance_status(services, giver_slack_id=giver)
    view = kudos_modal(
        locale=locale,
        values=load_values(services.settings.growthloop_values_file),
        model=load_competency_model(),
        preset_users=[p for p in preset if p and p != giver],
        allowance_left=allowance.left,
        allowance_limit=allowance.limit,
    )
    client.views_open(trigger_id=trigger_id, view=view)


def sent_text(services: Services, recognition: Recognition, locale: str) -> str:
    allowance = allowance_status(services, giver_slack_id=recognition.giver_slack_id)
    return t("kudos_sent", locale, people=mentions(recognition.receivers), left=allowance.left, limit=allowance.limit)


def deliver(services: Services, client: WebClient, recognition: Recognition) -> None:
    """DM each recipient in their language, share in the kudos channel when one is set, refresh App Homes."""
    values = load_values(services.settings.growthloop_values_file)
    model = load_competency_model()
    default = services.settings.growthloop_default_locale
    with session_scope(services.engine) as session:
        people = people_by_ids(session=session, slack_ids=recognition.receivers)
    kw: dict[str, Any] = {
        "giver": recognition.giver_slack_id,
        "receivers": recognition.receivers,
        "message": recognition.message,
        "value_ids": recognition.values,
        "competencies": recognition.competencies,
        "values": values,
        "model": model,
    }
    for rid in recognition.receivers:
        person = people.get(rid)
        locale = norm_locale(person.locale if person else None, default)
        blocks, text = kudos_message_blocks(locale=locale, evidence=_has_open_point(services, rid, recognition), **kw)
        channel = client.conversations_open(users=rid)["channel"]["id"]
        client.chat_postMessage(channel=channel, blocks=blocks, text=text)
    kudos_channel = services.settings.growthloop_kudos_channel
    if kudos_channel:
        blocks, text = kudos_message_blocks(locale=default, header_key="kudos_channel_post", **kw)
        resp = client.chat_postMessage(channel=kudos_channel, blocks=blocks, text=text)
        with session_scope(services.engine) as session:
            set_channel_post(
                session=session, recognition_id=recognition.id or 0, channel_id=resp["channel"], channel_ts=resp["ts"]
            )
    from bot.slack.home_publish import publish_home

    for rid in recognition.receivers:
        try:
            publish_home(services, client, rid)
        except Exception:  # App Home is a convenience; the kudos itself is delivered
            log.warning("could not refresh the App Home of %s", rid, exc_info=True)


def _has_open_point(services: Services, slack_id: str, recognition: Recognition) -> bool:
    if not recognition.competencies:
        return False
    from bot.recognition import kudos_evidence

    return any(e.recognition_id == recognition.id for e in kudos_evidence(services, person_slack_id=slack_id))
