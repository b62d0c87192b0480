"""Tokenizers for the lexical index: English words (lowercased, light stemming) and Chinese words (jieba).

Mixed text is split into runs of CJK and non-CJK characters, each tokenized in its own way, so a Chinese
sentence with an English term ("用 SQL 做分析") keeps both.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import threading
from array import array
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge.shipped_vectors import UNREADABLE, save_npz

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[A-Za-z0-9][A-Za-z0-9'+#-]*")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_LATIN = re.compile(r"[A-Za-z]")

EN_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "on",
        "once",
        "only",
        "or",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "get",
        "got",
        "gets",
        "getting",
        "want",
        "wants",
        "wanted",
        "really",
        "also",
        "more",
        "most",
        "much",
        "many",
        "lot",
        "lots",
        "always",
        "every",
        "someone",
        "something",
        "thing",
        "things",
        "way",
        "ways",
        "better",
        "good",
        "make",
        "makes",
        "making",
        "i'm",
        "i've",
        "don't",
        "doesn't",
    ]
)
ZH_STOP = frozenset(
    [
        "的",
        "了",
        "和",
        "是",
        "在",
        "我",
        "我们",
        "你",
        "你们",
        "他",
        "她",
        "他们",
        "它",
        "也",
        "就",
        "都",
        "而",
        "及",
        "与",
        "或",
        "一个",
        "没有",
        "不",
        "很",
        "会",
        "要",
        "把",
        "被",
        "让",
        "给",
        "这",
        "那",
        "这个",
        "那个",
        "这些",
        "那些",
        "怎么",
        "怎样",
        "如何",
        "什么",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "着",
        "过",
        "还",
        "又",
        "对",
        "从",
        "向",
        "到",
        "于",
        "上",
        "下",
        "中",
        "里",
        "时",
        "时候",
        "总是",
        "总",
        "每次",
        "一些",
        "有",
        "能",
        "可以",
        "该",
        "应该",
        "想",
        "自己",
        "更",
        "最",
        "好",
        "多",
        "一下",
        "如果",
        "因为",
        "所以",
        "但是",
        "但",
        "然后",
    ]
)
_SUFFIXES = (
    "ational",
    "ization",
    "fulness",
    "iveness",
    "ations",
    "ation",
    "ments",
    "ment",
    "ness",
    "ings",
    "ing",
    "ies",
    "ied",
    "edly",
    "ed",
    "ers",
    "er",
    "ly",
    "es",
    "s",
)

log = logging.getLogger(__name__)

_jieba_lock = threading.Lock()


def _word_key(word: str) -> int:
    """A 64-bit key of a dictionary word: blake2b of its UTF-8 bytes, the same in every process."""
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little",
                          signed=True)


class CompactFrequencies:
    """jieba's word → frequency table, with the 0-frequency prefixes its segmenter walks, in two sorted arrays.

    jieba keeps the table as a dict of 498 000 strings: ~57 MB of every process's RSS (a fifth of `serve`).
    Here it is 64-bit keys and counts, ~8 MB; a lookup costs ~1.5 µs instead of ~0.4 µs, ~0.1 ms for a query.
    The segmenter reads the table only through `in`, `[]` and `.get`, which this answers exactly as the dict
    (a false hit would need two of the words' 64-bit keys to collide).
    """

    def __init__(self, keys: np.ndarray, counts: np.ndarray) -> None:
        self._keys, self._counts = keys, counts

    @classmethod
    def from_dictionary(cls, lines: Iterable[bytes]) -> tuple[CompactFrequencies, int]:
        """Read a jieba dictionary (`word freq [tag]` per line); returns the table and the total frequency.

        As jieba's own loader: a word listed twice keeps its last frequency, and every prefix of a word that is
        not itself a word is present with frequency 0."""
        keys, counts, is_word = array("q"), array("q"), array("b")
        total = 0
        for lineno, raw in enumerate(lines, 1):
            line = raw.strip().decode("utf-8")
            if not line:
                continue
            try:
                word, freq_text = line.split(" ")[:2]
                freq = int(freq_text)
            except ValueError:
                raise ValueError(f"invalid jieba dictionary entry at line {lineno}: {line}") from None
            total += freq
            keys.append(_word_key(word))
            counts.append(freq)
            is_word.append(1)
            for end in range(1, len(word)):
                keys.append(_word_key(word[:end]))
                counts.append(0)
                is_word.append(0)
        k, c, w = (np.frombuffer(a, dtype) for a, dtype in ((keys, np.int64), (counts, np.int64), (is_word, np.int8)))
        order = np.lexsort((np.arange(len(k)), w, k))  # by key, then prefix before word, then line order
        k, c = k[order], c[order]
        last = np.ones(len(k), bool)
        last[:-1] = k[1:] != k[:-1]  # the last entry of each key: its last word line, else a prefix (0)
        return cls(k[last].copy(), c[last].copy()), total

    @classmethod
    def cached(cls, dictionary: Path) -> tuple[CompactFrequencies, int]:
        """The table of `dictionary`, read from a cache in the temp dir (as jieba caches its own) or built once
        (~1.4 s) and cached for the next process."""
        stat = dictionary.stat()
        cache = Path(tempfile.gettempdir()) / f"growthloop-jieba-v1-{stat.st_size}-{int(stat.st_mtime)}.npz"
        try:
            with np.load(cache) as z:
                return cls(z["keys"], z["counts"]), int(z["total"])
        except UNREADABLE:
            pass
        with dictionary.open("rb") as fh:
            table, total = cls.from_dictionary(fh)
        try:
            save_npz(cache, keys=table._keys, counts=table._counts, total=np.int64(total))
        except OSError:
            log.debug("could not cache the jieba table in %s", cache.parent, exc_info=True)
        return table, total

    def _find(self, word: str) -> int:
        key = _word_key(word)
        i = int(self._keys.searchsorted(key))
        return i if i < len(self._keys) and self._keys[i] == key else -1

    def get(self, word: str, default: int | None = None) -> int | None:
        i = self._find(word)
        return int(self._counts[i]) if i >= 0 else default

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._find(word) >= 0

    def __getitem__(self, word: str) -> int:
        i = self._find(word)
        if i < 0:
            raise KeyError(word)
        return int(self._counts[i])

    def __len__(self) -> int:
        return len(self._keys)


_tokenizer = None


def _jieba():  # type: ignore[no-untyped-def]
    """The process's jieba segmenter over its default dictionary, held in a `CompactFrequencies` table (built once,
    however many threads ask for it first)."""
    global _tokenizer
    if _tokenizer is None:
        with _jieba_lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.FREQ, tokenizer.total = CompactFrequencies.cached(Path(jieba.__file__).with_name("dict.txt"))
                tokenizer.initialized = True  # jieba's own initialize() would load the dict version of the table
                _tokenizer = tokenizer
    return _tokenizer


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """A light English stemmer: strip one common suffix while keeping a stem of at least 3 letters."""
    w = word.replace("'", "")
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            w = w[: -len(suf)]
            if suf in ("ies", "ied"):
                w += "y"
            break
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "lsz":  # planning → plann → plan
        w = w[:-1]
    return w


def names_a_topic(text: str) -> bool:
    """Whether `text` has a word or number at all (empty, spaces, only emoji or punctuation name no topic)."""
    return any(ch.isalnum() for ch in text or "")


def tokenize(text: str) -> list[str]:
    """Lexical tokens of `text` in either language (stop words dropped)."""
    out: list[str] = []
    for run in _RUNS.findall((text or "")[:20_000]):
        if _CJK_CHAR.match(run):
            for tok in _jieba().lcut_for_search(run):
                if tok not in ZH_STOP and tok.strip():
                    out.append(tok)
        else:
            low = run.lower().strip("'-")
            if low and low not in EN_STOP and not low.isdigit():
                out.append(stem(low))
    return out


def detect_language(text: str) -> str | None:
    """'zh' when CJK characters dominate, 'en' when Latin letters do, None when there is no signal."""
    cjk = len(_CJK_CHAR.findall(text or ""))
    latin = len(_LATIN.findall(text or ""))
    if cjk == 0 and latin == 0:
        return None
    return "zh" if cjk * 3 >= latin else "en"


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])")


def sentences(text: str) -> list[str]:
    """The sentences of `text` (English or Chinese end punctuation), stripped, empty ones dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text or "") if s.strip()]
