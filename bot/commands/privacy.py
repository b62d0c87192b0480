"""`growthloop export` and `growthloop person forget`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    from bot.cli import _settings

    # The sub-app of *this* `app` (under `python -m bot.cli` the CLI module is `__main__`, not `bot.cli`).
    person_app = next(g.typer_instance for g in app.registered_groups if g.name == "person")

    @app.command("export")
    def export(
        person: str = typer.Option(None, "--person", help="Only this person's records (Slack id)."),
        out: Path = typer.Option(None, "--out", help="Write to this file instead of stdout."),
    ) -> None:
        """Export records as JSON Lines (one record per line with a `type`)."""
        from bot.cli import fail
        from bot.privacy import person_exists, write_export
        from bot.services import build_services

        services = build_services(_settings())
        if person is not None and not person_exists(services, person):
            fail(f"no person {person}", code=1)
        if out:
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                with out.open("w", encoding="utf-8") as fh:
                    n = write_export(services, fh, person=person)
            except OSError as exc:
                fail(f"cannot write {out}: {exc.strerror or exc}")
            typer.echo(f"wrote {n} records to {out}", err=True)
        else:
            write_export(services, sys.stdout, person=person)

    @person_app.command("forget")
    def forget(slack_id: str = typer.Argument(..., help="The Slack id of the person to forget.")) -> None:
        """Erase one person's personal data; anonymous aggregates stay."""
        from bot.privacy import forget_person
        from bot.services import build_services

        slack_id = slack_id.strip()
        if not slack_id:
            typer.echo("error: give the Slack id of the person to forget (`growthloop person forget U012AB`)", err=True)
            raise typer.Exit(2)
        counts = forget_person(build_services(_settings()), slack_id=slack_id, actor="cli")
        if not counts:
            typer.echo(f"error: no person {slack_id} in the store (nothing was changed)", err=True)
            raise typer.Exit(1)
        typer.echo("erased: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
