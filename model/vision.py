"""InternViT-style vision encoder: patch embedding, ViT blocks, pixel-unshuffle, MLP projector.

Shapes follow InternViT-6B-448px-V1-5 (RMSNorm, QK-normalisation, layer scale) and InternVL's `mlp1`
projector; images are 448x448 tiles, each becoming (448/14)^2 * 0.5^2 = 256 LM tokens.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sciforge.model.config import VisionConfig
from sciforge.model.layers import RMSNorm


class VisionAttention(nn.Module):
    def __init__(self, cfg: VisionConfig) -> None:
        super().__init__()
        self.n_heads = cfg.num_attention_heads
        self.head_dim = cfg.hidden_size // cfg.num_attention_heads
        self.qkv = nn.Linear(cfg.hidden_size, 3 * cfg.hidden_size, bias=cfg.qkv_bias)
        self.proj = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        # InternViT-6B normalises q and k over the full width (all heads together).
        self.q_norm = RMSNorm(cfg.hidden_size, cfg.layer_norm_eps) if cfg.qk_normalization else None
        self.k_norm = RMSNorm(cfg.hidden_size, cfg.layer_norm_eps) if cfg.qk_normalization else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        if self.q_norm is not None and self.k_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = (z.view(b, t, self.n_heads, self.head_dim).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v)  # bidirectional
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class VisionBlock(nn.Module):
    def __init__(self, cfg: VisionConfig) -> None:
        super().__init__()
        self.norm1 = RMSNorm(cfg.hidden_size, cfg.layer_norm_eps)
        self.attn = VisionAttention(cfg)
        self.ls1 = nn.Parameter(torch.full((cfg.hidden_size,), cfg.layer_scale_init))
        self.norm2 = RMSNorm(cfg.hidden_size, cfg.layer_norm_eps)
        self.fc1 = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.fc2 = nn.Linear(cfg.intermediate_size, cfg.hidden_size)
        self.ls2 = nn.Parameter(torch.full((cfg.hidden_size,), cfg.layer_scale_init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1 * self.attn(self.norm1(x))
        return x + self.ls2 * self.fc2(F.gelu(self.fc1(self.norm2(x))))


def pixel_unshuffle(x: torch.Tensor, ratio: float) -> torch.Tensor:
    """(N, H, W, C) -> (N, H*r, W*r, C/r^2) for r = ratio < 1: folds (1/r)x(1/r) neighbours into channels."""
    n, h, w, c = x.shape
    f = round(1 / ratio)
    x = x.reshape(n, h // f, f, w // f, f, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(n, h // f, w // f, c * f * f)


class VisionEncoder(nn.Module):
    """pixel_values (N, 3, S, S) -> (N, tokens_per_image, lm_hidden)."""

    def __init__(self, cfg: VisionConfig, lm_hidden: int) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.hidden_size
        self.patch_embedding = nn.Conv2d(
            cfg.num_channels, d, kernel_size=cfg.patch_size, stride=cfg.patch_size
        )
        self.class_embedding = nn.Parameter(torch.zeros(1, 1, d))
        self.position_embedding = nn.Parameter(torch.zeros(1, cfg.num_patches + 1, d))
        self.layers = nn.ModuleList([VisionBlock(cfg) for _ in range(cfg.num_hidden_layers)])
        fold = round(1 / cfg.downsample_ratio)
        merged = d * fold * fold
        # InternVL `mlp1`: LayerNorm -> Linear -> GELU -> Linear into the LM embedding space.
        self.projector = nn.Sequential(
            nn.LayerNorm(merged), nn.Linear(merged, lm_hidden), nn.GELU(), nn.Linear(lm_hidden, lm_hidden)
        )

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        if pixel_values.dim() != 4 or pixel_values.shape[1] != cfg.num_channels:
            raise ValueError(
                f"pixel_values must be (N, {cfg.num_channels}, H, W), got {tuple(pixel_values.shape)}"
            )
        if pixel_values.shape[-2:] != (cfg.image_size, cfg.image_size):
            raise ValueError(
                f"images must be {cfg.image_size}x{cfg.image_size} tiles (got {tuple(pixel_values.shape[-2:])}); "
                "split larger images into tiles first"
            )
        dtype = self.patch_embedding.weight.dtype
        x = self.patch_embedding(pixel_values.to(dtype))  # (N, D, h, w)
        n, d, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([self.class_embedding.expand(n, -1, -1), x], dim=1) + self.position_embedding
        for layer in self.layers:
            x = layer(x)
        x = x[:, 1:].reshape(n, h, w, d)  # drop the class token
        x = pixel_unshuffle(x, cfg.downsample_ratio)
        return self.projector(x.reshape(n, -1, x.shape[-1]))
