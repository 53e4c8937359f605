"""Parameter accounting per component, computed from the module tree built on the meta device."""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from sciforge.model.config import ModelConfig

# Display order of the components.
COMPONENTS = (
    "embeddings",
    "attention",
    "router",
    "routed experts",
    "shared experts",
    "dense MLP",
    "norms",
    "lm_head",
    "vision encoder",
    "vision projector",
    "time-series encoder",
    "time-series projector",
)
LM_COMPONENTS = COMPONENTS[:8]


@dataclass
class ParamRow:
    component: str
    total: int
    active: int


def component_of(name: str) -> str:
    if name.startswith("vision_model."):
        return "vision projector" if name.startswith("vision_model.projector.") else "vision encoder"
    if name.startswith("time_series_model."):
        return (
            "time-series projector"
            if name.startswith("time_series_model.projector.")
            else "time-series encoder"
        )
    if name.startswith("model.embed_tokens."):
        return "embeddings"
    if name.startswith("lm_head."):
        return "lm_head"
    if ".self_attn." in name and not name.endswith("_norm.weight"):
        return "attention"
    if ".mlp.gate." in name:
        return "router"
    if ".mlp.experts." in name:
        return "routed experts"
    if ".mlp.shared_expert." in name:
        return "shared experts"
    if re.search(r"\.mlp\.(gate|up|down)_proj\.", name):
        return "dense MLP"
    if "norm" in name:
        return "norms"
    raise ValueError(f"unclassified parameter {name}")


def count_parameters(model: nn.Module, cfg: ModelConfig) -> list[ParamRow]:
    """Total and activated (per token) parameters per component.

    Routed experts count k/E of their parameters as active (each token runs top-k of E experts);
    everything else, encoders included, is active for the tokens that use it. Tied weights count once.
    """
    totals = dict.fromkeys(COMPONENTS, 0)
    seen: set[int] = set()
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in seen:
            continue
        seen.add(id(p))
        totals[component_of(name)] += p.numel()
    frac = cfg.num_experts_per_tok / cfg.num_experts if cfg.num_experts else 0.0
    rows = []
    for comp in COMPONENTS:
        total = totals[comp]
        active = round(total * frac) if comp == "routed experts" else total
        rows.append(ParamRow(comp, total, active))
    return rows


def describe(cfg: ModelConfig) -> list[ParamRow]:
    """Build the model on the meta device (no memory, no init cost) and count its parameters."""
    from sciforge.model.model import SciForgeModel

    with torch.device("meta"):
        model = SciForgeModel(cfg)
    return count_parameters(model, cfg)


def summarize(rows: list[ParamRow]) -> dict[str, tuple[int, int]]:
    lm = [r for r in rows if r.component in LM_COMPONENTS]
    vision = [r for r in rows if r.component.startswith("vision")]
    ts = [r for r in rows if r.component.startswith("time-series")]
    out = {}
    for label, group in (("language model", lm), ("vision", vision), ("time series", ts), ("TOTAL", rows)):
        out[label] = (sum(r.total for r in group), sum(r.active for r in group))
    return out


def human(n: int) -> str:
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def markdown_table(cfg: ModelConfig, rows: list[ParamRow]) -> str:
    lines = [f"| {cfg.name} component | total | activated |", "|---|---:|---:|"]
    for r in rows:
        if r.total:
            lines.append(f"| {r.component} | {human(r.total)} | {human(r.active)} |")
    for label, (total, active) in summarize(rows).items():
        if total:
            lines.append(f"| **{label}** | **{human(total)}** | **{human(active)}** |")
    return "\n".join(lines)
