"""Put the knowledge base into the services (called by `bot.runtime.prepare` on start)."""

from __future__ import annotations

import logging

from bot.services import Services
from knowledge.base import KnowledgeBase

log = logging.getLogger(__name__)


def attach(services: Services) -> KnowledgeBase:
    """Create the knowledge base at `services.extras["knowledge"]`; seed an empty store with the shipped catalog.

    Cheap: the embedder, chroma and the in-memory index are created on the first search.
    """
    kb = services.extras.get("knowledge")
    if kb is None:
        kb = KnowledgeBase.from_settings(services.settings, services.engine)
        services.extras["knowledge"] = kb
    kb.ensure_seeded()
    return kb


def knowledge_of(services: Services) -> KnowledgeBase:
    """The knowledge base of these services (attaching it if nobody did yet)."""
    return services.extras.get("knowledge") or attach(services)
