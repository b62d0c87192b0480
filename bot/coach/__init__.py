"""Coaches: the offline coach always works; an LLM coach improves it when configured."""

from __future__ import annotations

from bot.coach.base import Analysis, Coach, PointDraft
from bot.services import Services

__all__ = ["Analysis", "Coach", "PointDraft", "get_coach"]


def get_coach(services: Services) -> Coach:
    """The coach for this process: an LLM coach when configured (and available), else the offline one."""
    coach = services.extras.get("coach")
    if coach is not None:
        return coach  # type: ignore[no-any-return]
    from bot.coach.offline import OfflineCoach

    coach = OfflineCoach()
    if services.settings.llm_enabled:
        try:
            from bot.coach.llm import LlmCoach

            coach = LlmCoach(services, fallback=coach)
        except ImportError:
            pass
    services.extras["coach"] = coach
    return coach
