"""Model configurations: one dataclass per component, named presets from `tiny` to paper scale.

Field names follow the Hugging Face Qwen3-MoE / InternVL configs where one exists, so the exported
`config.json` reads like theirs (see `model/checkpoint.py`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

# Router loss weights: XTuner's Intern-S1 recipes use 0.001 for both the load-balancing loss and the
# router z-loss (the z-loss itself is from ST-MoE, Zoph et al. 2022).
ROUTER_AUX_LOSS_COEF = 1e-3
ROUTER_Z_LOSS_COEF = 1e-3
# Embedding rows are padded to a multiple of this so GEMMs on the vocabulary stay aligned
# (Megatron-LM's --make-vocab-size-divisible-by default is 128).
VOCAB_PAD_MULTIPLE = 128
# GPT-2 / nanoGPT initialisation scale.
INIT_STD = 0.02


@dataclass
class VisionConfig:
    """InternViT-style ViT + pixel-unshuffle + MLP projector (InternVL's `mlp1`)."""

    image_size: int = 448
    patch_size: int = 14
    num_channels: int = 3
    hidden_size: int = 3200
    num_hidden_layers: int = 45
    num_attention_heads: int = 25
    intermediate_size: int = 12800
    qk_normalization: bool = True  # InternViT-6B normalises q and k over the full width
    qkv_bias: bool = False
    layer_norm_eps: float = 1e-6
    layer_scale_init: float = 0.1  # InternViT `initializer_factor` for ls1/ls2
    # InternVL keeps 1/4 of the patch tokens: a 0.5 pixel-unshuffle folds 2x2 patches into one token.
    downsample_ratio: float = 0.5

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def tokens_per_image(self) -> int:
        return int(self.num_patches * self.downsample_ratio**2)

    def validate(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError(
                f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}"
            )
        side = self.image_size // self.patch_size
        fold = round(1 / self.downsample_ratio)
        if abs(1 / self.downsample_ratio - fold) > 1e-6 or side % fold:
            raise ValueError(
                f"downsample_ratio {self.downsample_ratio} must fold the {side}x{side} patch grid"
            )
        if self.hidden_size % self.num_attention_heads:
            raise ValueError("vision hidden_size must be divisible by num_attention_heads")


@dataclass
class TimeSeriesConfig:
    """Adaptive downsampling (pooling + strided conv) -> transformer blocks -> projector."""

    hidden_size: int = 1024
    num_hidden_layers: int = 24
    num_attention_heads: int = 16
    intermediate_size: int = 4096
    layer_norm_eps: float = 1e-5
    # Strided-conv patching: kernel 2*stride, stride `patch_stride` (50% overlap, as Intern-S1's
    # lmdeploy time-series embedder uses patch = 2 * stride).
    patch_stride: int = 8
    # A series is average-pooled by an integer factor chosen so that (a) one conv step spans at least
    # 1 / target_token_rate_hz seconds and (b) the series yields at most `max_tokens` tokens.
    # 50 Hz is Whisper's encoder frame rate (its 2x-downsampled 100 Hz mel frames).
    target_token_rate_hz: float = 50.0
    max_tokens: int = 1024
    max_channels: int = 64  # reject wider inputs with a clear error instead of silently truncating

    def validate(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError("time-series hidden_size must be divisible by num_attention_heads")
        if self.patch_stride < 1 or self.max_tokens < 1:
            raise ValueError("patch_stride and max_tokens must be positive")


@dataclass
class ModelConfig:
    """The MoE language model (Qwen3-MoE field names) plus optional encoders."""

    name: str = "custom"
    vocab_size: int = 151936
    hidden_size: int = 4096
    num_hidden_layers: int = 94
    num_attention_heads: int = 64
    num_key_value_heads: int = 4
    head_dim: int = 128
    rms_norm_eps: float = 1e-6
    rope_theta: float = 1e6
    max_position_embeddings: int = 40960
    tie_word_embeddings: bool = False
    # MoE
    num_experts: int = 128
    num_experts_per_tok: int = 8
    moe_intermediate_size: int = 1536
    norm_topk_prob: bool = True
    shared_expert_intermediate_size: int = 0  # 0 = no shared expert
    first_k_dense_replace: int = 0  # the first k layers use a dense SwiGLU MLP
    intermediate_size: int = 12288  # dense-MLP width (only used by the dense layers)
    router_aux_loss_coef: float = ROUTER_AUX_LOSS_COEF
    router_z_loss_coef: float = ROUTER_Z_LOSS_COEF
    # Tokens per expert = ceil(capacity_factor * tokens * top_k / experts) during training;
    # None = drop-free. Evaluation and generation are always drop-free.
    capacity_factor: float | None = None
    initializer_range: float = INIT_STD
    # Multimodal
    vision: VisionConfig | None = None
    time_series: TimeSeriesConfig | None = None
    image_token_id: int | None = None
    ts_token_id: int | None = None
    pad_token_id: int | None = None
    eos_token_id: int | None = None
    # name -> [start, end) id range of each tokenizer modality (dynamic tokenizer)
    modality_ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    # FP8 linear layers (sciforge.kernels.fp8.Fp8Linear) for attention and dense/shared MLP projections.
    fp8: bool = False

    # ------------------------------------------------------------------ derived / checks
    @property
    def num_moe_layers(self) -> int:
        return self.num_hidden_layers - self.first_k_dense_replace

    def is_moe_layer(self, layer_idx: int) -> bool:
        return self.num_experts > 0 and layer_idx >= self.first_k_dense_replace

    def validate(self) -> ModelConfig:
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(
                f"num_attention_heads {self.num_attention_heads} must be a multiple of "
                f"num_key_value_heads {self.num_key_value_heads}"
            )
        if self.head_dim % 2:
            raise ValueError("head_dim must be even for RoPE")
        if self.num_experts and not 0 < self.num_experts_per_tok <= self.num_experts:
            raise ValueError(f"num_experts_per_tok must be in [1, {self.num_experts}]")
        if self.capacity_factor is not None and self.capacity_factor <= 0:
            raise ValueError("capacity_factor must be positive or None")
        if not 0 <= self.first_k_dense_replace <= self.num_hidden_layers:
            raise ValueError("first_k_dense_replace must be within [0, num_hidden_layers]")
        spans = sorted((tuple(v), k) for k, v in self.modality_ranges.items())
        prev_end = 0
        for (start, end), key in spans:
            if not 0 <= start < end <= self.vocab_size:
                raise ValueError(
                    f"modality range {key}={start, end} is outside [0, vocab_size={self.vocab_size})"
                )
            if start < prev_end:
                raise ValueError(f"modality range {key} overlaps another range")
            prev_end = end
        for tok_name in ("image_token_id", "ts_token_id", "pad_token_id", "eos_token_id"):
            tok = getattr(self, tok_name)
            if tok is not None and not 0 <= tok < self.vocab_size:
                raise ValueError(f"{tok_name}={tok} is outside the vocabulary ({self.vocab_size})")
        if self.vision is not None:
            self.vision.validate()
            if self.image_token_id is None:
                raise ValueError("a vision encoder needs image_token_id")
        if self.time_series is not None:
            self.time_series.validate()
            if self.ts_token_id is None:
                raise ValueError("a time-series encoder needs ts_token_id")
        return self

    def modality_of(self, token_id: int) -> str | None:
        for key, (start, end) in self.modality_ranges.items():
            if start <= token_id < end:
                return key
        return None

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["modality_ranges"] = {k: list(v) for k, v in self.modality_ranges.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        kwargs = {k: v for k, v in data.items() if k in known}
        if kwargs.get("vision") is not None:
            kwargs["vision"] = _build(VisionConfig, kwargs["vision"])
        if kwargs.get("time_series") is not None:
            kwargs["time_series"] = _build(TimeSeriesConfig, kwargs["time_series"])
        kwargs["modality_ranges"] = {
            k: (int(v[0]), int(v[1])) for k, v in kwargs.get("modality_ranges", {}).items()
        }
        cfg = cls(**kwargs)
        cfg._ignored_keys = sorted(unknown)  # type: ignore[attr-defined]
        return cfg.validate()

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes).validate()

    # ------------------------------------------------------------------ tokenizer protocol
    @classmethod
    def from_tokenizer(cls, tok: Any, base: str | ModelConfig = "tiny", **overrides: Any) -> ModelConfig:
        """Size the embeddings for any HF-style tokenizer.

        Reads `len(tok)` (falls back to `tok.vocab_size`), an optional `tok.modality_ranges`
        (name -> (start, end)), and resolves `<image>` / `<ts>` / pad / eos ids when the tokenizer has them.
        The tokenizer package is never imported here: any object with that surface works.
        """
        cfg = get_config(base) if isinstance(base, str) else base
        try:
            n_tokens = len(tok)
        except TypeError:
            n_tokens = int(tok.vocab_size)
        ranges = {
            k: (int(v[0]), int(v[1])) for k, v in dict(getattr(tok, "modality_ranges", None) or {}).items()
        }
        needed = max([n_tokens] + [end for _, end in ranges.values()])
        changes: dict[str, Any] = {
            "vocab_size": pad_vocab(needed),
            "modality_ranges": ranges,
            "image_token_id": _special_id(tok, "<image>", "image_token"),
            "ts_token_id": _special_id(tok, "<ts>", "ts_token"),
            "pad_token_id": _first_int(tok, "pad_token_id", "pad_id"),
            "eos_token_id": _first_int(tok, "eos_token_id", "eod_id", "eos_id"),
        }
        if changes["image_token_id"] is None and cfg.vision is not None:
            changes["vision"] = None
        if changes["ts_token_id"] is None and cfg.time_series is not None:
            changes["time_series"] = None
        changes.update(overrides)
        return cfg.replace(**changes)


def _build(klass: type, data: Any) -> Any:
    if isinstance(data, klass):
        return data
    known = {f.name for f in dataclasses.fields(klass)}
    return klass(**{k: v for k, v in data.items() if k in known})


def _first_int(tok: Any, *attrs: str) -> int | None:
    for attr in attrs:
        value = getattr(tok, attr, None)
        if isinstance(value, int):
            return value
    return None


def _special_id(tok: Any, token: str, attr: str) -> int | None:
    """Id of a special token, or None when the tokenizer does not define it."""
    explicit = getattr(tok, f"{attr}_id", None)
    if isinstance(explicit, int):
        return explicit
    get_vocab = getattr(tok, "get_vocab", None)
    if callable(get_vocab):
        vocab = get_vocab()
        if token in vocab:
            return int(vocab[token])
    return None


def pad_vocab(n: int, multiple: int = VOCAB_PAD_MULTIPLE) -> int:
    return int(math.ceil(n / multiple) * multiple)


# ---------------------------------------------------------------------- presets
def _tiny() -> ModelConfig:
    # Trains on a laptop CPU in minutes; exercises the code paths of the exported layout (dense first
    # layer, MoE, vision and time-series encoders). No shared expert: every preset mirrors Qwen3-MoE, so a
    # text-only export is a Qwen3-MoE checkpoint that `transformers` loads exactly (model/checkpoint.py);
    # `shared_expert_intermediate_size > 0` stays available and exports in this project's own layout.
    # Top-3 of 8 experts of width 64 keeps the per-token MLP width (192) the preset had with top-2 plus a
    # 64-wide shared expert: with top-2 alone the from-scratch RL smoke run (tests/rl/test_trend.py) no
    # longer learned within its 30 steps.
    return ModelConfig(
        name="tiny",
        vocab_size=512,
        hidden_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        rope_theta=1e4,
        max_position_embeddings=2048,
        num_experts=8,
        num_experts_per_tok=3,
        moe_intermediate_size=64,
        first_k_dense_replace=1,
        intermediate_size=192,
        vision=VisionConfig(
            image_size=56,
            patch_size=14,
            hidden_size=48,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=96,
        ),
        time_series=TimeSeriesConfig(
            hidden_size=48,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=96,
            patch_stride=4,
            max_tokens=32,
            max_channels=8,
        ),
        image_token_id=1,
        ts_token_id=2,
        pad_token_id=0,
        eos_token_id=3,
    )


def _small() -> ModelConfig:
    return ModelConfig(
        name="small",
        hidden_size=512,
        num_hidden_layers=8,
        num_attention_heads=8,
        num_key_value_heads=2,
        head_dim=64,
        max_position_embeddings=8192,
        num_experts=16,
        num_experts_per_tok=2,
        moe_intermediate_size=512,
        vision=VisionConfig(
            image_size=224,
            patch_size=14,
            hidden_size=384,
            num_hidden_layers=6,
            num_attention_heads=6,
            intermediate_size=1536,
        ),
        time_series=TimeSeriesConfig(
            hidden_size=384, num_hidden_layers=4, num_attention_heads=6, intermediate_size=1536
        ),
        image_token_id=151655,  # Qwen2/3 `<|image_pad|>`
        ts_token_id=151654,  # Qwen2/3 `<|video_pad|>` slot, re-used until the dynamic tokenizer assigns one
        pad_token_id=151643,
        eos_token_id=151645,
    )


def _1b() -> ModelConfig:
    # About 1.2B total / 0.5B active parameters in the LM: the MFU target config for one Hopper GPU.
    return ModelConfig(
        name="1b",
        hidden_size=1024,
        num_hidden_layers=16,
        num_attention_heads=16,
        num_key_value_heads=4,
        head_dim=64,
        max_position_embeddings=8192,
        num_experts=32,
        num_experts_per_tok=4,
        moe_intermediate_size=512,
        vision=VisionConfig(
            image_size=448,
            patch_size=14,
            hidden_size=1024,
            num_hidden_layers=24,
            num_attention_heads=16,
            intermediate_size=4096,
            qk_normalization=False,
            qkv_bias=True,
        ),  # InternViT-300M shapes
        time_series=TimeSeriesConfig(
            hidden_size=512, num_hidden_layers=6, num_attention_heads=8, intermediate_size=2048
        ),
        image_token_id=151655,
        ts_token_id=151654,
        pad_token_id=151643,
        eos_token_id=151645,
    )


# Intern-S1's vocabulary and image token, from XTuner's Intern-S1 config (InternLM/xtuner,
# xtuner/v1/model/interns1/interns1_config.py: `InternS1Config.text_config = Qwen3MoE235BA22Config(
# vocab_size=153216)`, `image_token_id = 152957`, the `<IMG_CONTEXT>` token). The Qwen3 base has 151,936
# rows; Intern-S1 appends the dynamic tokenizer's extra pieces and its multimodal tokens after them.
INTERN_S1_VOCAB_SIZE = 153216
INTERN_S1_IMAGE_TOKEN_ID = 152957
# Qwen3 special tokens, unchanged in Intern-S1 (XTuner's Qwen3MoE235BA22Config: bos 151643 =
# `<|endoftext|>`, also the tokenizer's pad token; eos 151645 = `<|im_end|>`).
QWEN3_ENDOFTEXT_ID = 151643
QWEN3_IM_END_ID = 151645


def _intern_s1() -> ModelConfig:
    # Qwen3-235B-A22B (published config.json) + InternViT-6B-448px-V1-5 + a time-series encoder, with
    # Intern-S1's vocabulary and image token (see INTERN_S1_VOCAB_SIZE).
    # The report does not publish the time-series encoder's shapes; we size it like a Whisper-medium
    # encoder (24 layers, width 1024), matching the 1024-wide features of Intern-S1's released code.
    # Its placeholder token id is not published either: Qwen's `<|video_pad|>` slot (151654) stands in.
    return ModelConfig(
        name="intern_s1",
        vocab_size=INTERN_S1_VOCAB_SIZE,
        hidden_size=4096,
        num_hidden_layers=94,
        num_attention_heads=64,
        num_key_value_heads=4,
        head_dim=128,
        rms_norm_eps=1e-6,
        rope_theta=1e6,
        max_position_embeddings=40960,
        num_experts=128,
        num_experts_per_tok=8,
        moe_intermediate_size=1536,
        norm_topk_prob=True,
        vision=VisionConfig(
            image_size=448,
            patch_size=14,
            hidden_size=3200,
            num_hidden_layers=45,
            num_attention_heads=25,
            intermediate_size=12800,
            qk_normalization=True,
            qkv_bias=False,
        ),
        time_series=TimeSeriesConfig(
            hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096
        ),
        image_token_id=INTERN_S1_IMAGE_TOKEN_ID,
        ts_token_id=151654,
        pad_token_id=QWEN3_ENDOFTEXT_ID,
        eos_token_id=QWEN3_IM_END_ID,
    )


PRESETS = {"tiny": _tiny, "small": _small, "1b": _1b, "intern_s1": _intern_s1}


def get_config(name: str, **overrides: Any) -> ModelConfig:
    """A fresh copy of a named preset, optionally with fields replaced."""
    if name not in PRESETS:
        raise ValueError(f"unknown model config {name!r}; choose one of {sorted(PRESETS)}")
    cfg = PRESETS[name]()
    return cfg.replace(**overrides) if overrides else cfg.validate()
