"""Development-point detection: precision / recall / F1 on the labelled transcripts, beside simple baselines.

Two sets: `transcripts.jsonl` (seen while the gap lexicon was written) and `transcripts_holdout.jsonl`
(written by someone who never saw the detector; the honest number). A point counts when its competency matches
a labelled gap and its evidence overlaps the labelled evidence.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devpoints_eval import DATA, EMPLOYEE, as_answers, evaluate, load_transcripts  # noqa: E402

from bot.coach.base import PointDraft  # noqa: E402
from bot.coach.gaps import sentences  # noqa: E402
from bot.coach.offline import CompetencyMatcher, OfflineCoach  # noqa: E402

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


def main() -> None:
    sets = {"dev (seen)": load_transcripts(DATA)}
    holdout = DATA.with_name("transcripts_holdout.jsonl")
    if holdout.exists():
        sets["held-out"] = load_transcripts(holdout)
    cue_only = OfflineCoach(embed=None)
    rules_e5 = OfflineCoach(learned=False)
    full = OfflineCoach()
    methods = {
        "naive keywords (baseline)": naive_baseline(cue_only.matcher),
        "gap rules + cues": cue_only.find_points,
        "gap rules + cues + e5": rules_e5.find_points,
        "learned classifier + rules (shipped)": full.find_points,
    }
    print(f"{'set':12} {'lang':4} {'method':36} {'P':>5} {'R':>5} {'F1':>5}   competency-only F1")
    for set_name, transcripts in sets.items():
        for lang in ("en", "zh", "all"):
            sub = [t for t in transcripts if lang == "all" or t["language"] == lang]
            for name, fn in methods.items():
                s = evaluate(fn, sub)
                c = evaluate(fn, sub, need_evidence=False)
                print(f"{set_name:12} {lang:4} {name:36} {s.precision:5.2f} {s.recall:5.2f} {s.f1:5.2f}   {c.f1:5.2f}")
    t0 = time.perf_counter()
    allt = [t for ts in sets.values() for t in ts]
    for t in allt:
        full.find_points(as_answers(t), EMPLOYEE)
    per = (time.perf_counter() - t0) / len(allt) * 1000
    print(f"\nlatency: {per:.1f} ms per check-in (shipped method, {len(allt)} transcripts, warm)")


if __name__ == "__main__":
    main()
