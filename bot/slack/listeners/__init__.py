"""One `register(app, services)` per surface module in this package; the composition root calls them all.

A surface is any module here with a `register` function (checkin, events, kudos, learn, hr, home, …), so a
new surface is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil

from slack_bolt import App

from bot.services import Services

# Message events are registered after the surfaces so that they can add their message handlers first; the fallback
# (interactions no surface claims) comes last, as Bolt runs the first listener that matches.
_LAST = ("events", "fallback")


def surfaces() -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return [n for n in names if n not in _LAST] + [n for n in _LAST if n in names]


def register(app: App, services: Services) -> None:
    for name in surfaces():
        module = importlib.import_module(f"{__name__}.{name}")
        if hasattr(module, "register"):
            module.register(app, services)
