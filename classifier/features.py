"""Features beside the encoder: hashed folded n-grams, engagement, and an embedding cache.

The n-grams are taken from folded text (core.text.fold), so a post typed without diacritics
gives exactly the features of its accented twin; data.md measured that folding costs a
TF-IDF model about half a point on accented text and saves it from collapsing on bare text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import tempfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifier.encoder import embed
from core.text import fold

log = logging.getLogger(__name__)

_TOKEN_RE = re.compile(r"\w+")
ENGAGEMENT_DIM = 4


@dataclass(frozen=True)
class NgramConfig:
    """How texts become hashed n-gram buckets."""

    buckets: int = 1 << 16
    max_n: int = 2
    # Tokens after this many are ignored: the encoder reads ~128-256 tokens anyway.
    max_tokens: int = 400

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NgramConfig:
        """Inverse of to_dict (unknown keys ignored)."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@lru_cache(maxsize=1 << 17)
def _word_crcs(word: str) -> tuple[bytes, int]:
    """A word's UTF-8 bytes and the CRC-32 of the word followed by a space."""
    raw = word.encode("utf-8")
    return raw, zlib.crc32(raw + b" ")


def gram_hashes(text: str, config: NgramConfig) -> list[int]:
    """CRC-32 of each folded word 1..max_n-gram of text (the n-grams joined by spaces).

    CRC-32 continues from a prefix's value, so a bigram's hash is the second word's bytes
    run on from the cached CRC of "first ": no string is joined or encoded per n-gram.
    """
    tokens = _TOKEN_RE.findall(fold(text))[: config.max_tokens]
    words = [_word_crcs(t) for t in tokens]
    crc = zlib.crc32
    hashes = [crc(raw) for raw, _ in words]
    if config.max_n >= 2:
        hashes += [crc(b[0], a[1]) for a, b in zip(words, words[1:], strict=False)]
    for n in range(3, config.max_n + 1):
        hashes += [
            crc(" ".join(tokens[i : i + n]).encode("utf-8")) for i in range(len(tokens) - n + 1)
        ]
    return hashes


def ngram_counts(text: str, config: NgramConfig) -> dict[int, int]:
    """Bucket -> count for the folded word 1..max_n-grams of text."""
    # CRC-32 is unsigned: % is the bucket for any count (a mask would equal it for powers of 2).
    return dict(Counter([h % config.buckets for h in gram_hashes(text, config)]))


@dataclass
class NgramBatch:
    """Flat EmbeddingBag inputs: bucket ids, per-row offsets and TF-IDF weights."""

    ids: torch.Tensor
    offsets: torch.Tensor
    weights: torch.Tensor

    def to(self, device: torch.device | str) -> NgramBatch:
        """The same batch on another device."""
        return NgramBatch(self.ids.to(device), self.offsets.to(device), self.weights.to(device))

    @staticmethod
    def concat(parts: Sequence[NgramBatch]) -> NgramBatch:
        """Rows of several batches one after another."""
        shift = np.cumsum([0] + [len(p.ids) for p in parts[:-1]])
        return NgramBatch(
            torch.cat([p.ids for p in parts]),
            torch.cat([p.offsets + int(s) for p, s in zip(parts, shift, strict=True)]),
            torch.cat([p.weights for p in parts]),
        )

    def rows(self, index: Sequence[int] | np.ndarray) -> NgramBatch:
        """A sub-batch of the given rows, in that order."""
        idx = np.asarray(index, dtype=np.int64)
        starts = self.offsets.numpy()
        ends = np.append(starts[1:], len(self.ids))
        lengths = ends[idx] - starts[idx]
        new_offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        # Position j of output row r reads input position starts[r] + j.
        flat = np.repeat(starts[idx] - new_offsets, lengths) + np.arange(lengths.sum())
        sel = torch.from_numpy(flat.astype(np.int64))
        return NgramBatch(
            self.ids[sel], torch.from_numpy(new_offsets[: len(idx)]), self.weights[sel]
        )


def document_frequencies(texts: Sequence[str], config: NgramConfig) -> np.ndarray:
    """How many texts contain each bucket."""
    df = np.zeros(config.buckets, dtype=np.int64)
    for text in texts:
        df[list(ngram_counts(text, config))] += 1
    return df


def idf_from_df(df: np.ndarray, n_docs: int) -> np.ndarray:
    """Smoothed inverse document frequency (scikit-learn's formula), float32."""
    return (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)


def ngram_batch(texts: Sequence[str], config: NgramConfig, idf: np.ndarray) -> NgramBatch:
    """TF-IDF rows (sublinear tf, L2-normalised) of texts as EmbeddingBag inputs."""
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    offsets = np.zeros(len(texts), dtype=np.int64)
    at = 0
    for row, text in enumerate(texts):
        offsets[row] = at
        counts = ngram_counts(text, config)
        buckets = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        values = (1.0 + np.log(tf)) * idf[buckets].astype(np.float64)
        norm = math.sqrt(float(values @ values)) or 1.0
        ids.append(buckets)
        weights.append(values / norm)
        at += len(buckets)
    return NgramBatch(
        torch.from_numpy(np.concatenate(ids) if ids else np.zeros(0, np.int64)),
        torch.from_numpy(offsets),
        torch.from_numpy((np.concatenate(weights) if weights else np.zeros(0)).astype(np.float32)),
    )


def engagement_vector(likes: Any = None, comments: Any = None, shares: Any = None) -> list[float]:
    """[log likes, log comments, log shares, known] scaled to ~0-2; zeros when unknown."""
    values: list[float] = []
    for raw in (likes, comments, shares):
        try:
            value = float(raw)
        except (TypeError, ValueError):
            value = float("nan")
        values.append(value)
    if all(math.isnan(v) for v in values):
        return [0.0] * ENGAGEMENT_DIM
    # log1p / 5: 150 likes -> 1.0; viral posts (1e4+) stay below 2.
    scaled = [math.log1p(max(v, 0.0)) / 5.0 if not math.isnan(v) else 0.0 for v in values]
    return [*scaled, 1.0]


# ------------------------------------------------------------------ embedding cache


def text_key(text: str) -> bytes:
    """The cache key of one model input."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest()


class EmbeddingCache:
    """Pooled encoder outputs on disk, keyed by text, so reruns skip the encoder.

    Shards are written every `flush_every` new texts, so an interrupted run keeps what it
    computed. The folder name must identify the encoder weights and the max length.
    """

    def __init__(self, directory: Path, *, flush_every: int = 512) -> None:
        self.directory = Path(directory)
        self.flush_every = flush_every
        self._vectors: dict[bytes, np.ndarray] = {}
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        for shard in sorted(self.directory.glob("part-*.npz")):
            with np.load(shard) as data:
                for key, vec in zip(data["keys"], data["vectors"], strict=True):
                    # numpy's S20 drops trailing NUL bytes; digests can end in them.
                    self._vectors[bytes(key).ljust(20, b"\x00")] = vec
        self._loaded = True

    def __len__(self) -> int:
        self._load()
        return len(self._vectors)

    def _flush(self, keys: list[bytes], vectors: np.ndarray) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        os.close(fd)
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=np.array(keys, dtype="S20"), vectors=vectors.astype(np.float32))
        name = f"part-{len(list(self.directory.glob('part-*.npz'))):05d}-{os.getpid()}.npz"
        os.replace(tmp, self.directory / name)

    def count_missing(self, texts: Sequence[str]) -> int:
        """How many distinct texts are not cached yet (0: get() needs no encoder)."""
        self._load()
        return len({k for k in map(text_key, texts) if k not in self._vectors})

    def get(
        self,
        texts: Sequence[str],
        model: Any,
        tokenizer: Any,
        *,
        max_length: int,
        batch_size: int = 32,
        progress: bool = True,
    ) -> np.ndarray:
        """Embeddings of texts (computing and storing the missing ones), float32 [n, hidden]."""
        self._load()
        keys = [text_key(t) for t in texts]
        missing = sorted(
            {k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}.items(),
            key=lambda kv: len(kv[1]),
        )
        done = 0
        for start in range(0, len(missing), self.flush_every):
            chunk = missing[start : start + self.flush_every]
            vecs = embed(
                model,
                tokenizer,
                [t for _, t in chunk],
                batch_size=batch_size,
                max_length=max_length,
            )
            self._flush([k for k, _ in chunk], vecs)
            self._vectors.update((k, v) for (k, _), v in zip(chunk, vecs, strict=True))
            done += len(chunk)
            if progress:
                log.info("embedded %d/%d new texts", done, len(missing))
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys])


def encoder_fingerprint(encoder_path: Path) -> str:
    """sha256 of an encoder's weights (from its manifest when it has one)."""
    path = Path(encoder_path)
    manifest = path / "manifest.json"
    if manifest.is_file():
        return str(json.loads(manifest.read_text("utf-8"))["files"]["model.safetensors"]["sha256"])
    digest = hashlib.sha256()
    with (path / "model.safetensors").open("rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def embedding_cache_dir(work_dir: Path, encoder_path: Path, max_length: int, tag: str = "") -> Path:
    """Cache folder for one encoder build (its weights' sha256) and max length."""
    sha = encoder_fingerprint(encoder_path)[:16]
    return Path(work_dir) / "embeddings" / f"{sha}{tag}-L{max_length}"
