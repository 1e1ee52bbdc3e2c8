"""LoRA adapters on the encoder's dense layers: fine-tuning whose artefact stays small.

Training wraps each targeted `nn.Linear` in `LoRALinear` (the base weight frozen, a rank-r
update B·A trained). The artefact stores A and B·scaling in fp16 (about 2.6 MB at rank 16
on all six matrices of the 12 layers) instead of 21M layer weights; loading merges them
into the base weights, so inference costs exactly what the plain encoder costs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

# BertLayer's six dense matrices (suffixes of module names).
TARGETS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


class LoRALinear(nn.Module):
    """y = base(x) + dropout(x) A^T B^T * alpha / r, with base frozen and B starting at zero."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.base = base
        self.rank = rank
        self.scaling = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)
        for p in base.parameters():
            p.requires_grad = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = (self.dropout(x) @ self.lora_a.t()) @ self.lora_b.t()
        return self.base(x) + update * self.scaling

    def delta(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, B * scaling): the merged update is their product B·A."""
        return self.lora_a.detach(), (self.lora_b * self.scaling).detach()


def _is_target(name: str, targets: Iterable[str]) -> bool:
    return name.startswith("encoder.layer.") and any(name.endswith(t) for t in targets)


def add_lora(
    model: nn.Module,
    rank: int,
    alpha: float,
    dropout: float = 0.0,
    targets: Iterable[str] = TARGETS,
) -> list[str]:
    """Wrap the targeted linears of a BertModel in place; returns their module names."""
    targets = tuple(targets)
    names = [
        n for n, m in model.named_modules() if isinstance(m, nn.Linear) and _is_target(n, targets)
    ]
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child, LoRALinear(getattr(parent, child), rank, alpha, dropout))
    return names


def lora_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """`<module>.lora_a` / `<module>.lora_b` (scaling folded into B) of every wrapped linear."""
    out: dict[str, torch.Tensor] = {}
    for name, module in model.named_modules():
        if isinstance(module, LoRALinear):
            a, b = module.delta()
            out[f"{name}.lora_a"] = a.float().cpu().contiguous()
            out[f"{name}.lora_b"] = b.float().cpu().contiguous()
    return out


def merge_lora(model: nn.Module) -> int:
    """Fold every LoRALinear back into a plain nn.Linear (W += B·A); returns how many."""
    merged = 0
    for name, module in list(model.named_modules()):
        if not isinstance(module, LoRALinear):
            continue
        a, b = module.delta()
        base = module.base
        with torch.no_grad():
            base.weight += (b.float() @ a.float()).to(base.weight.dtype)
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, base)
        merged += 1
    return merged


def apply_lora(model: nn.Module, tensors: dict[str, torch.Tensor]) -> int:
    """Add saved LoRA updates (from `lora_tensors`) to a plain model's weights; returns count."""
    modules = {k.rsplit(".", 1)[0] for k in tensors}
    for name in sorted(modules):
        a = tensors[f"{name}.lora_a"].float()
        b = tensors[f"{name}.lora_b"].float()
        linear = model.get_submodule(name)
        if not isinstance(linear, nn.Linear) or linear.weight.shape != (b.shape[0], a.shape[1]):
            raise ValueError(f"LoRA update for {name} does not fit the model")
        with torch.no_grad():
            linear.weight += (b @ a).to(linear.weight.dtype)
    return len(modules)
