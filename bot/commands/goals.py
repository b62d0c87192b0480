"""`growthloop capabilities load FILE` and `growthloop gaps [--team NAME] [--format text|csv|png] [--out PATH]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

capabilities_app = typer.Typer(no_args_is_help=True, help="The strategy → capability → role map.")


@capabilities_app.command("load")
def load(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Validate FILE and make it the active capability map (on any error the previous map stays in force)."""
    from bot.capabilities import load_map
    from bot.cli import _settings, fail
    from bot.services import build_services
    from knowledge.capability_map import CapabilityMapError

    services = build_services(_settings())
    try:
        done = load_map(services, text=file.read_text(encoding="utf-8"), source=file.name)
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text; the previous map stays in force")
        return
    except CapabilityMapError as exc:
        typer.echo(f"error: {file} was rejected; the previous map stays in force:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {file.name}:{problem.line}: {problem.reason}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"loaded {file.name} as map version {done.version_id}: {done.priorities} priorities, "
               f"{done.capabilities} capabilities, {done.roles} roles")


def register(app: typer.Typer) -> None:
    app.add_typer(capabilities_app, name="capabilities")

    @app.command()
    def gaps(
        team: Annotated[str | None, typer.Option("--team", help="One team (default: everyone)")] = None,
        fmt: Annotated[str, typer.Option("--format", help="text, csv or png")] = "text",
        out: Annotated[Path | None, typer.Option("--out", help="Write here (png: ./growthloop-gaps.png).")] = None,
        lang: Annotated[str | None, typer.Option("--lang", help="en or zh (default: the default locale)")] = None,
    ) -> None:
        """Capability gaps by role and capability: required vs current level, and the learning themes."""
        run_gaps(team=team, fmt=fmt, out=out, lang=lang)


def run_gaps(*, team: str | None, fmt: str, out: Path | None, lang: str | None) -> None:
    """`growthloop gaps` (also `growthloop report --gaps`)."""
    from bot.cli import _settings, fail
    from bot.gap_analysis import compute_gaps
    from bot.gap_chart import render_png
    from bot.gap_render import render_csv, render_text
    from bot.services import build_services

    if fmt not in ("text", "csv", "png"):
        fail("--format must be text, csv or png")
    if lang not in (None, "en", "zh"):
        fail("--lang must be en or zh")
    settings = _settings()
    locale = lang or settings.growthloop_default_locale
    try:
        report = compute_gaps(build_services(settings), team=team, language=locale)
    except ValueError as exc:
        fail(str(exc))
        return
    if fmt == "png":
        typer.echo(f"wrote {render_png(report, out or Path('growthloop-gaps.png'))}")
        return
    body = render_text(report, locale).replace("*", "") if fmt == "text" else render_csv(report)
    if out is None:
        typer.echo(body, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(body, encoding="utf-8")
        typer.echo(f"wrote {out}")
