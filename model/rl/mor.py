"""Mixture-of-Rewards: every reward source that a task family declares is computed, normalised as declared
and combined by declared weights into one scalar per sample (Intern-S1 section on MoR). Each source's raw
scores are returned too, so the trainer logs every reward by source and by family."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sciforge.model.rl.rewards import Reward, RewardSource
from sciforge.model.rl.tasks import Task

Normalization = Literal["none", "group_z", "batch_minmax"]
Z_EPS = 1e-6


class SourceWeight(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str
    weight: float = Field(1.0, ge=0)
    # none: the source's [0, 1] score; group_z: z-score within the prompt's group of G rollouts (a dense
    # reward on its own scale, e.g. a reward model); batch_minmax: min-max over the batch.
    normalize: Normalization = "none"


# Verifiable families: the rule verifier alone. Open-ended: the reference-relative reward model.
RULE_ONLY = [SourceWeight(source="rule")]
RM_ONLY = [SourceWeight(source="reward_model")]


def default_mixture(family_is_open_ended: bool) -> list[SourceWeight]:
    return list(RM_ONLY if family_is_open_ended else RULE_ONLY)


@dataclass
class MoRResult:
    total: list[float]
    by_source: dict[str, list[float]] = field(default_factory=dict)  # raw scores; NaN where not declared
    reasons: dict[str, list[str]] = field(default_factory=dict)


class MixtureOfRewards:
    def __init__(self, mixtures: dict[str, list[SourceWeight]], sources: dict[str, RewardSource]) -> None:
        for fam, spec in mixtures.items():
            if not spec or sum(s.weight for s in spec) <= 0:
                raise ValueError(f"mixture for {fam!r} needs at least one source with a positive weight")
            for s in spec:
                if s.source not in sources:
                    raise ValueError(f"mixture for {fam!r} names source {s.source!r}; available: {sorted(sources)}")
        self.mixtures, self.sources = mixtures, sources

    def spec(self, family: str) -> list[SourceWeight]:
        if family not in self.mixtures:
            raise ValueError(f"no reward mixture declared for family {family!r}")
        return self.mixtures[family]

    def score(self, tasks: Sequence[Task], responses: Sequence[str], finished: Sequence[bool],
              groups: Sequence[int]) -> MoRResult:
        n = len(tasks)
        needed = {s.source for t in tasks for s in self.spec(t.family)}
        raw: dict[str, list[Reward | None]] = {}
        for name in sorted(needed):
            idx = [i for i, t in enumerate(tasks) if any(s.source == name for s in self.spec(t.family))]
            got = self.sources[name]([tasks[i] for i in idx], [responses[i] for i in idx], [finished[i] for i in idx])
            col: list[Reward | None] = [None] * n
            for i, r in zip(idx, got, strict=True):
                col[i] = r
            raw[name] = col
        total = [0.0] * n
        wsum = [0.0] * n
        for name, col in raw.items():
            norm = self._normalise(name, col, tasks, groups)
            for i, t in enumerate(tasks):
                for s in self.spec(t.family):
                    if s.source == name and norm[i] is not None:
                        total[i] += s.weight * norm[i]  # type: ignore[operator]
                        wsum[i] += s.weight
        total = [t / w if w > 0 else 0.0 for t, w in zip(total, wsum, strict=True)]
        return MoRResult(
            total,
            {k: [r.score if r is not None else float("nan") for r in v] for k, v in raw.items()},
            {k: [r.reason if r is not None else "" for r in v] for k, v in raw.items()},
        )

    def _normalise(self, name: str, col: list[Reward | None], tasks: Sequence[Task],
                   groups: Sequence[int]) -> list[float | None]:
        out: list[float | None] = [r.score if r is not None else None for r in col]
        modes = {s.normalize for t in tasks for s in self.spec(t.family) if s.source == name}
        if len(modes) > 1:
            raise ValueError(f"source {name!r} is declared with different normalisations {sorted(modes)}")
        mode = modes.pop() if modes else "none"
        if mode == "none":
            return out
        if mode == "batch_minmax":
            vals = [v for v in out if v is not None]
            lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
            return [None if v is None else (v - lo) / (hi - lo) if hi > lo else 0.5 for v in out]
        by_group: dict[int, list[tuple[int, float]]] = {}
        for i, (g, score) in enumerate(zip(groups, out, strict=True)):
            if score is not None:
                by_group.setdefault(g, []).append((i, score))
        res: list[float | None] = [None] * len(out)
        for members in by_group.values():
            vals = [v for _, v in members]
            mean = sum(vals) / len(vals)
            std = (sum((v - mean) ** 2 for v in vals) / len(vals)) ** 0.5
            for i, v in members:
                res[i] = (v - mean) / (std + Z_EPS)
        return res
