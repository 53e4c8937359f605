"""Save / load in the Hugging Face layout: `config.json` + `model.safetensors` (+ index when sharded).

Tensor names are Qwen3-MoE's (`model.layers.{i}.self_attn.q_proj.weight`,
`model.layers.{i}.mlp.experts.{j}.gate_proj.weight`, ...): stacked expert weights are written one
expert per tensor, as the released Qwen3-MoE checkpoints are. Encoders are stored under
`vision_model.*` and `time_series_model.*`.

The architecture label is chosen from the config (`hf_architecture`): a text-only model without a
shared expert IS a Qwen3-MoE model (QK-norm before RoPE, softmax top-k router, optional leading dense
layers as `mlp_only_layers`), so it is written as `model_type: qwen3_moe` and
`transformers.AutoModelForCausalLM.from_pretrained` reproduces its logits. Any other config is written as
this project's own `sciforge_intern_s1` type, which `transformers` refuses instead of loading it wrongly:
- encoders: no transformers class has this vision + time-series layout;
- a shared expert: ours is added ungated (DeepSeek style). Qwen2-MoE, the HF layout with a shared
  expert, multiplies it by sigmoid(shared_expert_gate(x)) and has no QK-norm; Hunyuan-MoE applies its
  QK-norm after RoPE; Dots1 / DeepSeek-V3 route with sigmoid scores. None computes the same function,
  so the presets have no shared expert and mirror Qwen3-MoE.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from sciforge.model.config import ModelConfig
from sciforge.model.layers import RotaryEmbedding

if TYPE_CHECKING:
    from sciforge.model.model import SciForgeModel

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"
GENERATION_CONFIG_NAME = "generation_config.json"
# HF's default shard size for save_pretrained.
DEFAULT_MAX_SHARD_BYTES = 5 * 1024**3
_EXPERT_KEY = re.compile(r"^(.*\.mlp\.experts)\.(gate_proj|up_proj|down_proj)$")
_SPLIT_EXPERT_KEY = re.compile(r"^(.*\.mlp\.experts)\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$")


QWEN3_MOE = ("qwen3_moe", "Qwen3MoeForCausalLM")
OWN_LAYOUT = ("sciforge_intern_s1", "SciForgeModel")


def hf_architecture(cfg: ModelConfig) -> tuple[str, str]:
    """(model_type, architecture) for config.json: Qwen3-MoE exactly when the model computes what
    transformers' Qwen3MoeForCausalLM computes (text only, no shared expert), else our own layout."""
    text_only = cfg.vision is None and cfg.time_series is None
    return QWEN3_MOE if text_only and cfg.shared_expert_intermediate_size == 0 else OWN_LAYOUT


def hf_config_dict(cfg: ModelConfig, dtype: torch.dtype) -> dict[str, Any]:
    model_type, architecture = hf_architecture(cfg)
    out = cfg.to_dict()
    out.update(
        {
            "model_type": model_type,
            "architectures": [architecture],
            "torch_dtype": str(dtype).removeprefix("torch."),
            "hidden_act": "silu",
            "attention_bias": False,
            "decoder_sparse_step": 1,
            "mlp_only_layers": list(range(cfg.first_k_dense_replace)),
            "rope_parameters": {"rope_type": "default", "rope_theta": cfg.rope_theta},
            "output_router_logits": False,
        }
    )
    return out


def config_from_hf_dict(data: dict[str, Any]) -> ModelConfig:
    data = dict(data)
    if "mlp_only_layers" in data and "first_k_dense_replace" not in data:
        dense = sorted(data["mlp_only_layers"])
        if dense != list(range(len(dense))):
            raise ValueError("only leading dense layers (mlp_only_layers = 0..k-1) are supported")
        data["first_k_dense_replace"] = len(dense)
    if "rope_theta" not in data and isinstance(data.get("rope_parameters"), dict):
        data["rope_theta"] = data["rope_parameters"].get("rope_theta", 1e6)
    return ModelConfig.from_dict(data)


def export_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's tensors under HF names, experts split one per tensor."""
    out: dict[str, torch.Tensor] = {}
    cfg: ModelConfig = model.config  # type: ignore[assignment]
    for name, t in model.state_dict().items():
        if cfg.tie_word_embeddings and name == "lm_head.weight":
            continue
        m = _EXPERT_KEY.match(name)
        if m:
            for j in range(t.shape[0]):
                out[f"{m.group(1)}.{j}.{m.group(2)}.weight"] = t[j].contiguous()
        else:
            out[name] = t.contiguous()
    return out


def import_state_dict(tensors: dict[str, torch.Tensor], cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """Inverse of `export_state_dict`: stack per-expert tensors back into (E, out, in)."""
    out: dict[str, torch.Tensor] = {}
    experts: dict[tuple[str, str], dict[int, torch.Tensor]] = {}
    for name, t in tensors.items():
        m = _SPLIT_EXPERT_KEY.match(name)
        if m:
            experts.setdefault((m.group(1), m.group(3)), {})[int(m.group(2))] = t
        else:
            out[name] = t
    for (prefix, proj), by_idx in experts.items():
        if sorted(by_idx) != list(range(cfg.num_experts)):
            raise ValueError(
                f"{prefix}.{proj}: expected experts 0..{cfg.num_experts - 1}, found {sorted(by_idx)}"
            )
        out[f"{prefix}.{proj}"] = torch.stack([by_idx[j] for j in range(cfg.num_experts)])
    if cfg.tie_word_embeddings:
        out.setdefault("lm_head.weight", out["model.embed_tokens.weight"])
    return out


def save_pretrained(
    model: torch.nn.Module,
    path: str | Path,
    tokenizer: Any = None,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
) -> Path:
    """Write config.json, generation_config.json, the safetensors weights and (optionally) the tokenizer."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    cfg: ModelConfig = model.config  # type: ignore[assignment]
    tensors = export_state_dict(model)
    dtype = next(iter(tensors.values())).dtype
    (path / CONFIG_NAME).write_text(json.dumps(hf_config_dict(cfg, dtype), indent=2, sort_keys=True) + "\n")
    gen = {"eos_token_id": cfg.eos_token_id, "pad_token_id": cfg.pad_token_id}
    (path / GENERATION_CONFIG_NAME).write_text(json.dumps(gen, indent=2) + "\n")

    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, t in tensors.items():
        nbytes = t.numel() * t.element_size()
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = t
        size += nbytes
    metadata = {"format": "pt"}
    if len(shards) == 1:
        save_file(shards[0], str(path / WEIGHTS_NAME), metadata=metadata)
    else:
        weight_map = {}
        for i, shard in enumerate(shards, start=1):
            fname = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
            save_file(shard, str(path / fname), metadata=metadata)
            weight_map.update(dict.fromkeys(shard, fname))
        total = sum(t.numel() * t.element_size() for t in tensors.values())
        index = {"metadata": {"total_size": total}, "weight_map": weight_map}
        (path / INDEX_NAME).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    if tokenizer is not None:
        tokenizer.save_pretrained(str(path))
    return path


def load_config(path: str | Path) -> ModelConfig:
    return config_from_hf_dict(json.loads((Path(path) / CONFIG_NAME).read_text()))


def _read_tensors(path: Path, device: str | torch.device) -> dict[str, torch.Tensor]:
    files = [path / WEIGHTS_NAME]
    if not files[0].exists():
        index_file = path / INDEX_NAME
        if not index_file.exists():
            raise FileNotFoundError(f"no {WEIGHTS_NAME} or {INDEX_NAME} in {path}")
        files = [path / f for f in sorted(set(json.loads(index_file.read_text())["weight_map"].values()))]
    tensors = {}
    for f in files:
        with safe_open(str(f), framework="pt", device=str(device)) as fh:
            for k in fh.keys():  # noqa: SIM118 - safe_open is not a Mapping
                tensors[k] = fh.get_tensor(k)
    return tensors


def load_pretrained(
    path: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype | None = None
) -> SciForgeModel:
    """Rebuild the model from a saved folder. The module tree is built on the meta device and the
    stored tensors are assigned in place, so no memory is spent on a throw-away initialisation."""
    from sciforge.model.model import SciForgeModel

    path = Path(path)
    cfg = load_config(path)
    with torch.device("meta"):
        model = SciForgeModel(cfg)
    state = import_state_dict(_read_tensors(path, device), cfg)
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if missing or unexpected:
        raise ValueError(
            f"checkpoint does not match the config: missing={missing[:5]} unexpected={unexpected[:5]}"
        )
    if cfg.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    model.model.rotary = RotaryEmbedding(cfg.head_dim, cfg.rope_theta).to(device)  # non-persistent buffer
    if dtype is not None:
        model.to(dtype)
    return model.eval()
