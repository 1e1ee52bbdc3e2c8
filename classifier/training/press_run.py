"""Shared state of a v3 run: the adapted encoder, its embedding cache, the base artefact.

v3 refits heads on the encoder that e5s-v2's finetune adapted (its LoRA/delta files ride
into the new artefact), keeping e5s-v2's standardisation (centre, scale) and n-gram IDF so
its toxicity, misinformation and comment-sentiment heads stay valid unchanged. Pooled
vectors are cached on disk keyed by text, which is one key per (item, kind) since every
kind writes an item differently: a rerun encodes only new batches' rows.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifier.encoder import load_encoder
from classifier.features import EmbeddingCache, NgramBatch, embedding_cache_dir, ngram_batch
from classifier.heads import MultiHeadModel, adapter_tag, apply_adapter

log = logging.getLogger(__name__)


class PressRun:
    """Encoder + cache + the base artefact's features (no heads are fitted here)."""

    def __init__(
        self,
        base_dir: Path,
        encoder_dir: Path,
        work_dir: Path,
        *,
        max_length: int = 128,
        threads: int = 2,
    ) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.base_dir = Path(base_dir)
        self.encoder_dir = Path(encoder_dir)
        self.encoder: Any = None
        self.tokenizer: Any = None
        self.max_length = max_length
        self.base = MultiHeadModel.from_pretrained(self.base_dir)
        cfg = self.base.config
        assert cfg.ngram is not None, "v3 stacks on the base artefact's n-gram bag"
        self.ngram_config = cfg.ngram
        self.idf = self.base.idf.numpy().astype(np.float32)
        self.cache = EmbeddingCache(
            embedding_cache_dir(
                work_dir, self.encoder_dir, max_length, tag=adapter_tag(self.base_dir)
            )
        )

    def _ensure_encoder(self) -> None:
        # Loaded only when some text is not cached yet: a warm rerun skips ~10 s and 500 MB.
        if self.encoder is None:
            self.encoder, self.tokenizer = load_encoder(self.encoder_dir)
            apply_adapter(self.encoder, self.base_dir)
            self.encoder.eval()

    def pooled(self, texts: list[str]) -> np.ndarray:
        """Cached pooled embeddings (computed and stored when missing)."""
        if self.cache.count_missing(texts):
            self._ensure_encoder()
        return self.cache.get(texts, self.encoder, self.tokenizer, max_length=self.max_length)

    def feats(self, texts: list[str]) -> torch.Tensor:
        """Standardised embeddings with the base artefact's centre and scale."""
        with torch.no_grad():
            return self.base.features(torch.from_numpy(self.pooled(texts)))

    def bag(self, texts: list[str]) -> NgramBatch:
        """TF-IDF n-gram rows with the base artefact's IDF."""
        return ngram_batch(texts, self.ngram_config, self.idf)

    def base_probs(self, head: str, texts: list[str]) -> np.ndarray:
        """The base artefact's calibrated probabilities of one head (kept heads)."""
        with torch.inference_mode():
            z = self.base(pooled=torch.from_numpy(self.pooled(texts)), ngrams=self.bag(texts))
            return self.base.probabilities({head: z[head]})[head].numpy()
