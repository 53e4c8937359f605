"""A small POLAR-style reward model: it scores a response RELATIVE TO A REFERENCE answer.

POLAR (Dou et al. 2025, "Pre-Trained Policy Discriminators are General Reward Models") trains a model to
tell whether a candidate comes from the same policy as a reference; the reward is that similarity. Ours
keeps the interface (score(reference, response) in [0, 1]) and the training signal (pairs the project
generates itself: a response close to the reference is preferred over one that is not), at CPU size:
hashed character n-gram bags of both texts, a shared EmbeddingBag encoder and an MLP over
[r, c, r*c, |r-c|], trained with the Bradley-Terry loss -log sigmoid(s(ref, chosen) - s(ref, rejected)).
Preference pairs: chosen = the reference lightly edited (word dropout, truncation to 80%, an "Answer:"
prefix); rejected = another question's reference, shuffled words, a looping repetition, a 3-word stub or
garbage characters. Trains in seconds; saved as safetensors + JSON config.
"""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from sciforge.model.rl.tasks.open_ended import words

RM_WEIGHTS = "reward_model.safetensors"
RM_CONFIG = "reward_model.json"


@dataclass
class RMConfig:
    buckets: int = 1 << 14  # hashed n-gram vocabulary (fastText uses 2M buckets; 16k is plenty here)
    ngrams: tuple[int, ...] = (3, 4)  # character n-grams (fastText's subword range is 3..6)
    dim: int = 32
    hidden: int = 64
    max_chars: int = 1000
    steps: int = 150
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0


def ngram_ids(text: str, cfg: RMConfig) -> list[int]:
    return list(_ngram_ids(text[: cfg.max_chars], cfg.buckets, cfg.ngrams))


@lru_cache(maxsize=65536)
def _ngram_ids(text: str, buckets: int, ngrams: tuple[int, ...]) -> tuple[int, ...]:
    t = f" {' '.join(words(text))} "
    ids = [zlib.crc32(f"{n}:{t[i:i + n]}".encode()) % buckets for n in ngrams for i in range(len(t) - n + 1)]
    return tuple(ids) or (0,)


class RewardModel(nn.Module):
    def __init__(self, cfg: RMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.emb = nn.EmbeddingBag(cfg.buckets, cfg.dim, mode="mean")
        self.head = nn.Sequential(nn.Linear(4 * cfg.dim, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, 1))

    def _encode(self, texts: Sequence[str]) -> torch.Tensor:
        ids = [ngram_ids(t, self.cfg) for t in texts]
        offsets = torch.tensor([0] + [len(i) for i in ids[:-1]]).cumsum(0)
        flat = torch.tensor([x for i in ids for x in i], dtype=torch.long)
        return self.emb(flat, offsets)

    def logits(self, references: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        r, c = self._encode(references), self._encode(responses)
        return self.head(torch.cat([r, c, r * c, (r - c).abs()], dim=-1))[:, 0]

    @torch.no_grad()
    def score(self, references: Sequence[str], responses: Sequence[str]) -> list[float]:
        if not references:
            return []
        was = self.training
        self.eval()
        out = torch.sigmoid(self.logits(references, responses)).tolist()
        self.train(was)
        return [float(x) for x in out]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(path / RM_WEIGHTS))
        (path / RM_CONFIG).write_text(json.dumps(asdict(self.cfg), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> RewardModel:
        path = Path(path)
        raw = json.loads((path / RM_CONFIG).read_text())
        raw["ngrams"] = tuple(raw["ngrams"])
        model = cls(RMConfig(**raw))
        model.load_state_dict(load_file(str(path / RM_WEIGHTS)))
        return model.eval()


@dataclass(frozen=True)
class PrefPair:
    reference: str
    chosen: str
    rejected: str
    kind: str  # which corruption made `rejected`


def _near(ref: str, rng: random.Random) -> str:
    w = ref.split()
    kind = rng.randrange(5)
    if kind == 3 and len(w) > 5:  # a partial restatement: ~60% of the words, in order, in a new frame
        keep = sorted(rng.sample(range(len(w)), max(3, int(len(w) * 0.6))))
        return "It is because " + " ".join(w[i] for i in keep)
    if kind == 0 and len(w) > 4:
        drop = rng.randrange(len(w))
        return " ".join(w[:drop] + w[drop + 1 :])
    if kind == 1 and len(w) > 5:
        return " ".join(w[: max(4, int(len(w) * 0.8))])
    if kind == 2:
        return f"Answer: {ref}"
    return ref


def _far(ref: str, others: Sequence[str], rng: random.Random) -> tuple[str, str]:
    w = ref.split()
    kind = rng.choice(("other_answer", "shuffled", "looping", "stub", "garbage"))
    if kind == "other_answer":
        return rng.choice([o for o in others if o != ref]), kind
    if kind == "shuffled":
        s = w[:]
        rng.shuffle(s)
        return " ".join(s), kind
    if kind == "looping":
        return " ".join([rng.choice(w)] * rng.randint(5, 20)), kind
    if kind == "stub":
        return " ".join(w[:3]), kind
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ()=#0123456789") for _ in range(rng.randint(5, 60))), kind


def preference_pairs(references: Sequence[str], per_reference: int, seed: int) -> list[PrefPair]:
    rng = random.Random(seed)
    refs = list(references)
    if len(refs) < 2:
        raise ValueError("preference pairs need at least two references")
    out = []
    for ref in refs:
        for _ in range(per_reference):
            bad, kind = _far(ref, refs, rng)
            out.append(PrefPair(ref, _near(ref, rng), bad, kind))
    return out


def pair_accuracy(model: RewardModel, pairs: Sequence[PrefPair]) -> float:
    if not pairs:
        return float("nan")
    good = model.score([p.reference for p in pairs], [p.chosen for p in pairs])
    bad = model.score([p.reference for p in pairs], [p.rejected for p in pairs])
    return sum(g > b for g, b in zip(good, bad, strict=True)) / len(pairs)


def train_reward_model(pairs: Sequence[PrefPair], cfg: RMConfig | None = None) -> tuple[RewardModel, dict[str, Any]]:
    cfg = cfg or RMConfig()
    gen = torch.Generator().manual_seed(cfg.seed)
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        model = RewardModel(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    losses = []
    for _ in range(cfg.steps):
        idx = torch.randint(len(pairs), (min(cfg.batch_size, len(pairs)),), generator=gen).tolist()
        batch = [pairs[i] for i in idx]
        refs = [p.reference for p in batch]
        margin = model.logits(refs, [p.chosen for p in batch]) - model.logits(refs, [p.rejected for p in batch])
        loss = -nn.functional.logsigmoid(margin).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    return model, {"first_loss": losses[0], "last_loss": losses[-1], "train_pair_accuracy": pair_accuracy(model, pairs)}


def train_default_reward_model(seed: int = 0, holdout: int = 6) -> tuple[RewardModel, dict[str, Any]]:
    """Train on pairs from the open-ended family's references; report accuracy on held-out references."""
    from sciforge.model.rl.tasks.open_ended import QA

    refs = [r for _, r in QA]
    train_refs, held = refs[:-holdout], refs[-holdout:]
    model, stats = train_reward_model(preference_pairs(train_refs, 16, seed), RMConfig(seed=seed))
    stats["heldout_pair_accuracy"] = pair_accuracy(model, preference_pairs(held + train_refs[:1], 16, seed + 1)[: 16 * holdout])
    return model, stats
