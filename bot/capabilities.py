"""The capability map in force: load a new version (validated against the people table) or read the active one."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services import Services
from knowledge.capability_map import CapabilityMap, parse_capability_map, shipped_map
from storage import goals as repo
from storage.db import session_scope


@dataclass
class Loaded:
    version_id: int
    priorities: int
    roles: int
    capabilities: int


def load_map(services: Services, *, text: str, source: str, loaded_by: str | None = None) -> Loaded:
    """Validate `text` and make it the active map.

    Raises:
        CapabilityMapError: with every problem and its line; nothing is written and the previous map stays active.
    """
    with session_scope(services.engine) as s:
        roles = repo.known_roles(session=s)
    cmap = parse_capability_map(text, known_roles=roles, source=source)
    with session_scope(services.engine) as s:
        row = repo.save_map(session=s, source=source, content=text, data=cmap.to_data(), loaded_by=loaded_by)
        vid = row.id or 0
    return Loaded(vid, len(cmap.priorities), len(cmap.roles()), len(cmap.capabilities()))


def current_map(services: Services) -> CapabilityMap:
    """The active loaded map, else the shipped example (so a fresh install has a map to show)."""
    with session_scope(services.engine) as s:
        row = repo.active_map(session=s)
        data = dict(row.data) if row is not None else None
    return CapabilityMap.from_data(data) if data else shipped_map()
