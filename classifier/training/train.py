"""Train the task heads and write a versioned artefact (`make train`).

    python -m classifier.training.train [--mode frozen|finetune] [--version V] [--subset NAME=N ...]

frozen: heads on cached e5 embeddings, stacked over hashed n-grams (classifier.training.linear);
minutes on a CPU. finetune: the encoder is trained too (classifier.training.finetune); needs a GPU.
Both evaluate on the dev splits and write classifier/models/<version>/ (heads, calibration,
MODEL_CARD.md, metrics.json). The base encoder is never written there.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch

from classifier.corrections import CorrectionError
from classifier.training.args import TrainArgs
from classifier.training.finetune import train_finetune
from classifier.training.frozen import train_frozen
from classifier.training.tasks import DEFAULT_SUBSETS

log = logging.getLogger(__name__)


def train(args: TrainArgs) -> Path:
    """Train in args.mode and write the artefact; returns its folder."""
    args = args.resolved()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    started = time.perf_counter()
    if args.mode == "frozen":
        out = train_frozen(args)
    elif args.mode == "finetune":
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
    prog = "python -m classifier.training.train"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
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
    try:
        out = train(TrainArgs(**ns))
    except CorrectionError as exc:
        # A bad correction file is the operator's to fix: say where, without a traceback.
        raise SystemExit(f"corrections: {exc}") from exc
    print(f"artefact: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
