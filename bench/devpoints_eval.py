"""Shared evaluation of development-point detection on tests/data/transcripts.jsonl."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "transcripts.jsonl"
EMPLOYEE, MANAGER = "U_EMPLOYEE", "U_MANAGER"


def load_transcripts(path: Path = DATA) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def as_answers(t: dict) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(
            text=a["text"],
            author_slack_id=EMPLOYEE if a["author"] == "employee" else MANAGER,
            question_id=a["question_id"],
        )
        for a in t["answers"]
    ]


def _overlap(a: str, b: str) -> bool:
    return a in b or b in a


def _evidence_matches(gold: dict, predicted: str) -> bool:
    """The labelled evidence, or one of its `alt_evidence` sentences (the same point said twice), overlaps."""
    return any(_overlap(e, predicted) for e in (gold["evidence"], *gold.get("alt_evidence", [])))


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(find_points, transcripts: list[dict], *, need_evidence: bool = True) -> Score:  # type: ignore[no-untyped-def]
    """A predicted point is right when its competency matches a gold gap (and its evidence overlaps it)."""
    score = Score()
    for t in transcripts:
        gold = list(t["gaps"])
        for p in find_points(as_answers(t), EMPLOYEE):
            hit = next(
                (
                    g
                    for g in gold
                    if g["competency"] == p.competency and (not need_evidence or _evidence_matches(g, p.evidence))
                ),
                None,
            )
            if hit is not None:
                score.tp += 1
                gold.remove(hit)
            else:
                score.fp += 1
        score.fn += len(gold)
    return score


def competency_accuracy(coach, transcripts: list[dict]) -> tuple[int, int, list[tuple[str, str, str]]]:  # type: ignore[no-untyped-def]
    """How often the learned path's competency is right on the labelled gap sentences themselves, whether or not
    they would pass the gap threshold: (right, total, [(gold, predicted, evidence) for the wrong ones])."""
    right, total, wrong = 0, 0, []
    ids = coach.matcher.model.ids
    for t in transcripts:
        scored = coach.score_candidates(as_answers(t), EMPLOYEE)
        if scored is None:
            continue
        for g in t["gaps"]:
            rows = [i for i, c in enumerate(scored.cands) if _evidence_matches(g, c.sentence)]
            if not rows:
                continue
            total += 1
            i = max(rows, key=lambda r: scored.post[r].max())
            pred = ids[int(scored.post[i].argmax())]
            if pred == g["competency"]:
                right += 1
            else:
                wrong.append((g["competency"], pred, scored.cands[i].sentence))
    return right, total, wrong
