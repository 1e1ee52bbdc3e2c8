"""Build the int8 fast encoder in a child process: `python -m classifier.fast_build ...`.

The build (fp32 export, optimiser, SmoothQuant probe, quantiser) holds several copies of
the weights at once: 5.2 GB peak measured here, against ~1 GB for serving the result. Run in
the serving process it would leave that peak (and the fragmented heap) behind in every
worker; in a child process the memory goes back to the system when it exits.

    python -m classifier.fast_build ENCODER_DIR ARTEFACT_DIR OUT_DIR KEY [--student DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from classifier.encoder import load_encoder
from classifier.fastpath import build_fast_encoder, calibration_batches
from classifier.heads import MultiHeadModel
from classifier.student import apply_student


def build(
    encoder_dir: Path, artefact: Path, out_dir: Path, key: str, student: Path | None = None
) -> Path:
    """The adapted encoder (the student when given) exported, smoothed, quantised to out_dir."""
    encoder, tokenizer = load_encoder(encoder_dir)
    heads = MultiHeadModel.from_pretrained(artefact, encoder=encoder)  # applies the adapter
    if student is not None:
        apply_student(encoder, student)
    batches = calibration_batches(tokenizer, heads.config)
    return build_fast_encoder(encoder, out_dir, key, batches)


def main(argv: list[str] | None = None) -> int:
    """Command line: build, print the model file."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("encoder_dir", type=Path)
    p.add_argument("artefact", type=Path)
    p.add_argument("out_dir", type=Path)
    p.add_argument("key")
    p.add_argument("--student", type=Path, default=None)
    a = p.parse_args(argv)
    print(build(a.encoder_dir, a.artefact, a.out_dir, a.key, a.student))
    return 0


if __name__ == "__main__":
    sys.exit(main())
