"""Hashed n-gram features: the bucket of an n-gram is CRC-32 of its folded words joined by
spaces. Trained artefacts depend on that scheme, so the fast implementation is checked
against the plain definition."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from classifier.features import NgramConfig, gram_hashes, ngram_batch, ngram_counts
from core.text import fold

TEXTS = [
    "Học sinh trường THPT Lê Lợi đạt giải Nhất, học sinh giỏi cấp tỉnh.",
    "hoc sinh truong THPT Le Loi dat giai Nhat",
    "Đà Nẵng 😀 x_y 123 R&D 50k",
    "",
    "một",
]


def plain_counts(text: str, config: NgramConfig) -> dict[int, int]:
    """The definition: join, encode, CRC-32, bucket."""
    import re

    tokens = re.findall(r"\w+", fold(text))[: config.max_tokens]
    grams = list(tokens)
    for n in range(2, config.max_n + 1):
        grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    counts: dict[int, int] = {}
    for gram in grams:
        bucket = zlib.crc32(gram.encode("utf-8")) % config.buckets
        counts[bucket] = counts.get(bucket, 0) + 1
    return counts


@pytest.mark.parametrize(
    "config",
    [NgramConfig(), NgramConfig(buckets=1000, max_n=3), NgramConfig(max_n=1, max_tokens=5)],
)
def test_buckets_follow_the_definition_in_order(config: NgramConfig) -> None:
    for text in TEXTS:
        got, want = ngram_counts(text, config), plain_counts(text, config)
        assert got == want
        assert list(got) == list(want)  # first-seen order: the EmbeddingBag sums the same way


def test_bigram_hash_continues_from_the_first_word() -> None:
    hashes = gram_hashes("giáo dục", NgramConfig())
    assert hashes == [
        zlib.crc32(b"giao"),
        zlib.crc32(b"duc"),
        zlib.crc32(b"giao duc"),
    ]


def test_tfidf_rows_are_unit_length_and_empty_rows_are_allowed() -> None:
    config = NgramConfig(buckets=1 << 10)
    idf = np.linspace(1.0, 3.0, config.buckets).astype(np.float32)
    batch = ngram_batch(TEXTS, config, idf)
    starts = batch.offsets.tolist() + [len(batch.ids)]
    for row in range(len(TEXTS)):
        w = batch.weights[starts[row] : starts[row + 1]].numpy()
        if TEXTS[row]:
            assert abs(float(np.sqrt((w * w).sum())) - 1.0) < 1e-5
        else:
            assert len(w) == 0
    empty = ngram_batch([], config, idf)
    assert len(empty.ids) == 0 and len(empty.offsets) == 0
