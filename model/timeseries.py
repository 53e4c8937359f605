"""Time-series encoder: adaptive downsampling, transformer blocks, projector into the LM.

Each series is a (length, channels) tensor with its sampling rate. It is standardised per channel,
average-pooled by a factor chosen from its length and sampling rate, patched by a strided 1-D
convolution shared across channels (channel-independent, then averaged, so any channel count works),
encoded by bidirectional pre-LN transformer blocks and projected to the LM width. Series of different
lengths are padded and masked inside one batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sciforge.model.config import TimeSeriesConfig

# Per-channel standardisation (RevIN, Kim et al. 2022) guards against series with a zero variance.
STANDARDIZE_EPS = 1e-5
# Sinusoidal positions (Vaswani et al. 2017) base wavelength.
SINUSOID_BASE = 10000.0


def pool_factor(length: int, sampling_rate: float, cfg: TimeSeriesConfig) -> int:
    """Average-pooling factor: enough that tokens come at <= target_token_rate_hz and <= max_tokens."""
    by_rate = sampling_rate / (cfg.patch_stride * cfg.target_token_rate_hz)
    by_length = length / (cfg.patch_stride * cfg.max_tokens)
    return max(1, math.ceil(by_rate - 1e-9), math.ceil(by_length))


def num_series_tokens(length: int, sampling_rate: float, cfg: TimeSeriesConfig) -> int:
    """LM tokens a series of `length` samples yields (use it to expand `<ts>` placeholders)."""
    if length < 1:
        raise ValueError("a time series needs at least one sample")
    pooled = math.ceil(length / pool_factor(length, sampling_rate, cfg))
    kernel, stride = 2 * cfg.patch_stride, cfg.patch_stride
    return max(1, math.ceil(max(pooled - kernel, 0) / stride) + 1)


def sinusoid(n: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    pos = torch.arange(n, device=device, dtype=torch.float32)[:, None]
    div = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(SINUSOID_BASE) / dim)
    )
    pe = torch.zeros(n, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : dim // 2]
    return pe.to(dtype)


class TimeSeriesBlock(nn.Module):
    def __init__(self, cfg: TimeSeriesConfig) -> None:
        super().__init__()
        d = cfg.hidden_size
        self.n_heads = cfg.num_attention_heads
        self.norm1 = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.fc1 = nn.Linear(d, cfg.intermediate_size)
        self.fc2 = nn.Linear(cfg.intermediate_size, d)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = (
            z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2)
            for z in self.qkv(self.norm1(x)).chunk(3, dim=-1)
        )
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask[:, None, None, :])
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class TimeSeriesEncoder(nn.Module):
    """list of (length_i, channels_i) series + sampling rates -> list of (tokens_i, lm_hidden)."""

    def __init__(self, cfg: TimeSeriesConfig, lm_hidden: int) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.hidden_size
        self.patch_embed = nn.Conv1d(1, d, kernel_size=2 * cfg.patch_stride, stride=cfg.patch_stride)
        self.layers = nn.ModuleList([TimeSeriesBlock(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.projector = nn.Sequential(
            nn.LayerNorm(d), nn.Linear(d, lm_hidden), nn.GELU(), nn.Linear(lm_hidden, lm_hidden)
        )

    def embed_one(self, series: torch.Tensor, sampling_rate: float) -> torch.Tensor:
        cfg = self.cfg
        if series.dim() == 1:
            series = series[:, None]
        if series.dim() != 2:
            raise ValueError(f"a time series must be (length, channels), got {tuple(series.shape)}")
        length, channels = series.shape
        if length < 1 or channels < 1:
            raise ValueError("empty time series")
        if channels > cfg.max_channels:
            raise ValueError(
                f"time series has {channels} channels; this encoder accepts at most {cfg.max_channels}"
            )
        if not sampling_rate > 0:
            raise ValueError(f"sampling rate must be positive, got {sampling_rate}")
        x = series.to(self.patch_embed.weight.dtype).T  # (C, L)
        if not torch.isfinite(x).all():
            raise ValueError("time series contains NaN or inf")
        x = (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True, unbiased=False) + STANDARDIZE_EPS)
        f = pool_factor(length, sampling_rate, cfg)
        x = F.avg_pool1d(x[:, None], kernel_size=f, stride=f, ceil_mode=True)  # (C, 1, L')
        n_tok = num_series_tokens(length, sampling_rate, cfg)
        kernel, stride = 2 * cfg.patch_stride, cfg.patch_stride
        x = F.pad(x, (0, (n_tok - 1) * stride + kernel - x.shape[-1]))
        h = F.gelu(self.patch_embed(x))  # (C, D, n_tok)
        return h.mean(0).T  # channel-averaged (n_tok, D)

    def forward(self, series: Sequence[torch.Tensor], sampling_rates: Sequence[float]) -> list[torch.Tensor]:
        if len(series) != len(sampling_rates):
            raise ValueError("one sampling rate per time series is required")
        embeds = [self.embed_one(s, float(sr)) for s, sr in zip(series, sampling_rates, strict=True)]
        lengths = [e.shape[0] for e in embeds]
        x = nn.utils.rnn.pad_sequence(embeds, batch_first=True)
        x = x + sinusoid(x.shape[1], x.shape[2], x.device, x.dtype)
        key_mask = (
            torch.arange(x.shape[1], device=x.device)[None] < torch.tensor(lengths, device=x.device)[:, None]
        )
        for layer in self.layers:
            x = layer(x, key_mask)
        x = self.projector(self.norm(x))
        return [x[i, :n] for i, n in enumerate(lengths)]
