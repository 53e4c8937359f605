"""Offline prompt filtering (pass@k of the starting policy) and online filtering of rollout groups."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sciforge.model.rl.config import OfflineFilterConfig, OnlineFilterConfig


def offline_keep(pass_rate: float, cfg: OfflineFilterConfig) -> str | None:
    """None to keep the prompt, else the drop reason."""
    if cfg.drop_at_or_above is not None and pass_rate >= cfg.drop_at_or_above:
        return "offline_too_easy"
    if cfg.drop_at_or_below is not None and pass_rate <= cfg.drop_at_or_below:
        return "offline_too_hard"
    return None


def repeat_fraction(tokens: Sequence[int], n: int) -> float:
    """Share of the response's n-grams taken by its most frequent n-gram (1/num_ngrams when none repeats)."""
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    if not grams:
        return 0.0
    return Counter(grams).most_common(1)[0][1] / len(grams)


def garbled_reason(tokens: Sequence[int], text: str, finished: bool, cfg: OnlineFilterConfig) -> str | None:
    if "\ufffd" in text:
        return "garbled_invalid_utf8"
    if cfg.drop_truncated and not finished:
        return "truncated"
    n = cfg.repeat_ngram
    if len(tokens) - n + 1 >= cfg.min_response_ngrams and repeat_fraction(tokens, n) > cfg.max_repeat_fraction:
        return "looping"
    return None


@dataclass
class OnlineFilterResult:
    keep: list[bool]
    dropped: Counter[str] = field(default_factory=Counter)


def online_filter(rewards: Sequence[float], groups: Sequence[int], response_ids: Sequence[Sequence[int]],
                  texts: Sequence[str], finished: Sequence[bool], cfg: OnlineFilterConfig) -> OnlineFilterResult:
    """Drop garbled/looping samples, and whole groups whose rewards (all G, as the advantages) are equal."""
    keep = [True] * len(rewards)
    dropped: Counter[str] = Counter()
    for i in range(len(rewards)):
        reason = garbled_reason(response_ids[i], texts[i], finished[i], cfg)
        if reason:
            keep[i] = False
            dropped[reason] += 1
    if cfg.drop_uniform_groups:
        by_group: dict[int, list[int]] = {}
        for i, g in enumerate(groups):
            by_group.setdefault(g, []).append(i)
        for idx in by_group.values():
            vals = {round(rewards[i], 9) for i in idx}
            if len(vals) == 1:
                reason = "group_uniform_reward"
                for i in idx:
                    if keep[i]:
                        keep[i] = False
                        dropped[reason] += 1
    return OnlineFilterResult(keep, dropped)


def group_advantages(rewards: Sequence[float], groups: Sequence[int], eps: float) -> list[float]:
    """GRPO: (r - mean_group) / (std_group + eps), over ALL samples of the group (before filtering)."""
    by_group: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    adv = [0.0] * len(rewards)
    for idx in by_group.values():
        vals = [rewards[i] for i in idx]
        mean = sum(vals) / len(vals)
        std = (sum((v - mean) ** 2 for v in vals) / len(vals)) ** 0.5
        for i in idx:
            adv[i] = (rewards[i] - mean) / (std + eps)
    return adv
