"""Build and publish a person's App Home (called on app_home_opened and after changes we make)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.home import build_home
from bot.i18n import norm_locale
from bot.services import Services
from bot.slack.blocks_home import home_view
from knowledge.competencies import load_competency_model


def publish_home(services: Services, client: WebClient, slack_id: str, *, pages: dict[str, int] | None = None) -> None:
    """views.publish the App Home of `slack_id` in their language."""
    model = build_home(services, slack_id=slack_id)
    locale = norm_locale(model.locale, services.settings.growthloop_default_locale)
    view = home_view(model, load_competency_model(), locale, pages)
    client.views_publish(user_id=slack_id, view=view)
