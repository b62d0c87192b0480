"""The `growthloop` command line (see CONTRACT.md)."""

from __future__ import annotations

import errno
import logging
import sys
from pathlib import Path

import typer

from bot.settings import SettingsError, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="GrowthLoop: check-in → development → learning.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
people_app = typer.Typer(no_args_is_help=True, help="People (the org chart).")
person_app = typer.Typer(no_args_is_help=True, help="One person's data.")
app.add_typer(db_app, name="db")
app.add_typer(people_app, name="people")
app.add_typer(person_app, name="person")


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings():  # type: ignore[no-untyped-def]
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))


@app.command()
def serve(
    http: bool = typer.Option(False, "--http", help="HTTP mode even when SLACK_APP_TOKEN is set."),
    host: str = typer.Option("0.0.0.0", "--host"),
    port: int = typer.Option(3000, "--port"),
    no_scheduler: bool = typer.Option(False, "--no-scheduler", help="Do not run the scheduler in this process."),
) -> None:
    """Run the bot (Socket Mode when SLACK_APP_TOKEN is set, else HTTP). Applies migrations first."""
    from bot.runtime import run_serve

    settings = _settings()
    try:
        settings.require_slack()
    except SettingsError as exc:
        fail(str(exc))
    from bot.commands.knowledge import require_chroma

    require_chroma(settings.chroma_url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run_serve(settings, http=http, host=host, port=port, scheduler=not no_scheduler)
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        fail(f"cannot listen on {host}:{port}: {exc.strerror} (choose another --port)")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations to head."""
    from bot.services import build_services

    settings = _settings()
    build_services(settings, migrate=True)
    typer.echo("database is at the latest migration")


@people_app.command("import")
def people_import(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True)) -> None:
    """Upsert people from a CSV (all rows or none)."""
    from bot.people import ImportError_, decode_people_file, import_people
    from bot.runtime import offline_directory
    from bot.services import build_services

    services = build_services(_settings())
    services.directory = offline_directory(services.settings)
    try:
        n = import_people(services, decode_people_file(file.read_bytes()))
    except ImportError_ as exc:
        fail(f"{file}: {exc}; nothing was written")
    typer.echo(f"imported {n} {'person' if n == 1 else 'people'}")


@app.command()
def demo(
    lang: str = typer.Option("en", "--lang", help="en or zh"),
    interactive: bool = typer.Option(False, "--interactive"),
    llm: str = typer.Option("offline", "--llm", help="offline, or stub (a local OpenAI-compatible stub)"),
    out: Path = typer.Option(Path("demo-output"), "--out", help="Where the demo writes its files (PNG, CSV)."),
) -> None:
    """Run the whole loop against the loopback Slack sandbox in a temporary data dir."""
    from bot.demo.run import run_demo

    if lang not in ("en", "zh"):
        fail("--lang must be en or zh")
    sys.exit(run_demo(lang=lang, interactive=interactive, llm=llm, out=out))


def _load_command_modules() -> None:
    """Each module in `bot/commands/` adds its commands with `register(app)` (knowledge, report, export, …)."""
    import importlib
    import pkgutil

    from bot import commands

    for m in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{m.name}")
        if hasattr(module, "register"):
            module.register(app)


_load_command_modules()


def main() -> None:
    from sqlalchemy.exc import OperationalError

    try:
        app()
    except OperationalError as exc:  # the store is unreachable: one line (never the URL, it may hold a password)
        reason = str(exc.orig or exc).strip().splitlines()[0]
        typer.echo(f"error: cannot use the database (DATABASE_URL, else GROWTHLOOP_DATA_DIR): {reason}", err=True)
        sys.exit(3)
    except SettingsError as exc:  # found after start-up (the data directory cannot be created, say)
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
