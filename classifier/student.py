"""A shallower student of the adapted encoder: its first N layers, the top ones distilled.

A student folder (classifier/models/<teacher>-s<N>/) holds `student.json` (how many layers,
which teacher encoder + adapter it was distilled from, the recipe and its measured figures)
and `student.safetensors` (the retrained layers, fp16, under the encoder's own tensor names).
It was trained to reproduce the teacher's pooled vectors, not any head's output, so it serves
every heads artefact fitted on that same adapted encoder; the service checks the teacher's
adapter tag before using one (`matching_student`). Built by classifier.training.distill.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from safetensors.torch import load_file
from torch import nn

from classifier.artefact import MODELS_DIR
from classifier.heads import adapter_tag

log = logging.getLogger(__name__)

STUDENT_CONFIG = "student.json"
STUDENT_WEIGHTS = "student.safetensors"
FORMAT = "diemtin-student/1"
# What `classifier_student = "auto"` looks for beside the artefacts.
DEFAULT_STUDENT = "e5s-v2-s6"


def read_student(path: Path) -> dict[str, Any]:
    """student.json of a student folder."""
    data: dict[str, Any] = json.loads((Path(path) / STUDENT_CONFIG).read_text("utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} folder")
    return data


def student_tag(path: Path) -> str:
    """'student-<sha256 prefix>' of the weights and config (fast-path cache keys use it)."""
    digest = hashlib.sha256()
    for name in (STUDENT_CONFIG, STUDENT_WEIGHTS):
        digest.update((Path(path) / name).read_bytes())
    return "student-" + digest.hexdigest()[:12]


def teacher_tag(artefact: Path, encoder_sha256: str) -> str:
    """What a student must have been distilled from to serve this artefact."""
    return f"{encoder_sha256[:16]}:{adapter_tag(artefact) or 'base'}"


def matching_student(choice: str, artefact: Path, encoder_sha256: str) -> Path | None:
    """The student folder to serve `artefact` with, or None for the full encoder.

    choice: "off"; "auto" (DEFAULT_STUDENT when present and distilled from this artefact's
    encoder, else None); or a folder, which must match.
    """
    if choice in ("", "off"):
        return None
    path = MODELS_DIR / DEFAULT_STUDENT if choice == "auto" else Path(choice)
    if not (path / STUDENT_CONFIG).is_file():
        if choice == "auto":
            return None
        raise FileNotFoundError(f"no student at {path}")
    wanted = teacher_tag(artefact, encoder_sha256)
    found = read_student(path).get("teacher")
    if found != wanted:
        if choice == "auto":
            log.warning("student %s was distilled from %s, not %s: not used", path, found, wanted)
            return None
        raise ValueError(f"student {path} was distilled from {found}, the artefact needs {wanted}")
    return path


def truncate(encoder: nn.Module, layers: int) -> nn.Module:
    """Keep the first `layers` transformer layers of a BertModel (in place)."""
    stack = encoder.encoder.layer  # type: ignore[union-attr]
    if not 0 < layers <= len(stack):  # type: ignore[arg-type]
        raise ValueError(f"cannot keep {layers} of {len(stack)} layers")  # type: ignore[arg-type]
    encoder.encoder.layer = nn.ModuleList(list(stack)[:layers])  # type: ignore[union-attr]
    encoder.config.num_hidden_layers = layers  # type: ignore[union-attr]
    return encoder


def apply_student(encoder: nn.Module, path: Path) -> nn.Module:
    """Turn an adapted teacher encoder into the student: truncate, load retrained layers."""
    meta = read_student(path)
    truncate(encoder, int(meta["layers"]))
    state = {k: v.float() for k, v in load_file(str(Path(path) / STUDENT_WEIGHTS)).items()}
    missing, unexpected = encoder.load_state_dict(state, strict=False)
    if unexpected:
        raise ValueError(f"{path}: tensors the student encoder lacks: {unexpected[:3]}")
    encoder.eval()
    return encoder
