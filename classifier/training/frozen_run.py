"""One frozen run's shared state: encoder, embedding cache, datasets, features (`Frozen`).

Used by the frozen recipe (classifier.training.frozen), the news heads' cross-validation
(classifier.training.news) and bench/heads_cv.py.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from classifier.encoder import load_encoder
from classifier.features import (
    EmbeddingCache,
    NgramBatch,
    NgramConfig,
    document_frequencies,
    embedding_cache_dir,
    idf_from_df,
)
from classifier.features import ngram_batch as make_bag
from classifier.heads import MultiHeadModel, adapter_tag, apply_adapter
from classifier.training.args import TrainArgs
from classifier.training.common import (
    base_config,
    encoder_path,
    load_corrections,
    set_standardisation,
)
from classifier.training.datasets import Examples, NewsLabels
from classifier.training.evaluate import binary_report, ece, multiclass_report, probs_of
from classifier.training.linear import StackData, StackedHead, fit_stacked
from classifier.training.tasks import Task, load_tasks, stripped

VARIANTS = ("e5+ngram", "e5", "ngram")


@dataclass
class Part:
    """Rows of one source inside a head's training set."""

    ex: Examples
    bag: NgramBatch
    enc: np.ndarray
    strip: np.ndarray
    enc_w: np.ndarray
    calib_ok: bool = True  # may lend rows to the calibration hold-out


class Frozen:
    """Shared state of one frozen run: encoder, cache, datasets, features."""

    def __init__(self, args: TrainArgs) -> None:
        assert args.data_dir is not None and args.work_dir is not None
        self.args = args
        # First: a bad corrections file should stop the run before the encoder loads.
        self.corrections = load_corrections(args)
        path = encoder_path(args)
        self.encoder, self.tokenizer = load_encoder(path)
        tag = ""
        if args.adapter_from is not None:
            apply_adapter(self.encoder, args.adapter_from)
            # The adapted encoder embeds differently: its own cache.
            tag = adapter_tag(args.adapter_from)
        if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
            self.encoder.to("cuda")
        self.cache = EmbeddingCache(
            embedding_cache_dir(args.work_dir, path, args.max_length, tag=tag)
        )
        self.tasks, self.news = load_tasks(
            args.data_dir,
            subsets=args.subsets,
            stripped_fraction=args.stripped_fraction,
            weak_weight=args.weak_weight,
            seed=args.seed,
            corrections=self.corrections,
            correction_weight=args.correction_weight,
        )
        self.model = MultiHeadModel(base_config(args, path))
        # Variants without n-grams are compared even when the artefact uses them.
        self.ngram_config = self.model.config.ngram or NgramConfig(buckets=args.ngram_buckets)
        train_texts = [t for task in self.tasks.values() for t in task.train.texts]
        train_texts += self.news.gold.texts + self.news.weak.texts
        train_texts += [t for ex in self.news.corrections.values() for t in ex.texts]
        df = document_frequencies(train_texts, self.ngram_config)
        self.idf = idf_from_df(df, len(train_texts))
        if self.model.ngram is not None:
            self.model.idf.copy_(torch.from_numpy(self.idf))
        enc_texts = [task.train.texts[i] for task in self.tasks.values() for i in task.encoded]
        set_standardisation(self.model, self.pooled(enc_texts))

    def rng_for(self, purpose: str) -> np.random.Generator:
        """A generator seeded by (seed, purpose): independent of what ran before."""
        return np.random.default_rng([self.args.seed, zlib.crc32(purpose.encode())])

    def pooled(self, texts: list[str]) -> np.ndarray:
        """Cached pooled embeddings."""
        return self.cache.get(texts, self.encoder, self.tokenizer, max_length=self.args.max_length)

    def feats(self, texts: list[str]) -> torch.Tensor:
        """Standardised embeddings (the heads' dense input)."""
        with torch.no_grad():
            return self.model.features(torch.from_numpy(self.pooled(texts)))

    def bag(self, texts: list[str]) -> NgramBatch:
        """TF-IDF n-gram rows."""
        return make_bag(texts, self.ngram_config, self.idf)

    def part(self, task: Task) -> Part:
        """A task's training rows as one part."""
        return Part(
            task.train,
            self.bag(task.train.texts),
            task.encoded,
            task.stripped,
            task.encoded_weights,
        )

    def news_part(
        self,
        labels: NewsLabels,
        head: str,
        enc: np.ndarray,
        strip: np.ndarray,
        bag: NgramBatch,
        calib_ok: bool = False,
    ) -> Part:
        """News rows (gold or weak) for one head."""
        ex = labels.head(head)
        return Part(ex, bag, enc, strip, ex.weights[enc], calib_ok)

    def stack(self, name: str, parts: list[Part], calib_fraction: float) -> StackData:
        """One head's StackData from parts (encoded + stripped rows become dense rows)."""
        spec = self.model.specs[name]
        # Seeded by the head alone, so resuming after some heads draws the same hold-out.
        rng = self.rng_for(f"calib/{name}")
        texts: list[str] = []
        rows, weights, calib, extras = [], [], [], []
        shift = 0
        for p in parts:
            pos = {r: i for i, r in enumerate(p.enc.tolist())}
            held = rng.random(len(p.enc)) < (calib_fraction if p.calib_ok else 0.0)
            texts += [p.ex.texts[i] for i in p.enc] + [stripped(p.ex.texts[i]) for i in p.strip]
            rows += [p.enc + shift, p.strip + shift]
            weights += [p.enc_w, p.enc_w[[pos[r] for r in p.strip.tolist()]]]
            calib += [held, held[[pos[r] for r in p.strip.tolist()]]]
            if p.ex.extras is not None:
                extras += [p.ex.extras[p.enc], p.ex.extras[p.strip]]
            shift += len(p.ex)
        dense = self.feats(texts)
        dense_rows, dense_w = np.concatenate(rows), np.concatenate(weights).astype(np.float32)
        calib_mask = np.concatenate(calib)
        extra_t = torch.from_numpy(np.concatenate(extras)) if extras else None
        if extra_t is not None:
            # Engagement is often unknown at inference: every row also appears without it.
            dense = torch.cat([dense, dense])
            extra_t = torch.cat([extra_t, torch.zeros_like(extra_t)])
            dense_rows = np.concatenate([dense_rows, dense_rows])
            dense_w = np.concatenate([dense_w, dense_w])
            calib_mask = np.concatenate([calib_mask, calib_mask])
        return StackData(
            spec.kind,
            spec.n_out,
            NgramBatch.concat([p.bag for p in parts]),
            np.concatenate([p.ex.labels for p in parts]),
            np.concatenate([p.ex.weights for p in parts]).astype(np.float32),
            dense,
            dense_rows,
            dense_w,
            extra_t,
            calib_mask,
        )

    def fit(self, data: StackData, variant: str, c_dense: float | None = None) -> StackedHead:
        """Fit one variant (e5+ngram, e5, ngram) of a head (c_dense: args.c_dense)."""
        return fit_stacked(
            data,
            buckets=self.ngram_config.buckets,
            use_dense=variant != "ngram",
            use_ngram=variant != "e5",
            c_dense=self.args.c_dense if c_dense is None else c_dense,
            c_ngram=self.args.c_ngram,
            seed=self.args.seed,
        )

    def logits(
        self,
        head: StackedHead,
        texts: list[str],
        extras: np.ndarray | None = None,
        *,
        bare: bool = False,
    ) -> np.ndarray:
        """Logits of texts (bare=True: as typed without diacritics)."""
        if bare:
            texts = [stripped(t) for t in texts]
        extra_t = None if extras is None else torch.from_numpy(extras.astype(np.float32))
        z = head.logits(self.feats(texts), self.bag(texts), extra_t).numpy()
        return z.reshape(-1) if head.kind == "binary" else z


def evaluate_simple(run: Frozen, name: str, head: StackedHead, t: float, thr: float | None) -> dict:
    """Dev metrics of a binary/multiclass head on each of its dev sets (+ bare text)."""
    task, kind = run.tasks[name], head.kind
    out: dict[str, Any] = {}
    for dev_name, dev in task.dev.items():
        z = run.logits(head, dev.texts, dev.extras)
        p = probs_of(z, kind, t)
        y, w = dev.labels, dev.weights
        if kind == "binary":
            rep = binary_report(y, p, thr if thr is not None else 0.5, w)
            if dev.extras is not None:
                p_no = probs_of(run.logits(head, dev.texts, np.zeros_like(dev.extras)), kind, t)
                rep["roc_auc_without_engagement"] = binary_report(y, p_no, 0.5)["roc_auc"]
        else:
            rep = multiclass_report(y, p)
        rep["ece_uncalibrated"] = ece(probs_of(z, kind, 1.0), y, kind)
        rep["ece_calibrated"] = ece(p, y, kind)
        idx = task.dev_stripped.get(dev_name)
        if idx is not None and len(idx):
            sub = dev.take(idx)
            pb = probs_of(run.logits(head, sub.texts, sub.extras, bare=True), kind, t)
            pa = p[idx]
            if kind == "binary":
                cut = thr if thr is not None else 0.5
                rep["bare"] = binary_report(sub.labels, pb, cut, sub.weights)
                rep["accented_same_rows"] = binary_report(sub.labels, pa, cut, sub.weights)
            else:
                rep["bare"] = multiclass_report(sub.labels, pb)
                rep["accented_same_rows"] = multiclass_report(sub.labels, pa)
        out[dev_name] = rep
    return out
