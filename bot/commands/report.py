"""`growthloop report [--format text|csv|png] [--out PATH] [--lang en|zh]`: the HR metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        fmt: Annotated[str, typer.Option("--format", help="text, csv or png")] = "text",
        out: Annotated[Path | None, typer.Option("--out", help="Write here (png: ./growthloop-report.png).")] = None,
        lang: Annotated[str | None, typer.Option("--lang", help="en or zh (default: the default locale)")] = None,
        gaps: Annotated[bool, typer.Option("--gaps", help="The team capability-gap analysis instead.")] = False,
        team: Annotated[str | None, typer.Option("--team", help="With --gaps: one team.")] = None,
    ) -> None:
        """HR metrics for the current cycle and the four before it (or the last five months)."""
        if gaps:
            from bot.commands.goals import run_gaps

            run_gaps(team=team, fmt=fmt, out=out, lang=lang)
            return
        from bot.analytics import compute_report, render_csv, render_png, render_text
        from bot.cli import _settings, fail
        from bot.services import build_services

        if fmt not in ("text", "csv", "png"):
            fail("--format must be text, csv or png")
        if lang is not None and lang not in ("en", "zh"):
            fail("--lang must be en or zh")
        settings = _settings()
        data = compute_report(build_services(settings))  # migrates; no knowledge index needed
        target = out or Path("growthloop-report.png")
        try:
            if fmt == "png":
                typer.echo(f"wrote {render_png(data, target)}")
                return
            body = render_text(data, lang or settings.growthloop_default_locale) if fmt == "text" else render_csv(data)
            if out is None:
                typer.echo(body, nl=False)
                return
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(body, encoding="utf-8")
        except OSError as exc:  # --out is a directory or read-only: one clear line, not a traceback
            fail(f"cannot write {target}: {exc.strerror or exc}")
        typer.echo(f"wrote {out}")
