"""Frozen mode: every head fitted on cached e5 embeddings stacked over hashed n-grams.

Topics and risk have no training split: their gold labels are the ~330 press-office items
of edu-news (dev only). They are fitted on those plus baomoi's education items labelled by
the keyword baseline (weak labels, weight `weak_weight` each; gold weighs 1, or 0.5 where
the labeller was unsure), and measured by 5-fold cross-validation over the gold items:
each fold's model sees the weak items and the other four folds, never the held-out one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifier.corrections import digest
from classifier.datasets import Examples, NewsLabels
from classifier.encoder import load_encoder
from classifier.evaluate import (
    binary_report,
    calibrate,
    ece,
    multiclass_report,
    probs_of,
)
from classifier.features import (
    EmbeddingCache,
    NgramBatch,
    NgramConfig,
    document_frequencies,
    embedding_cache_dir,
    idf_from_df,
)
from classifier.features import ngram_batch as make_bag
from classifier.heads import (
    CONFIG_FILE,
    HeadsConfig,
    MultiHeadModel,
    adapter_files,
    adapter_tag,
    apply_adapter,
)
from classifier.linear import StackData, StackedHead, fit_stacked
from classifier.metrics import f1_macro, roc_auc
from classifier.news import run_news
from classifier.tasks import Task, load_tasks, stripped
from classifier.train import (
    TrainArgs,
    base_config,
    corrections_report,
    encoder_path,
    load_corrections,
    set_standardisation,
    write_artefact,
)

log = logging.getLogger(__name__)
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


# Flags whose effect is the corrections' content (keyed by its digest instead), so runs
# without corrections keep their earlier checkpoints.
_UNKEYED = ("output_dir", "resume", "corrections", "corrections_from_db", "correction_weight")


def _checkpoint(args: TrainArgs, name: str, corrections: str = "") -> Path:
    assert args.work_dir is not None
    key = {k: str(v) for k, v in asdict(args).items() if k not in _UNKEYED}
    if args.adapter_from is not None:
        # Keyed by the adapter's content: a new finetune written to the same folder (or the
        # artefact refitted in place) must not resume heads fitted on the old encoder.
        key["adapter_from"] = adapter_tag(args.adapter_from)
    if corrections:
        key["corrections"] = corrections
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return args.work_dir / "checkpoints" / f"{args.version}-frozen-{digest}" / f"{name}.pt"


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


def holdout_score(data: StackData, head: StackedHead) -> float:
    """Score on the calibration hold-out (training rows): macro F1 or ROC-AUC."""
    assert head.calib_rows is not None and head.calib_logits is not None
    y = data.y[data.dense_rows[head.calib_rows]]
    z = head.calib_logits
    if head.kind == "multiclass":
        return f1_macro(y, z.argmax(axis=1), head.n_out)
    return roc_auc(y, z.reshape(-1))


def run_simple(run: Frozen, name: str) -> tuple[StackedHead, float, float | None, dict]:
    """Fit, calibrate and evaluate a head in each feature variant; keep e5 + n-grams.

    The other variants are measured for the model card. Picking per head on the 10%
    calibration hold-out was tried and rejected: it is too small to rank variants reliably.
    """
    args = run.args
    data = run.stack(name, [run.part(run.tasks[name])], args.calib_fraction)
    chosen = "e5+ngram" if args.use_ngrams else "e5"
    variants = (VARIANTS if args.use_ngrams else ("e5",)) if args.compare_variants else (chosen,)
    metrics: dict[str, Any] = {}
    fitted: dict[str, tuple[StackedHead, float, float | None]] = {}
    for variant in variants:
        head = run.fit(data, variant)
        assert head.calib_rows is not None and head.calib_logits is not None
        y_cal = data.y[data.dense_rows[head.calib_rows]]
        t, thr = calibrate(head.calib_logits, y_cal, head.kind, data.dense_w[head.calib_rows])
        metrics[variant] = {
            "temperature": t,
            "threshold": thr,
            "holdout_score": holdout_score(data, head),
            "dev": evaluate_simple(run, name, head, t, thr),
        }
        log.info("%s %s: %s", name, variant, json.dumps(metrics[variant], default=float))
        fitted[variant] = (head, t, thr)
    return (*fitted[chosen], {"variant": chosen, **metrics})


def load_head(model: MultiHeadModel, name: str, head: StackedHead) -> None:
    """Copy a fitted head into the model (n-gram bag slice included)."""
    weight, bias, bag = head.export()
    layer = model.heads[name]
    assert isinstance(layer, torch.nn.Linear)
    with torch.no_grad():
        layer.weight.zero_()
        if weight.shape[1]:
            layer.weight.copy_(weight)
        layer.bias.copy_(bias)
        if model.ngram is not None:
            model.ngram.weight[:, model.slices[name]] = 0.0 if bag is None else bag


def train_frozen(args: TrainArgs) -> Path:
    """The frozen-mode pipeline; returns the artefact folder."""
    assert args.output_dir is not None
    run = Frozen(args)
    metrics: dict[str, Any] = {}
    config = run.model.config
    # Keyed by content: the database's corrections change under the same flags.
    ckey = digest(run.corrections, args.correction_weight)
    for name in ("relevance", "toxicity", "misinformation"):
        path = _checkpoint(args, name, ckey)
        if args.resume and path.is_file():
            saved = torch.load(path, weights_only=False)
            log.info("%s: resumed from %s", name, path)
        else:
            head, t, thr, rep = run_simple(run, name)
            saved = {"head": head, "temperature": t, "threshold": thr, "metrics": rep}
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(saved, path)
        load_head(run.model, name, saved["head"])
        config.temperatures[name] = saved["temperature"]
        config.thresholds[name] = saved["threshold"]
        metrics[name] = saved["metrics"]
    path = _checkpoint(args, "news", ckey)
    if args.resume and path.is_file():
        news = torch.load(path, weights_only=False)
    else:
        news = run_news(run)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(news, path)
    for name in ("topics", "risk", "sentiment"):
        load_head(run.model, name, news["heads"][name])
        config.temperatures[name] = news["temperatures"][name]
    config.thresholds["topics"] = news["topic_threshold"]
    metrics.update(news["metrics"])
    metrics["corrections"] = corrections_report(run.corrections, args)
    if args.adapter_from is None:
        return write_artefact(run.model, args.output_dir, metrics, args)
    # write_artefact empties the output folder, which may be the adapter's own (`make train`
    # refits the committed artefact's heads in place): carry the adapter from a copy.
    with tempfile.TemporaryDirectory(prefix="diemtin-adapter-") as tmp:
        source = Path(tmp)
        for name in adapter_sources(Path(args.adapter_from)):
            shutil.copyfile(Path(args.adapter_from) / name, source / name)
        out = write_artefact(run.model, args.output_dir, metrics, args)
        carry_adapter(source, out)
    return out


def adapter_sources(source: Path) -> list[str]:
    """Files of `source` that carry_adapter reads."""
    config = HeadsConfig.from_dict(json.loads((source / CONFIG_FILE).read_text("utf-8")))
    names = [CONFIG_FILE, "metrics.json", *adapter_files(config)]
    return names + [n for n in ("adapter_metrics.json",) if (source / n).is_file()]


def carry_adapter(source: Path, out: Path) -> None:
    """Copy the adapter's encoder files into `out` and point its config at them.

    `source` is a finetune artefact, or an artefact whose heads were themselves fitted on an
    adapter (then the adapter's origin, version and run record, is carried through)."""
    src_config = HeadsConfig.from_dict(json.loads((source / CONFIG_FILE).read_text("utf-8")))
    config = HeadsConfig.from_dict(json.loads((out / CONFIG_FILE).read_text("utf-8")))
    for key in ("delta", "lora"):
        name = src_config.encoder.get(key)
        if name:
            shutil.copyfile(source / name, out / name)
            (out / name).chmod(0o644)
            config.encoder = {**config.encoder, key: name}
    origin = src_config.encoder.get("adapter_version") or src_config.version
    record = "adapter_metrics.json" if src_config.encoder.get("adapter_version") else "metrics.json"
    config.encoder = {**config.encoder, "adapter_version": origin}
    text = json.dumps(config.to_dict(), indent=2, ensure_ascii=False, sort_keys=True)
    (out / CONFIG_FILE).write_text(text + "\n", "utf-8")
    # The adapter's own run (arguments, dev metrics of its end-to-end heads) stays with it.
    shutil.copyfile(source / record, out / "adapter_metrics.json")
    adapter = json.loads((source / record).read_text("utf-8"))["args"]
    keys = ("lora_rank", "lora_alpha", "lr", "head_lr", "batch_size", "epochs", "max_steps")
    line = ", ".join(f"{k} {adapter.get(k)}" for k in keys)
    with (out / "MODEL_CARD.md").open("a", encoding="utf-8") as fh:
        fh.write(
            f"\n## Encoder adapter\n\nThe heads above were fitted on the encoder as adapted by "
            f"the finetune run `{origin}` (LoRA on the 12 layers' dense matrices "
            f"+ their LayerNorms; embeddings frozen): {line}. Its files "
            f"(`{'`, `'.join(adapter_files(config))}`) are applied to the base encoder at load "
            "time; its arguments and end-to-end dev metrics are in `adapter_metrics.json`.\n"
        )
