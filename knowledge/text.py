"""Tokenizers for the lexical index: English words (lowercased, light stemming) and Chinese words (jieba).

Mixed text is split into runs of CJK and non-CJK characters, each tokenized in its own way, so a Chinese
sentence with an English term ("用 SQL 做分析") keeps both.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

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

_jieba_lock = threading.Lock()


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _jieba_lock:
        jieba.initialize()
    return jieba


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
