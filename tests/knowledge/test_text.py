"""The Chinese segmenter: jieba over a compact copy of its dictionary, segmenting exactly as stock jieba does."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import jieba
import numpy as np
import pytest

from knowledge import text
from knowledge.text import CompactFrequencies

ROOT = Path(__file__).resolve().parents[2]
_HAN = re.compile(r"[\u4e00-\u9fff]+")


def _chinese_runs() -> list[str]:
    runs: list[str] = []
    for path in sorted([*ROOT.glob("tests/data/*.jsonl"), *ROOT.glob("knowledge/data/*.jsonl")]):
        runs += _HAN.findall(path.read_text(encoding="utf-8"))
    return runs


def test_segments_every_chinese_text_we_have_as_stock_jieba_does() -> None:
    stock = jieba.Tokenizer()
    stock.initialize()
    ours = text._jieba()
    runs = _chinese_runs()
    assert len(runs) > 3000  # catalog, situations, labelled queries and transcripts
    assert ours.total == stock.total and len(ours.FREQ) == len(stock.FREQ)
    assert [ours.lcut_for_search(r) for r in runs] == [stock.lcut_for_search(r) for r in runs]
    assert [ours.lcut(r) for r in runs[::7]] == [stock.lcut(r) for r in runs[::7]]
    assert text.tokenize("我接下来该学什么？") == ["接下", "下来", "接下来", "该学"]


def test_the_table_answers_like_jiebas_dict() -> None:
    lines = ["反馈 300 n", "反馈意见 20 n", "同事 500 n", "反馈 40 n", "", "意见 90 n"]
    table, total = CompactFrequencies.from_dictionary(line.encode() for line in lines)
    assert total == 300 + 20 + 500 + 40 + 90
    assert table.get("反馈") == 40  # a word listed twice keeps its last frequency
    assert table["反馈意"] == 0 and "反馈意" in table and table.get("反") == 0  # prefixes, frequency 0
    assert table.get("意见") == 90 and table.get("见") is None and "见" not in table and 3 not in table
    assert len(table) == len({"反馈", "反馈意见", "同事", "意见", "反", "反馈意", "同", "意"})
    with pytest.raises(KeyError):
        table["不在"]


def test_a_bad_dictionary_line_is_named() -> None:
    with pytest.raises(ValueError, match="line 2"):
        CompactFrequencies.from_dictionary([b"ok 1 n", b"broken-line-without-count"])


def test_the_cache_is_reused_and_a_damaged_one_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text.tempfile, "gettempdir", lambda: str(tmp_path))
    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("学习 10 v\n学习计划 3 n\n", encoding="utf-8")
    first, total = CompactFrequencies.cached(dictionary)
    (cache,) = tmp_path.glob("growthloop-jieba-*.npz")
    with np.load(cache) as z:
        assert len(z["keys"]) == len(first) == 4 and int(z["total"]) == total == 13
    cache.write_bytes(b"not an npz file")
    again, total = CompactFrequencies.cached(dictionary)
    assert again.get("学习计划") == 3 and again.get("学习计") == 0 and total == 13


def test_serving_slack_loads_neither_matplotlib_nor_jiebas_dict() -> None:
    """The two took ~85 MB of every `serve` process; charts import matplotlib when one is drawn."""
    probe = (
        "import os, sys, tempfile\n"
        "os.environ['GROWTHLOOP_DATA_DIR'] = tempfile.mkdtemp()\n"
        "os.environ.pop('DATABASE_URL', None)\n"
        "os.environ.setdefault('SLACK_BOT_TOKEN', 'xoxb-probe')\n"
        "os.environ.setdefault('SLACK_SIGNING_SECRET', 'probe-secret')\n"
        "from bot.settings import load_settings\n"
        "from bot.runtime import prepare\n"
        "from bot.slack.app import build_app\n"
        "from knowledge import text\n"
        "settings = load_settings()\n"
        "build_app(settings, prepare(settings))\n"
        "text.tokenize('我接下来该学什么')\n"
        "import jieba\n"
        "print('matplotlib' in sys.modules, len(jieba.dt.FREQ))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["False", "0"]
