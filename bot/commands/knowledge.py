"""`growthloop knowledge ingest|search|rebuild` (see CONTRACT.md)."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import typer

knowledge_app = typer.Typer(no_args_is_help=True, help="The micro-course catalog and its search index.")


def require_chroma(url: str | None) -> None:
    """With CHROMA_URL set, fail with one line when nothing answers there (Chroma's client raises deep inside)."""
    if not url:
        return
    from urllib.parse import urlsplit

    from bot.cli import fail

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=5):
            pass
    except OSError as exc:
        fail(f"cannot reach the Chroma server at CHROMA_URL ({exc.strerror or exc}); unset it for the embedded index")


def _kb():  # type: ignore[no-untyped-def]
    from bot.cli import _settings
    from bot.services import build_services
    from knowledge.base import KnowledgeBase

    services = build_services(_settings(), migrate=True)
    require_chroma(services.settings.chroma_url)
    return KnowledgeBase.from_settings(services.settings, services.engine)


@knowledge_app.command("ingest")
def ingest(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),  # noqa: B008
           replace: bool = typer.Option(False, "--replace", help="Drop courses that are not in FILE.")) -> None:
    """Load courses from JSONL or CSV (upsert by id; a bad line is reported and nothing is written)."""
    from bot.cli import fail
    from knowledge.catalog import MAX_REPORTED, CatalogError, read_catalog

    try:
        records = read_catalog(file)
    except CatalogError as exc:
        if len(exc.all) == 1:
            fail(f"{file}: {exc}; nothing was written")
        else:
            more = " or more" if len(exc.all) >= MAX_REPORTED else ""
            lines = "\n".join(f"  {file}:{e.line}: {e.reason}" for e in exc.all)
            fail(f"{file}: {len(exc.all)}{more} bad lines; nothing was written:\n{lines}")
        return
    except UnicodeDecodeError as exc:  # a catalog saved as GBK or UTF-16, say: name the line, not a traceback
        line = file.read_bytes()[: exc.start].count(b"\n") + 1
        fail(f"{file}: line {line}: not UTF-8 text (save the file as UTF-8); nothing was written")
        return
    if not records:  # a file emptied by mistake (an export that failed): never the way to drop the whole catalog
        if replace:
            fail(f"{file}: no courses in the file; --replace would remove every course of the catalog, so nothing "
                 "was changed")
        else:
            typer.echo(f"{file}: no courses in the file; nothing was loaded")
        return
    kb = _kb()
    if sys.stdout.isatty():
        from rich.progress import Progress

        with Progress(transient=False) as bar:
            task = bar.add_task("embedding", total=None)
            report = kb.ingest(records, replace=replace, progress=lambda n: bar.update(task, advance=n))
    else:
        report = kb.ingest(records, replace=replace)
    courses = f"{len(records)} course{'' if len(records) == 1 else 's'}"
    typer.echo(f"{courses} in {file.name}: {report.added} added, {report.changed} changed, "
               f"{report.unchanged} unchanged, {report.removed} removed; {report.embedded} embedded")


MAX_K = 1000  # a larger --k is read as this (and a catalog smaller than k gives all it has)


@knowledge_app.command("search")
def search(text: str = typer.Argument(...), k: int = typer.Option(5, "--k", min=1),
           lang: str | None = typer.Option(None, "--lang", help="en or zh: only courses in that language"),
           as_json: bool = typer.Option(False, "--json", help="A JSON array, best first.")) -> None:
    """Hybrid search over the catalog."""
    from bot.cli import fail
    from knowledge.retrieval import Filters
    from knowledge.text import names_a_topic

    lang = lang.strip().lower() if lang else None
    if lang not in (None, "en", "zh"):
        fail("--lang must be en or zh")
    if not names_a_topic(text):
        typer.echo("[]" if as_json else "nothing to search for: give a topic in words, e.g. \"giving feedback\"")
        if as_json:
            typer.echo("nothing to search for: the query has no words", err=True)
        return
    kb = _kb()
    kb.ensure_seeded()
    hits = kb.search(text, min(k, MAX_K), filters=Filters(language=lang))
    if as_json:
        rows = [{"id": h.course.id, "title": h.course.title, "score": round(h.score, 6), "language": h.course.language,
                 "competencies": list(h.course.competencies), "duration_minutes": h.course.duration_minutes,
                 "format": h.course.format, "url": h.course.url} for h in hits]
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    if hits and kb.covers(text) is False:  # still listed (the caller asked), but said plainly
        typer.echo(f"nothing in the catalog is about \"{text[:80]}\"; the nearest courses:")
    for n, h in enumerate(hits, 1):
        typer.echo(f"{n}. {h.course.title}  [{h.course.id}, {h.course.duration_minutes} min, {h.course.format}]"
                   f"  score {h.score:.4f}")
    if not hits:
        typer.echo("no courses")


@knowledge_app.command("rebuild")
def rebuild() -> None:
    """Re-embed every course of the store into a fresh vector index."""
    kb = _kb()
    n = kb.rebuild()
    typer.echo(f"index rebuilt: {n} courses embedded")


def register(app: typer.Typer) -> None:
    app.add_typer(knowledge_app, name="knowledge")
