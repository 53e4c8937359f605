"""Typed options of an RL run (YAML/JSON; a wrong key is a clear error). Defaults cite their source."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sciforge.model.rl.mor import SourceWeight


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    family: str
    difficulty: int = Field(0, ge=0)
    weight: float = Field(1.0, gt=0)  # sampling weight among families
    data: str | None = None  # esol_bin: a delaney-processed.csv with measured values (else generated)


class RolloutConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompts_per_step: int = Field(8, ge=1)
    group_size: int = Field(8, ge=2)  # G rollouts per prompt (GRPO; Intern-S1 uses 8 for pass@8 filtering)
    max_new_tokens: int = Field(32, ge=1)
    temperature: float = Field(1.0, gt=0)  # sample at T=1 so the log-probs are the policy's own
    top_p: float = Field(1.0, gt=0, le=1)


class OfflineFilterConfig(BaseModel):
    """Intern-S1: before RL, prompts with pass@8 = 1 (too easy) or pass@8 <= 0.25 are dropped (here pass@k
    is the fraction of k samples that pass). `drop_at_or_below: null` turns the lower cut off."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    k: int = Field(8, ge=1)
    pool_per_family: int = Field(64, ge=1)  # candidate prompts generated per family before filtering
    drop_at_or_above: float | None = 1.0
    drop_at_or_below: float | None = 0.25


class OnlineFilterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    drop_uniform_groups: bool = True  # all-right / all-wrong groups carry no group-relative signal (DAPO)
    drop_truncated: bool = True  # no stop token within max_new_tokens: a looping or rambling output
    # Garbled / looping: a response whose most frequent n-gram covers more than this share of its n-grams.
    repeat_ngram: int = Field(3, ge=1)
    max_repeat_fraction: float = Field(0.5, gt=0, le=1)
    min_response_ngrams: int = Field(8, ge=1)  # shorter responses are not judged for repetition


class KLCovConfig(BaseModel):
    """KL-Cov (Cui et al. 2025, "The Entropy Mechanism of Reinforcement Learning for Reasoning Language
    Models"): the top `k_percent` % of response tokens by Cov(advantage, log-prob) get a penalty
    beta * |log p - log p_old|. Reference implementation: k = 0.2 %, coefficient ~ 1e-2 (Intern-S1 uses KL-Cov)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    k_percent: float = Field(0.2, gt=0, le=100)
    beta: float = Field(0.01, ge=0)


class ClipCovConfig(BaseModel):
    """Clip-Cov (same paper): a random `clip_fraction` of tokens whose covariance lies in [lb, ub] have their
    policy-gradient detached. Reference: fraction 2e-4, bounds 1 and 5."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    clip_fraction: float = Field(2e-4, gt=0, le=1)
    lb: float = 1.0
    ub: float = 5.0


class GradDropConfig(BaseModel):
    """Intern-S1: samples whose gradient norm exceeds 0.3 are dropped (about 3% of them). Per-sample norms
    need one backward per sample (a second pass); `max_fraction` caps the share dropped per step."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    threshold: float = Field(0.3, gt=0)
    max_fraction: float = Field(0.03, ge=0, le=1)


class LossConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # oreal: NLL (behaviour cloning) on positive samples + policy gradient on negatives (OREAL, Lyu et al.
    # 2025, used by Intern-S1); grpo: PPO-clip policy gradient on all samples (Shao et al. 2024).
    kind: Literal["oreal", "grpo"] = "oreal"
    positive_threshold: float = Field(1.0, ge=0)  # MoR reward at or above this is a positive sample
    positive_coef: float = Field(1.0, ge=0)
    clip_eps: float = Field(0.2, gt=0)  # PPO clipping range (Schulman et al. 2017)
    entropy_coef: float = 0.0  # an explicit entropy bonus (off: KL-Cov does the entropy control)
    aux_loss_coef: float = Field(1e-3, ge=0)  # MoE router balance loss (ROUTER_AUX_LOSS_COEF)
    kl_cov: KLCovConfig = Field(default_factory=KLCovConfig)
    clip_cov: ClipCovConfig = Field(default_factory=ClipCovConfig)
    adv_eps: float = 1e-6


class OptimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lr: float = Field(1e-6, gt=0)  # Intern-S1 / Qwen-scale RL uses ~1e-6; the tiny model needs ~1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    grad_clip: float = Field(1.0, ge=0)
    mini_batches: int = Field(2, ge=1)  # policy updates per rollout batch (PPO mini-batches)
    epochs: int = Field(1, ge=1)


class WarmupConfig(BaseModel):
    """Format warm-up: a few SFT steps on well-formed responses whose answers are drawn from each family's
    answer distribution (mostly WRONG): the model learns the output format, not the tasks."""

    model_config = ConfigDict(extra="forbid")
    steps: int = Field(0, ge=0)
    batch_size: int = Field(16, ge=1)
    lr: float = Field(3e-3, gt=0)


class RewardModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str | None = None  # a saved reward model; None = train the default one at start (seconds)
    seed: int = 0


class RLConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: Literal["rl"] = "rl"
    run: str = "run"
    out_dir: str = "checkpoints"  # the run lives in <out_dir>/rl/<run>/
    model: str = "tiny"  # preset name or a checkpoint folder (save_pretrained layout)
    model_overrides: dict[str, Any] = Field(default_factory=dict)
    tokenizer: str = "default"
    tasks: list[TaskSpec]
    # family -> sources with weights / normalisation; families not listed get the default mixture.
    mixture: dict[str, list[SourceWeight]] = Field(default_factory=dict)
    reward_model: RewardModelConfig = Field(default_factory=RewardModelConfig)
    generative_verifier: Literal["none", "policy"] = "none"  # "policy": the model being trained judges
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    offline_filter: OfflineFilterConfig = Field(default_factory=OfflineFilterConfig)
    online_filter: OnlineFilterConfig = Field(default_factory=OnlineFilterConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    grad_drop: GradDropConfig = Field(default_factory=GradDropConfig)
    warmup: WarmupConfig = Field(default_factory=WarmupConfig)
    steps: int = Field(100, ge=1)
    save_every: int = Field(25, ge=1)
    keep_last: int = Field(2, ge=1)
    log_every: int = Field(1, ge=1)
    tensorboard: bool = True
    progress: bool = True
    seed: int = 1234
    export: bool = True
    threads: int | None = None  # torch intra-op threads (None: torch's default)

    @model_validator(mode="after")
    def _check(self) -> RLConfig:
        from sciforge.model.rl.tasks import FAMILIES

        if not self.tasks:
            raise ValueError("tasks must name at least one task family")
        for t in self.tasks:
            if t.family not in FAMILIES:
                raise ValueError(f"unknown task family {t.family!r}; known: {', '.join(sorted(FAMILIES))}")
            if t.difficulty > FAMILIES[t.family].max_difficulty:
                raise ValueError(f"{t.family}: difficulty {t.difficulty} > {FAMILIES[t.family].max_difficulty}")
        return self

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> RLConfig:
        from sciforge.model.train.config import _deep_update, read_config_file

        return cls.model_validate(_deep_update(read_config_file(path), overrides))

    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.stage / self.run
