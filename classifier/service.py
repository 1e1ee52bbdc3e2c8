"""Batch inference: the trained heads on the e5 encoder, behind classifier.base's Classifier.

`get_classifier(settings)` returns one process-wide `TrainedClassifier` (loaded on first use,
thread-safe) when an artefact exists under classifier/models/, and the keyword baseline
otherwise, saying so in the log.
"""

from __future__ import annotations

import fcntl
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifier.artefact import CONFIG_FILE, artefact_dir, has_artefact
from classifier.base import Prediction
from classifier.baseline import BaselineClassifier
from classifier.cores import encoder_threads
from classifier.encoder import load_encoder
from classifier.encoder_install import ensure_encoder
from classifier.fastpath import FastEncoder, cached_fast_file, fast_key
from classifier.features import ENGAGEMENT_DIM, encoder_fingerprint, ngram_batch
from classifier.heads import MultiHeadModel, decide_topics
from classifier.kinds import KINDS, decision_score, kind_threshold, text_kind
from classifier.normalize import prepare_text
from classifier.student import matching_student, student_tag
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass
class ModelPrediction(Prediction):
    """A Prediction with every head's calibrated probabilities and the thresholded flags."""

    probabilities: dict[str, dict[str, float]] = field(default_factory=dict)
    # relevant / toxic / unreliable at the artefact's calibrated thresholds for `kind`.
    flags: dict[str, bool] = field(default_factory=dict)
    # Which kind of text it was decided as (classifier.kinds).
    kind: str = ""


def _has_content(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


class TrainedClassifier:
    """Trained heads on the e5 encoder: loads once, serialises forward passes, batches."""

    def __init__(
        self,
        path: Path,
        settings: Settings,
        *,
        batch_size: int = 32,
        device: str = "cpu",
        encoder_dir: Path | None = None,
        runtime: str | None = None,
    ) -> None:
        self.path = Path(path)
        # A built encoder folder to use instead of ensure_encoder(settings) (tests, tools).
        self.encoder_dir = encoder_dir
        self.settings = settings
        self.batch_size = batch_size
        self.device = device
        config = json.loads((self.path / CONFIG_FILE).read_text("utf-8"))
        self.model_version: str = config["version"]
        # "torch" = the reference encoder; "onnx" = the int8 fast path (classifier.fastpath).
        self.runtime = runtime or settings.classifier.runtime
        if self.runtime not in ("torch", "onnx"):
            raise ValueError(f"unknown classifier runtime {self.runtime!r}: torch or onnx")
        # The onnx runtime serves a distilled student encoder (classifier.student) when one
        # was distilled from this artefact's encoder: "auto", "off" or a student folder.
        self.student_choice = settings.classifier.student or "off"
        self.student: Path | None = None
        # 0 = every core; a prefork worker's children get their share (classifier.cores).
        self.threads = encoder_threads(settings.classifier.threads)
        self._model: MultiHeadModel | None = None
        self._fast: Any = None
        self._tokenizer: Any = None
        # Guards loading and forward passes (one at a time: torch already uses every core).
        self._lock = threading.RLock()

    def load(self) -> MultiHeadModel:
        """Build/load the encoder and heads once (later calls return the loaded model)."""
        with self._lock:
            if self._model is None:
                where = self.encoder_dir or ensure_encoder(self.settings)
                if self.threads:
                    # Process-wide: the heads (and the reference encoder) run in torch.
                    torch.set_num_threads(self.threads)
                if self.runtime == "onnx":
                    self._model = self._load_fast(where)
                else:
                    encoder, self._tokenizer = load_encoder(where)
                    model = MultiHeadModel.from_pretrained(self.path, encoder=encoder)
                    self._model = model.to(self.device).eval()
                log.info(
                    "classifier %s (%s) loaded from %s", self.model_version, self.runtime, self.path
                )
            return self._model

    def _load_fast(self, where: Path) -> MultiHeadModel:
        """Heads in torch, the encoder as the int8 ONNX graph (built once, then cached)."""
        student = matching_student(self.student_choice, self.path, encoder_fingerprint(where))
        key = fast_key(where, self.path)
        name = self.model_version
        if student is not None:
            key, name = f"{key}-{student_tag(student)}", f"{name}-{student.name}"
        out_dir = self.settings.data_dir / "models" / "fast" / name
        model_file = cached_fast_file(out_dir, key)
        if model_file is None:
            out_dir.parent.mkdir(parents=True, exist_ok=True)
            # Workers starting together: one builds (a minute, GBs of memory), the rest wait
            # and load its result instead of building and replacing each other's folder.
            with (out_dir.parent / f".{out_dir.name}.lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                model_file = cached_fast_file(out_dir, key)
                if model_file is None:
                    log.info("building the int8 fast encoder for %s in %s", name, out_dir)
                    self._build_fast(where, out_dir, key, student)
                    model_file = cached_fast_file(out_dir, key)
                    if model_file is None:
                        raise RuntimeError(f"the fast encoder build left nothing in {out_dir}")
        self.student = student
        # transformers takes seconds to import: only a process that loads the model pays.
        from transformers import PreTrainedTokenizerFast

        self._tokenizer = PreTrainedTokenizerFast.from_pretrained(str(where))
        self._fast = FastEncoder(model_file, threads=self.threads)
        return MultiHeadModel.from_pretrained(self.path).eval()

    def _build_fast(self, where: Path, out_dir: Path, key: str, student: Path | None) -> None:
        """classifier.fast_build in a child process: its 5 GB peak never stays with us."""
        command = [sys.executable, "-m", "classifier.fast_build", str(where), str(self.path)]
        command += [str(out_dir), key]
        if student is not None:
            command += ["--student", str(student)]
        root = Path(__file__).resolve().parent.parent
        subprocess.run(command, check=True, cwd=root, stdout=subprocess.DEVNULL)

    def predict(
        self,
        texts: list[str],
        engagement: Sequence[Sequence[float] | None] | None = None,
        kinds: Sequence[str | None] | None = None,
    ) -> list[Prediction]:
        """Label each text; `engagement` (optional) feeds the misinformation head; `kinds`
        (classifier.kinds, from the document's fields) picks each text's thresholds. Without a
        kind, a text with engagement is social and any other is told from its shape."""
        model = self.load()
        cfg = model.config
        prepared = [prepare_text(t, cfg.max_chars) for t in texts]
        kind_of = [
            (kinds[i] if kinds is not None and kinds[i] in KINDS else None)
            or ("social" if engagement is not None and engagement[i] is not None else None)
            or text_kind(prepared[i])
            for i in range(len(texts))
        ]
        out: list[Prediction | None] = [None] * len(texts)
        live = [i for i, t in enumerate(prepared) if _has_content(t)]
        for i in set(range(len(texts))) - set(live):
            out[i] = self._empty()
        # Length-sorted batches pad less.
        live.sort(key=lambda i: len(prepared[i]))
        for start in range(0, len(live), self.batch_size):
            idx = live[start : start + self.batch_size]
            eng = None
            if engagement is not None:
                eng = [engagement[i] for i in idx]
            probs = self._forward([prepared[i] for i in idx], eng)
            for row, i in enumerate(idx):
                out[i] = self._decode({k: v[row] for k, v in probs.items()}, kind_of[i])
        return [p for p in out if p is not None]

    def _forward(
        self, texts: list[str], engagement: Sequence[Sequence[float] | None] | None
    ) -> dict[str, np.ndarray]:
        model = self.load()
        cfg = model.config
        enc = self._tokenizer(
            [cfg.prefix + t for t in texts],
            padding=True,
            truncation=True,
            max_length=cfg.max_length,
            return_tensors="pt",
        )
        ngrams = None
        if cfg.ngram is not None:
            ngrams = ngram_batch(texts, cfg.ngram, model.idf.cpu().numpy()).to(self.device)
        extras = None
        if engagement is not None:
            rows = [list(e) if e is not None else [0.0] * ENGAGEMENT_DIM for e in engagement]
            extras = {"misinformation": torch.tensor(rows, dtype=torch.float32)}
        with self._lock, torch.inference_mode():
            if self._fast is not None:
                pooled = self._fast.pooled(enc["input_ids"].numpy(), enc["attention_mask"].numpy())
                logits = model(pooled=torch.from_numpy(pooled), ngrams=ngrams, extras=extras)
            else:
                logits = model(
                    input_ids=enc["input_ids"].to(self.device),
                    attention_mask=enc["attention_mask"].to(self.device),
                    ngrams=ngrams,
                    extras=extras,
                )
            probs = model.probabilities(logits)
        return {k: v.float().cpu().numpy() for k, v in probs.items()}

    def _decode(self, p: dict[str, np.ndarray], kind: str = "title_lead") -> ModelPrediction:
        model = self._model
        assert model is not None
        cfg = model.config
        specs = model.specs
        named = {
            name: {
                label: round(float(v), 4)
                for label, v in zip(specs[name].labels, np.atleast_1d(p[name]), strict=True)
            }
            for name in p
        }
        topics_p = np.asarray(p["topics"])
        chosen = decide_topics(topics_p, cfg.thresholds.get("topics", 0.5), cfg.max_topics)[0]
        order = [int(i) for i in np.argsort(-topics_p) if chosen[i]]
        codes = [specs["topics"].labels[i] for i in order]
        # v3 on: title + lead and bodies read by the news-sentiment head; one line (a headline
        # or a comment: the text alone cannot tell) and social posts by the head trained on
        # students' feedback and news together.
        news_kind = kind in ("title_lead", "body")
        sent_head = "sentiment_news" if "sentiment_news" in named and news_kind else "sentiment"
        sent, risk = named[sent_head], named["risk"]
        thr = cfg.thresholds
        cut = {h: kind_threshold(thr, h, kind) for h in ("relevance", "toxicity", "misinformation")}
        flags = {
            "relevant": named["relevance"]["education"] >= cut["relevance"],
            "toxic": named["toxicity"]["toxic"] >= cut["toxicity"],
            "unreliable": named["misinformation"]["unreliable"] >= cut["misinformation"],
        }
        relevance = named["relevance"]["education"]
        toxicity = named["toxicity"]["toxic"]
        misinformation = named["misinformation"]["unreliable"]
        if any("/" in key for key in thr):
            # Per-kind thresholds (v3 on): the stored scores are decision scores, 0.5 at the
            # kind's threshold, so every 0.5 cut downstream decides as the flags do; the
            # calibrated probabilities stay in `probabilities`.
            relevance = round(decision_score(relevance, cut["relevance"]), 4)
            toxicity = round(decision_score(toxicity, cut["toxicity"]), 4)
            misinformation = round(decision_score(misinformation, cut["misinformation"]), 4)
        return ModelPrediction(
            relevance=relevance,
            topics=codes,
            topic_scores={c: named["topics"][c] for c in codes},
            sentiment=max(sent, key=sent.__getitem__),
            sentiment_score=round(sent["tich_cuc"] - sent["tieu_cuc"], 4),
            risk=max(risk, key=risk.__getitem__),
            # Expected severity: nóng counts fully, theo dõi half.
            risk_score=round(risk["nong"] + 0.5 * risk["theo_doi"], 4),
            toxicity=toxicity,
            misinformation=misinformation,
            model_version=self.model_version,
            probabilities=named,
            flags=flags,
            kind=kind,
        )

    def _empty(self) -> ModelPrediction:
        """What a text with no letters or digits gets: nothing to report."""
        return ModelPrediction(
            relevance=0.0,
            topics=["khac"],
            topic_scores={"khac": 0.0},
            sentiment="trung_tinh",
            sentiment_score=0.0,
            risk="binh_thuong",
            risk_score=0.0,
            toxicity=0.0,
            misinformation=0.0,
            model_version=self.model_version,
            cues={"empty": 1},
            flags={"relevant": False, "toxic": False, "unreliable": False},
        )


_instances: dict[Path, TrainedClassifier | BaselineClassifier] = {}
_instances_lock = threading.Lock()


def get_classifier(settings: Settings | None = None) -> TrainedClassifier | BaselineClassifier:
    """The process-wide classifier: the trained artefact, else the keyword baseline."""
    if settings is None:
        settings = get_settings()
    path = artefact_dir(settings)
    with _instances_lock:
        found = _instances.get(path)
        if found is None:
            if has_artefact(path):
                found = TrainedClassifier(path, settings)
            else:
                log.warning(
                    "no classifier artefact at %s: falling back to the keyword baseline %s",
                    path,
                    BaselineClassifier.model_version,
                )
                found = BaselineClassifier()
            _instances[path] = found
        return found
