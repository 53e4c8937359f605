"""sciforge model family: an Intern-S1-style MoE language model with vision and time-series encoders.

from sciforge.model import build_model
model = build_model("tiny")                 # or a ModelConfig, or a saved checkpoint folder
"""

from __future__ import annotations

from pathlib import Path

import torch

from sciforge.model.checkpoint import load_pretrained, save_pretrained
from sciforge.model.config import PRESETS, ModelConfig, TimeSeriesConfig, VisionConfig, get_config
from sciforge.model.generate import GenerationOutput, generate, token_logprobs
from sciforge.model.layers import KVCache, doc_ids_from_separators
from sciforge.model.model import ModelOutput, MoETransformer, SciForgeModel
from sciforge.model.moe import MoEFeedForward, load_balancing_loss, router_z_loss
from sciforge.model.timeseries import TimeSeriesEncoder
from sciforge.model.vision import VisionEncoder

__all__ = [
    "PRESETS",
    "GenerationOutput",
    "KVCache",
    "ModelConfig",
    "ModelOutput",
    "MoEFeedForward",
    "MoETransformer",
    "SciForgeModel",
    "TimeSeriesConfig",
    "TimeSeriesEncoder",
    "VisionConfig",
    "VisionEncoder",
    "build_model",
    "doc_ids_from_separators",
    "generate",
    "get_config",
    "load_balancing_loss",
    "load_pretrained",
    "router_z_loss",
    "save_pretrained",
    "token_logprobs",
]


def build_model(
    config: str | ModelConfig | Path,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    seed: int | None = 0,
) -> SciForgeModel:
    """A model from a preset name ("tiny", "small", "1b", "intern_s1"), a ModelConfig, or a checkpoint
    folder written by `save_pretrained` (weights loaded). `device="meta"` builds without memory.
    Fresh weights are seeded (`seed`, None = leave the global RNG alone) so builds are reproducible."""
    if isinstance(config, Path) or (
        isinstance(config, str) and config not in PRESETS and Path(config).is_dir()
    ):
        return load_pretrained(config, device=device or "cpu", dtype=dtype)
    cfg = get_config(config) if isinstance(config, str) else config
    if seed is not None and str(device) != "meta":
        torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        model = SciForgeModel(cfg)
    if dtype is not None:
        model.to(dtype)
    return model
