"""Typed options of a training run (JSON or YAML file; a wrong key is a clear error)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

Stage = Literal["cpt", "mmpt", "sft"]
# Relative project files a config names (`deepspeed_config: infra/deepspeed/...`) are looked up next to
# the config file first, then here; never in the current directory.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def resolve_project_file(value: str, config_dir: Path | None = None) -> str:
    """An absolute path for a file a config names: absolute paths stay; a relative one is taken from the
    config file's folder when it exists there, else from the project root."""
    p = Path(value)
    if p.is_absolute():
        return str(p)
    bases = ([config_dir] if config_dir is not None else []) + [PROJECT_ROOT]
    for base in bases:
        if (base / p).is_file():
            return str((base / p).resolve())
    return str((PROJECT_ROOT / p).resolve())  # does not exist: the validator below names it


class BatchPhase(BaseModel):
    """From `start_tokens` consumed tokens on, the global batch holds `global_batch_tokens` tokens."""

    model_config = ConfigDict(extra="forbid")
    start_tokens: int = Field(0, ge=0)
    global_batch_tokens: int = Field(..., ge=1)


class ScheduleConfig(BaseModel):
    """Warmup-Stable-Decay (Hu et al. 2024, MiniCPM; Haegele et al. 2024) in tokens, plus batch warm-up."""

    model_config = ConfigDict(extra="forbid")
    lr: float = Field(3e-4, gt=0)  # peak LR at the FIRST phase's batch size
    warmup_tokens: int = Field(0, ge=0)
    total_tokens: int = Field(..., ge=1)
    # Intern-S1 / WSD practice: decay over the last ~10% of the tokens.
    decay_fraction: float = Field(0.1, ge=0, le=1)
    # "1-sqrt" is the shape Haegele et al. 2024 found best for WSD cool-downs; linear and cosine also offered.
    decay_shape: Literal["linear", "cosine", "1-sqrt"] = "1-sqrt"
    min_lr_ratio: float = Field(0.0, ge=0, le=1)
    # Global batch size schedule. Intern-S1 grows 66M -> 132M tokens after ~400B tokens.
    batch_phases: list[BatchPhase] = Field(default_factory=lambda: [BatchPhase(global_batch_tokens=4096)])
    # LR rule when the batch changes: sqrt (Adam; Malladi et al. 2022 "SDE scaling rule"), linear (SGD,
    # Goyal et al. 2017) or none.
    lr_scaling: Literal["sqrt", "linear", "none"] = "sqrt"

    @model_validator(mode="after")
    def _phases(self) -> ScheduleConfig:
        starts = [p.start_tokens for p in self.batch_phases]
        if not starts or starts[0] != 0:
            raise ValueError("batch_phases must start with a phase at start_tokens=0")
        if starts != sorted(set(starts)):
            raise ValueError("batch_phases start_tokens must be strictly increasing")
        return self


class OptimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # AdamW as in Qwen3 / Intern-S1-style LLM pre-training: betas (0.9, 0.95), wd 0.1, eps 1e-8.
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    weight_decay: float = 0.1
    grad_clip: float = Field(1.0, ge=0)  # global-norm clipping (0 = off)


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # cpt: a corpus snapshot `ref` ("corpus/snapshot/<version>") under `root` (default: the settings'
    # data_root, local or s3://).
    root: str | None = None
    ref: str | None = None
    # sft: a JSONL file of {"messages": [...]} or {"prompt", "candidates", "reference"} records.
    path: str | None = None
    # sft / mmpt: packed row length in tokens (cpt uses the snapshot's).
    seq_len: int = Field(256, ge=8)
    # mmpt: generated samples (molecule images + signals).
    num_samples: int = Field(64, ge=1)
    # sft best-of-N: which verifier picks among candidates.
    verifier: Literal["exact", "smiles", "length"] = "exact"
    tokenizer: str = "default"  # mmpt / sft: "default" or a saved tokenizer folder


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: Stage = "cpt"
    run: str = "run"
    out_dir: str = "checkpoints"  # the run lives in <out_dir>/<stage>/<run>/
    model: str = "tiny"  # preset name or a checkpoint folder (save_pretrained layout) to continue from
    model_overrides: dict[str, Any] = Field(default_factory=dict)
    data: DataConfig = Field(default_factory=DataConfig)
    schedule: ScheduleConfig
    optim: OptimConfig = Field(default_factory=OptimConfig)
    micro_batch_size: int = Field(2, ge=1)  # sequences per rank per micro step
    max_steps: int | None = Field(None, ge=1)  # stop early (otherwise: schedule.total_tokens)
    # ZeRO stage and precision; None = from `deepspeed_config` (else ZeRO-1, fp32: bf16 was slower than
    # fp32 on the CPU machines, STACK.md).
    zero_stage: int | None = Field(None, ge=0, le=3)
    precision: Literal["fp32", "bf16"] | None = None
    deepspeed_config: str | None = None  # a base JSON (infra/deepspeed/*.json); batch/precision set here
    # Expert parallelism: each MoE layer's experts are split over groups of this many ranks (all-to-all
    # token dispatch), expert grads reduced over the remaining expert-data-parallel ranks. Must divide
    # the world size and num_experts; "auto" = the largest size that does (gcd). 1 = experts replicated.
    expert_parallel_size: int | Literal["auto"] = 1
    # DeepSpeed's CPU shared-memory allreduce is JIT-compiled on first use (~100 s): off by default; gloo
    # is used instead. Turn it on for multi-rank CPU runs when the build is cached.
    shm_comm: bool = False
    save_every: int = Field(50, ge=1)  # optimizer steps between checkpoints
    keep_last: int = Field(2, ge=1)
    log_every: int = Field(1, ge=1)
    tensorboard: bool = True
    progress: bool = True
    seed: int = 1234
    export: bool = True  # safetensors + config + tokenizer at the end

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        """Read a YAML/JSON config; relative `deepspeed_config` paths resolve from the file's folder, then
        the project root (so the shipped configs work from any current directory)."""
        return cls.model_validate(_deep_update(read_config_file(path), overrides),
                                  context={"config_dir": Path(path).resolve().parent})

    @field_validator("deepspeed_config")
    @classmethod
    def _resolve_deepspeed_config(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return value
        config_dir = (info.context or {}).get("config_dir")
        return resolve_project_file(value, Path(config_dir) if config_dir is not None else None)

    @model_validator(mode="after")
    def _expert_parallel(self) -> TrainConfig:
        ep = self.expert_parallel_size
        if ep != "auto" and ep < 1:
            raise ValueError(f"expert_parallel_size must be >= 1 or 'auto', got {ep}")
        return self

    @model_validator(mode="after")
    def _from_deepspeed_file(self) -> TrainConfig:
        ds: dict[str, Any] = {}
        if self.deepspeed_config:
            path = Path(self.deepspeed_config)
            if not path.is_file():
                raise ValueError(f"deepspeed_config {path} does not exist")
            ds = json.loads(path.read_text())
        if self.zero_stage is None:
            self.zero_stage = int(ds.get("zero_optimization", {}).get("stage", 1))
        if self.precision is None:
            self.precision = "bf16" if ds.get("bf16", {}).get("enabled") else "fp32"
        return self

    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.stage / self.run


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A stage config as a dict: YAML (.yaml / .yml) or JSON (what the launchers write)."""
    p = Path(path)
    text = p.read_text()
    if p.suffix in (".yaml", ".yml"):
        import yaml

        return dict(yaml.safe_load(text) or {})
    return dict(json.loads(text))


def _deep_update(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _deep_update(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_override(item: str) -> dict[str, Any]:
    """`schedule.lr=1e-3` -> {"schedule": {"lr": 0.001}} (values parsed as JSON when they parse)."""
    if "=" not in item:
        raise ValueError(f"override {item!r} is not KEY=VALUE")
    key, raw = item.split("=", 1)
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    for part in reversed(key.split(".")):
        value = {part: value}
    return value
