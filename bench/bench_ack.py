"""The acknowledgement line's cost per answer (bot/coach/acknowledge.py), on every answer of the labelled
transcripts, each seen for the first time (the lexicon scan is cached per sentence), and how the tones spread.

    .venv/bin/python bench/bench_ack.py
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.coach import gaps  # noqa: E402
from bot.coach.acknowledge import acknowledgement, answer_tone  # noqa: E402


def main() -> None:
    texts: list[str] = []
    for path in sorted((ROOT / "tests" / "data").glob("transcripts*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts += [a["text"] for a in json.loads(line)["answers"] if a.get("author", "employee") == "employee"]
    acknowledgement("warm up", "en")
    times = []
    for text in texts:
        gaps._scan.cache_clear()
        t0 = time.perf_counter()
        acknowledgement(text, "zh" if gaps._is_zh(text) else "en")
        times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    print(f"{len(texts)} employee answers: acknowledgement p50 {times[len(times) // 2]:.0f} µs, "
          f"p95 {times[int(len(times) * 0.95)]:.0f} µs, max {times[-1]:.0f} µs (cold lexicon cache)")
    tones = Counter(answer_tone(t).value for t in texts)
    print("tones: " + ", ".join(f"{k} {v}" for k, v in tones.most_common()))


if __name__ == "__main__":
    main()
