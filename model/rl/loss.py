"""Policy losses: PPO-clip policy gradient (GRPO), OREAL (NLL on positives + PG on negatives), KL-Cov and
Clip-Cov token selection (Cui et al. 2025), entropy from the full distribution.

Everything is per token over response tokens; `token_losses` returns the (B, T-1) loss matrix so a caller
can sum it over any subset of samples (per-sample gradient norms) with one global normaliser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from sciforge.model.rl.config import LossConfig
from sciforge.model.rl.rollout import PaddedBatch


def policy_forward(model: Any, batch: PaddedBatch, temperature: float = 1.0, with_entropy: bool = True
                   ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """(log p of each response token (B, R), entropy of each next-token distribution (B, R) or None, MoE aux
    loss). Only the R+1 last positions get logits (responses start at column P), which keeps the (B, R, V)
    tensors small."""
    r_w = batch.response_width
    out = model(batch.input_ids, attention_mask=batch.attention_mask, num_logits_to_keep=r_w + 1)
    logits = out.logits[:, :-1].float()
    if temperature != 1.0:
        logits = logits / temperature
    targets = batch.input_ids[:, batch.prompt_width :]
    lse = torch.logsumexp(logits, dim=-1)
    logp = logits.gather(-1, targets[..., None])[..., 0] - lse
    entropy = None
    if with_entropy:
        entropy = lse - (torch.softmax(logits, dim=-1) * logits).sum(-1)
    return logp, entropy, out.aux_loss


def token_covariance(adv_tok: torch.Tensor, logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cov_i = (A_i - mean A) * (log p_i - mean log p) over the valid tokens (others: -inf)."""
    a, lp = adv_tok[mask], logp.detach()[mask]
    cov = torch.full_like(logp, float("-inf"))
    if a.numel():
        cov[mask] = (a - a.mean()) * (lp - lp.mean())
    return cov


def select_kl_cov(adv_tok: torch.Tensor, logp: torch.Tensor, mask: torch.Tensor, k_percent: float) -> torch.Tensor:
    """The top k_percent % of valid tokens by covariance (at least one, as the reference implementation)."""
    n = int(mask.sum())
    sel = torch.zeros_like(mask)
    if n == 0:
        return sel
    k = max(1, int(n * k_percent / 100))
    cov = token_covariance(adv_tok, logp, mask).flatten()
    idx = torch.topk(cov, k).indices
    sel.view(-1)[idx] = True
    return sel & mask


def select_clip_cov(adv_tok: torch.Tensor, logp: torch.Tensor, mask: torch.Tensor, fraction: float, lb: float,
                    ub: float, generator: torch.Generator) -> torch.Tensor:
    """A random `fraction` of valid tokens (of all valid tokens, drawn among those with lb < cov < ub)."""
    cov = token_covariance(adv_tok, logp, mask)
    cand = ((cov > lb) & (cov < ub) & mask).flatten().nonzero()[:, 0]
    k = min(int(int(mask.sum()) * fraction), cand.numel())
    sel = torch.zeros_like(mask)
    if k > 0:
        pick = cand[torch.randperm(cand.numel(), generator=generator)[:k]]
        sel.view(-1)[pick] = True
    return sel


@dataclass
class LossStats:
    pg: float = 0.0
    nll: float = 0.0
    kl_cov_penalty: float = 0.0
    clip_frac: float = 0.0


def token_losses(logp: torch.Tensor, entropy: torch.Tensor | None, old_logp: torch.Tensor, adv: torch.Tensor,
                 positive: torch.Tensor, mask: torch.Tensor, kl_sel: torch.Tensor, clip_sel: torch.Tensor,
                 cfg: LossConfig) -> tuple[torch.Tensor, LossStats]:
    """Per-token loss (B, T-1), zero outside `mask`. adv and positive are per sample (B,)."""
    adv_tok = adv[:, None].expand_as(logp)
    log_ratio = logp - old_logp
    ratio = torch.exp(log_ratio)
    pg1 = -adv_tok * ratio
    pg2 = -adv_tok * ratio.clamp(1 - cfg.clip_eps, 1 + cfg.clip_eps)
    pg = torch.maximum(pg1, pg2)
    pg = torch.where(clip_sel, pg.detach(), pg)  # Clip-Cov: no gradient through the selected tokens
    if cfg.kind == "oreal":
        pos_tok = positive[:, None].expand_as(logp)
        nll = -logp * cfg.positive_coef
        loss = torch.where(pos_tok, nll, pg)
    else:
        pos_tok = torch.zeros_like(mask)
        nll = torch.zeros_like(logp)
        loss = pg
    kl = cfg.kl_cov.beta * log_ratio.abs()
    loss = loss + torch.where(kl_sel, kl, torch.zeros_like(kl))
    if cfg.entropy_coef and entropy is not None:
        loss = loss - cfg.entropy_coef * entropy
    loss = torch.where(mask, loss, torch.zeros_like(loss))
    with torch.no_grad():
        n = mask.sum().clamp_min(1)
        pg_mask = mask & ~pos_tok
        stats = LossStats(
            pg=float((pg * pg_mask).sum() / n),
            nll=float((nll * (mask & pos_tok)).sum() / n),
            kl_cov_penalty=float((kl * kl_sel).sum() / n),
            clip_frac=float((((pg2 > pg1) & mask).sum()) / n),
        )
    return loss, stats
