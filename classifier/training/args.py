"""Training arguments: one dataclass, each field a flag of `python -m classifier.training.train`."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from classifier.artefact import MODELS_DIR
from classifier.training.tasks import DEFAULT_SUBSETS
from core.settings import get_settings


@dataclass
class TrainArgs:
    """Training arguments (transformers-style dataclass; every field is a CLI flag)."""

    mode: Literal["frozen", "finetune"] = "frozen"
    # The v2 recipe's own folder: the served default (e5s-v3) is written by classifier.training.v3.
    version: str = "e5s-v2"
    seed: int = 13
    data_dir: Path | None = None  # default: settings.shared_data_dir
    output_dir: Path | None = None  # default: classifier/models/<version>
    work_dir: Path | None = None  # embedding cache, checkpoints; default <data_dir>/classifier
    max_length: int = 128
    subsets: dict[str, int] = field(default_factory=dict)  # see classifier.training.tasks
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
        settings = get_settings()
        out = TrainArgs(**{f.name: getattr(self, f.name) for f in fields(self)})
        out.data_dir = Path(self.data_dir or settings.shared_data_dir)
        out.output_dir = Path(self.output_dir or MODELS_DIR / self.version)
        out.work_dir = Path(self.work_dir or settings.data_dir / "classifier")
        # Frozen mode encodes subsets (CPU budget); finetune defaults to every row (0 = all).
        base = DEFAULT_SUBSETS if self.mode == "frozen" else dict.fromkeys(DEFAULT_SUBSETS, 0)
        out.subsets = {**base, **self.subsets}
        return out
