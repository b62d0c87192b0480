"""The gap model's training sentences are written for training only: none is copied from an evaluation set.

Checked by the longest common substring between each training sentence and every answer of every labelled
transcript set (tests/data/transcripts*.jsonl, the blind sets included). Short shared phrases are normal
("the night before", "跟不上"); a long one means a sentence was copied or closely paraphrased.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRAINING = ROOT / "knowledge" / "data" / "gap_training.jsonl"
MAX_SHARED = {"en": 39, "zh": 13}  # characters; the longest shared runs today are 34 (en) and 11 (zh)


def _longest_shared(sentence: str, corpus: str) -> int:
    lo, hi = 0, len(sentence)
    while lo < hi:  # binary search: a shared run of length n implies one of every shorter length
        mid = (lo + hi + 1) // 2
        if any(sentence[i : i + mid] in corpus for i in range(len(sentence) - mid + 1)):
            lo = mid
        else:
            hi = mid - 1
    return lo


def test_no_training_sentence_is_copied_from_an_evaluation_transcript() -> None:
    answers = [
        a["text"]
        for path in sorted((ROOT / "tests" / "data").glob("transcripts*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
        for a in json.loads(line)["answers"]
    ]
    corpus = "\x00".join(answers)
    rows = [json.loads(line) for line in TRAINING.read_text(encoding="utf-8").splitlines() if line.strip()]
    too_long = [
        (n, length)
        for n, r in enumerate(rows, start=1)
        if (length := _longest_shared(r["text"], corpus)) > MAX_SHARED[r["language"]]
    ]
    # Only line numbers and lengths: the message must not print the evaluation text.
    assert not too_long, f"training lines sharing a long run with an evaluation transcript: {too_long}"


def test_training_rows_are_well_formed() -> None:
    from knowledge.competencies import load_competency_model

    ids = set(load_competency_model().ids)
    rows = [json.loads(line) for line in TRAINING.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["text"] for r in rows]
    assert len(texts) == len(set(texts)), "duplicate training sentences"
    for r in rows:
        assert (
            r["label"] in {"gap", "not_gap"}
            and r["language"] in {"en", "zh"}
            and r["author"] in {"employee", "manager"}
        )
        assert r["competency"] in ids or (r["competency"] is None and r["label"] == "not_gap")
