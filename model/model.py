"""The model: a decoder-only MoE language model with optional vision and time-series encoders.

Read top to bottom: `Block` (attention + dense-or-MoE MLP), `MoETransformer` (the LM trunk),
`SciForgeModel` (embeddings with images and series spliced in at their placeholders, the trunk, the
LM head and the losses). Parallelism, optimisers and checkpoint sharding live elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from sciforge.model.config import ModelConfig
from sciforge.model.layers import (
    Attention,
    KVCache,
    LinearFactory,
    RMSNorm,
    RotaryEmbedding,
    SwiGLU,
    build_attention_mask,
    make_linear_cls,
    positions_from_doc_ids,
)
from sciforge.model.moe import GroupedExperts, MoEFeedForward, RouterStats
from sciforge.model.timeseries import TimeSeriesEncoder
from sciforge.model.vision import VisionEncoder

IGNORE_INDEX = -100  # PyTorch / HF convention for positions without a target


@dataclass
class ModelOutput:
    logits: torch.Tensor
    loss: torch.Tensor | None = None  # lm_loss + aux_coef * aux_loss + z_coef * z_loss
    lm_loss: torch.Tensor | None = None
    aux_loss: torch.Tensor | None = None  # mean over MoE layers
    z_loss: torch.Tensor | None = None
    tokens_per_expert: torch.Tensor | None = None  # (moe_layers, E)
    dropped_assignments: int = 0


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, layer_idx: int, linear_cls: LinearFactory) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg, layer_idx, linear_cls)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp: nn.Module
        if cfg.is_moe_layer(layer_idx):
            self.mlp = MoEFeedForward(cfg, linear_cls)
        else:
            self.mlp = SwiGLU(cfg.hidden_size, cfg.intermediate_size, linear_cls)

    def forward(
        self,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        mask: torch.Tensor | None,
        cache: KVCache | None,
    ) -> tuple[torch.Tensor, RouterStats | None]:
        x = x + self.self_attn(self.input_layernorm(x), rope, mask, cache)
        h = self.post_attention_layernorm(x)
        if isinstance(self.mlp, MoEFeedForward):
            y, stats = self.mlp(h)
            return x + y, stats
        return x + self.mlp(h), None


class MoETransformer(nn.Module):
    """Token embeddings + decoder blocks + final norm (HF name: `model`)."""

    def __init__(self, cfg: ModelConfig, linear_cls: LinearFactory) -> None:
        super().__init__()
        # Weights are initialised by SciForgeModel.reset_parameters (skipped on the meta device).
        self.embed_tokens = nn.Embedding(
            cfg.vocab_size, cfg.hidden_size, _weight=torch.empty(cfg.vocab_size, cfg.hidden_size)
        )
        self.layers = nn.ModuleList([Block(cfg, i, linear_cls) for i in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.rotary = RotaryEmbedding(cfg.head_dim, cfg.rope_theta)

    def forward(
        self,
        x: torch.Tensor,
        position_ids: torch.Tensor,
        mask: torch.Tensor | None,
        cache: KVCache | None,
    ) -> tuple[torch.Tensor, list[RouterStats]]:
        rope = self.rotary(position_ids, x.dtype)
        stats = []
        for block in self.layers:
            x, s = block(x, rope, mask, cache)
            if s is not None:
                stats.append(s)
        return self.norm(x), stats


class SciForgeModel(nn.Module):
    """Intern-S1-style multimodal MoE model (text-only when the config has no encoders)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        cfg.validate()
        self.config = cfg
        linear_cls = make_linear_cls(cfg.fp8)
        self.model = MoETransformer(cfg, linear_cls)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        # The vision tower stays in BF16 even with fp8 (Intern-S1 report), so it uses plain nn.Linear.
        self.vision_model = VisionEncoder(cfg.vision, cfg.hidden_size) if cfg.vision is not None else None
        self.time_series_model = (
            TimeSeriesEncoder(cfg.time_series, cfg.hidden_size) if cfg.time_series is not None else None
        )
        self.reset_parameters()

    # ------------------------------------------------------------------ init
    @torch.no_grad()
    def reset_parameters(self) -> None:
        """GPT-2 init: N(0, 0.02), residual-output projections scaled by 1/sqrt(2 * layers)."""
        if self.lm_head.weight.is_meta:
            return  # nothing to initialise (and normal_ on meta tensors is slow to first call)
        std = self.config.initializer_range
        resid_std = std / math.sqrt(2 * self.config.num_hidden_layers)
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear | nn.Conv1d | nn.Conv2d):
                out_proj = name.endswith(("o_proj", "down_proj"))
                nn.init.normal_(module.weight, std=resid_std if out_proj else std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=std)
            elif isinstance(module, GroupedExperts):
                nn.init.normal_(module.gate_proj, std=std)
                nn.init.normal_(module.up_proj, std=std)
                nn.init.normal_(module.down_proj, std=resid_std)
            elif isinstance(module, VisionEncoder):
                nn.init.normal_(module.class_embedding, std=std)
                nn.init.normal_(module.position_embedding, std=std)

    # ------------------------------------------------------------------ inputs
    def embed(
        self,
        input_ids: torch.Tensor,
        pixel_values: torch.Tensor | None = None,
        time_series: Sequence[torch.Tensor] | None = None,
        ts_sampling_rates: Sequence[float] | None = None,
    ) -> torch.Tensor:
        """Token embeddings with image / series features written over their placeholder tokens, in order."""
        cfg = self.config
        x = self.model.embed_tokens(input_ids)
        if pixel_values is not None and self.vision_model is None:
            raise ValueError("pixel_values given but this model has no vision encoder")
        if time_series and self.time_series_model is None:
            raise ValueError("time series given but this model has no time-series encoder")
        # Placeholder ids are ordinary tokens for a model without the matching encoder.
        if self.vision_model is not None and cfg.image_token_id is not None:
            x = self._splice(x, input_ids == cfg.image_token_id, "image", self._encode_images(pixel_values))
        if self.time_series_model is not None and cfg.ts_token_id is not None:
            x = self._splice(
                x,
                input_ids == cfg.ts_token_id,
                "time-series",
                self._encode_series(time_series, ts_sampling_rates),
            )
        return x

    def _encode_images(self, pixel_values: torch.Tensor | None) -> torch.Tensor | None:
        if pixel_values is None or self.vision_model is None:
            return None
        return self.vision_model(pixel_values).flatten(0, 1)

    def _encode_series(
        self, series: Sequence[torch.Tensor] | None, rates: Sequence[float] | None
    ) -> torch.Tensor | None:
        if series is None or len(series) == 0 or self.time_series_model is None:
            return None
        if rates is None:
            raise ValueError("ts_sampling_rates is required with time_series")
        return torch.cat(self.time_series_model(series, rates), dim=0)

    @staticmethod
    def _splice(x: torch.Tensor, where: torch.Tensor, what: str, feats: torch.Tensor | None) -> torch.Tensor:
        n_slots = int(where.sum())
        n_feats = 0 if feats is None else feats.shape[0]
        if n_slots != n_feats:
            raise ValueError(
                f"{n_slots} {what} placeholder tokens but {n_feats} {what} feature vectors; expand each "
                f"placeholder to the encoder's token count (see SciForgeModel.expand_placeholders)"
            )
        if feats is None:
            return x
        return x.masked_scatter(where[..., None], feats.to(x.dtype))

    def image_tokens(self) -> int:
        if self.config.vision is None:
            raise ValueError("this model has no vision encoder")
        return self.config.vision.tokens_per_image

    def series_tokens(self, length: int, sampling_rate: float) -> int:
        from sciforge.model.timeseries import num_series_tokens

        if self.config.time_series is None:
            raise ValueError("this model has no time-series encoder")
        return num_series_tokens(length, sampling_rate, self.config.time_series)

    def expand_placeholders(
        self, token_ids: Sequence[int], series_shapes: Sequence[tuple[int, float]] = ()
    ) -> list[int]:
        """Repeat each single `<image>` id to the image token count and each `<ts>` id to its series'
        token count (series_shapes: (length, sampling_rate) per series, in order)."""
        cfg = self.config
        out: list[int] = []
        series = iter(series_shapes)
        for t in token_ids:
            if t == cfg.image_token_id:
                out.extend([t] * self.image_tokens())
            elif t == cfg.ts_token_id:
                try:
                    length, rate = next(series)
                except StopIteration:
                    raise ValueError("more <ts> placeholders than series shapes") from None
                out.extend([t] * self.series_tokens(length, rate))
            else:
                out.append(t)
        return out

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        input_ids: torch.Tensor,
        labels: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        doc_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        time_series: Sequence[torch.Tensor] | None = None,
        ts_sampling_rates: Sequence[float] | None = None,
        cache: KVCache | None = None,
        num_logits_to_keep: int | None = None,
        label_weights: torch.Tensor | None = None,
    ) -> ModelOutput:
        """input_ids (B, T). `attention_mask` (B, cache_len + T) marks real tokens (1) vs padding (0);
        `doc_ids` (B, T) marks packed documents (attention and RoPE positions stay inside a document);
        `labels` (B, T) are the input ids themselves, shifted here; -100 and placeholders are ignored."""
        cfg = self.config
        b, t = input_ids.shape
        if input_ids.numel() and (int(input_ids.min()) < 0 or int(input_ids.max()) >= cfg.vocab_size):
            raise ValueError(f"token ids must be in [0, {cfg.vocab_size})")
        x = self.embed(input_ids, pixel_values, time_series, ts_sampling_rates)
        offset = cache.length if cache is not None else 0

        if position_ids is None:
            if doc_ids is not None:
                position_ids = positions_from_doc_ids(doc_ids)
            elif attention_mask is not None:
                position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, -t:]
            else:
                position_ids = torch.arange(offset, offset + t, device=x.device).expand(b, t)

        key_valid = None
        if cache is not None:
            new_valid = attention_mask[:, -t:].bool() if attention_mask is not None else True
            cache.valid[:, offset : offset + t] = new_valid
            key_valid = cache.valid
        elif attention_mask is not None and not bool(attention_mask.all()):
            key_valid = attention_mask.bool()
        mask = None
        if cache is not None or key_valid is not None or doc_ids is not None:
            mask = build_attention_mask(t, offset + t, offset, x.device, key_valid, doc_ids)

        h, stats = self.model(x, position_ids, mask, cache)
        if cache is not None:
            cache.length += t
        if num_logits_to_keep is not None:
            h = h[:, -num_logits_to_keep:]
        logits = self.lm_head(h)

        out = ModelOutput(logits=logits)
        if stats:
            out.aux_loss = torch.stack([s.aux_loss for s in stats]).mean()
            out.z_loss = torch.stack([s.z_loss for s in stats]).mean()
            out.tokens_per_expert = torch.stack([s.tokens_per_expert for s in stats])
            out.dropped_assignments = sum(s.dropped for s in stats)
        if labels is not None:
            out.lm_loss = self.lm_loss(logits, labels, label_weights)
            out.loss = out.lm_loss
            if out.aux_loss is not None and out.z_loss is not None:
                out.loss = (
                    out.loss + cfg.router_aux_loss_coef * out.aux_loss + cfg.router_z_loss_coef * out.z_loss
                )
        return out

    def lm_loss(
        self, logits: torch.Tensor, labels: torch.Tensor, label_weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Next-token cross-entropy over text targets only (placeholders and -100 are skipped).

        `label_weights` (B, T), aligned with `labels`, weights each target (e.g. Intern-S1's per-sample
        l^-1/2 weighting); the loss is then sum(w * ce) / sum(w) over the targets that count.
        """
        # Shift the targets rather than slicing the logits: slicing would cost a (B, T, V) copy in backward.
        target = F.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)
        specials = (
            (self.config.image_token_id, self.vision_model),
            (self.config.ts_token_id, self.time_series_model),
        )
        for special, encoder in specials:
            if special is not None and encoder is not None:
                target[target == special] = IGNORE_INDEX
        pred = logits.reshape(-1, logits.shape[-1])
        pred = pred.to(torch.promote_types(pred.dtype, torch.float32))  # fp32 at least
        if label_weights is None:
            return F.cross_entropy(pred, target.reshape(-1), ignore_index=IGNORE_INDEX)
        ce = F.cross_entropy(pred, target.reshape(-1), ignore_index=IGNORE_INDEX, reduction="none")
        w = F.pad(label_weights[:, 1:], (0, 1)).reshape(-1).to(ce.dtype) * (
            target.reshape(-1) != IGNORE_INDEX
        )
        return (ce * w).sum() / w.sum().clamp_min(torch.finfo(torch.float32).tiny)

    def new_cache(self, batch: int, max_len: int) -> KVCache:
        p = self.lm_head.weight
        return KVCache.empty(self.config, batch, max_len, p.device, p.dtype)
