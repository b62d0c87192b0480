"""Retrieval metrics over the labelled query set (`tests/data/retrieval_queries.jsonl`).

nDCG@k uses gains 2^grade − 1 and a log2 discount, with the ideal ranking built from all labelled courses;
Recall@k counts every labelled course (grade ≥ 1) as relevant.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

QUERIES = Path(__file__).resolve().parent.parent / "tests" / "data" / "retrieval_queries.jsonl"


@dataclass(frozen=True)
class LabelledQuery:
    id: str
    query: str
    language: str
    kind: str
    relevant: dict[str, int]

    @property
    def cross_language(self) -> bool:
        """A query whose best (grade 3) courses include one in the other language."""
        return any(g == 3 and not cid.endswith("-" + self.language) for cid, g in self.relevant.items())

    @property
    def dev_split(self) -> bool:
        """Odd-numbered queries form the tuning split; even-numbered ones are held out."""
        return int(self.id.rsplit("-", 1)[1]) % 2 == 1


def load_queries(path: Path = QUERIES) -> list[LabelledQuery]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(LabelledQuery(d["id"], d["query"], d["language"], d["kind"], dict(d["relevant"])))
    return out


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 5) -> float:
    dcg = sum((2 ** relevant.get(cid, 0) - 1) / math.log2(i + 2) for i, cid in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 5) -> float:
    rel = {cid for cid, g in relevant.items() if g > 0}
    return len(rel & set(ranked[:k])) / len(rel) if rel else 0.0


def evaluate(search: Callable[[str], list[str]], queries: Iterable[LabelledQuery], k: int = 5) -> dict[str, float]:
    """Mean nDCG@k and Recall@k of `search` (query text → ranked course ids) over `queries`."""
    qs = list(queries)
    if not qs:
        return {"ndcg": 0.0, "recall": 0.0, "n": 0}
    nd = rc = 0.0
    for q in qs:
        ranked = search(q.query)
        nd += ndcg_at(ranked, q.relevant, k)
        rc += recall_at(ranked, q.relevant, k)
    return {"ndcg": nd / len(qs), "recall": rc / len(qs), "n": len(qs)}
