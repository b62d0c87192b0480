"""`growthloop demo`: the story, played through real signed HTTP requests against the sandbox."""

from __future__ import annotations

import importlib
import pkgutil
import tempfile
from pathlib import Path

from bot.demo import chapters
from bot.demo.sandbox import start_sandbox
from bot.slack.sandbox.transcript import Transcript


def chapter_modules() -> list[str]:
    """Chapters run in name order (`c10_foundation`, `c20_checkin`, …)."""
    return sorted(m.name for m in pkgutil.iter_modules(chapters.__path__) if m.name.startswith("c"))


def run_demo(
    *, lang: str = "en", interactive: bool = False, llm: str = "offline", out: Path = Path("demo-output")
) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="growthloop-demo-") as tmp:
        sb = start_sandbox(Path(tmp))
        sb.extra.update(lang=lang, out=out, llm=llm, interactive=interactive)
        tr = Transcript(sb.stub, lang=lang)
        tr.attach()
        sb.extra["transcript"] = tr
        try:
            for name in chapter_modules():
                mod = importlib.import_module(f"{chapters.__name__}.{name}")
                tr.say("")
                tr.say("━" * 100)
                tr.say(f"■ {mod.TITLE[lang] if isinstance(mod.TITLE, dict) else mod.TITLE}")
                tr.say("━" * 100)
                mod.play(sb, tr)
            if interactive:
                from bot.demo.interactive import repl

                repl(sb, tr)
        finally:
            sb.stop()
    print(f"\n演示结束。文件在 {out}/" if lang == "zh" else f"\nDemo finished. Files are in {out}/")
    return 0
