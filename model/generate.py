"""Batched sampling with a KV cache: temperature, nucleus (top-p), stop tokens, per-token log-probs.

Prompts of different lengths are left-padded; padding is masked out of attention and RoPE positions
count real tokens only, so a prompt gives the same continuation alone or inside a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from sciforge.model.model import SciForgeModel


@dataclass
class GenerationOutput:
    tokens: list[list[int]]  # generated ids per prompt (the stop token included when hit)
    logprobs: list[list[float]]  # log-prob of each generated token under the sampling distribution
    finish_reasons: list[str] = field(default_factory=list)  # "stop" or "length"


def top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Nucleus filtering (Holtzman et al. 2020): keep the smallest set of tokens whose probability
    mass reaches top_p (always at least the most likely one); the rest get -inf."""
    if top_p >= 1.0:
        return logits
    sorted_logits, sorted_idx = logits.sort(dim=-1, descending=True)
    cum = sorted_logits.softmax(-1).cumsum(-1)
    remove = cum - sorted_logits.softmax(-1) >= top_p  # mass before this token already reaches top_p
    remove[..., 0] = False
    sorted_logits = sorted_logits.masked_fill(remove, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, sorted_idx, sorted_logits)


def sample_next(
    logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """logits (B, V) -> (next ids (B,), their log-probs (B,)). temperature 0 = greedy."""
    logits = logits.float()
    if temperature <= 0:
        nxt = logits.argmax(-1)
        return nxt, logits.log_softmax(-1).gather(-1, nxt[:, None])[:, 0]
    scaled = logits / temperature
    probs = top_p_filter(scaled, top_p).softmax(-1)
    nxt = torch.multinomial(probs, 1, generator=generator)[:, 0]
    return nxt, scaled.log_softmax(-1).gather(-1, nxt[:, None])[:, 0]


@torch.inference_mode()
def generate(
    model: SciForgeModel,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    stop_token_ids: Sequence[int] | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
    **multimodal: Any,
) -> GenerationOutput:
    """Sample continuations for a batch of prompts (lists of token ids).

    `multimodal` (pixel_values, time_series, ts_sampling_rates) is passed to the prompt's forward.
    `stop_token_ids` defaults to the config's eos_token_id. A `generator` must live on the model's
    device (e.g. `torch.Generator("cuda")`); temperature 0 is greedy.
    """
    if not prompts or any(len(p) == 0 for p in prompts):
        raise ValueError("every prompt needs at least one token")
    if max_new_tokens < 1:
        raise ValueError("max_new_tokens must be >= 1")
    if not 0 < top_p <= 1:
        raise ValueError("top_p must be in (0, 1]")
    cfg = model.config
    was_training = model.training
    model.eval()
    device = model.lm_head.weight.device
    stops = set(
        stop_token_ids
        if stop_token_ids is not None
        else ([cfg.eos_token_id] if cfg.eos_token_id is not None else [])
    )
    pad = cfg.pad_token_id if cfg.pad_token_id is not None else 0
    b, plen = len(prompts), max(len(p) for p in prompts)

    ids = torch.full((b, plen), pad, dtype=torch.long, device=device)
    mask = torch.zeros((b, plen), dtype=torch.long, device=device)
    for i, p in enumerate(prompts):
        ids[i, plen - len(p) :] = torch.tensor(list(p), dtype=torch.long)
        mask[i, plen - len(p) :] = 1

    cache = model.new_cache(b, plen + max_new_tokens) if use_cache else None
    out_tokens: list[list[int]] = [[] for _ in range(b)]
    out_logprobs: list[list[float]] = [[] for _ in range(b)]
    reasons = ["length"] * b
    done = torch.zeros(b, dtype=torch.bool, device=device)
    step_ids = ids
    for step in range(max_new_tokens):
        extra = multimodal if (step == 0 or not use_cache) else {}
        fwd_ids = step_ids if use_cache else ids
        logits = model(fwd_ids, attention_mask=mask, cache=cache, num_logits_to_keep=1, **extra).logits[:, -1]
        nxt, lp = sample_next(logits, temperature, top_p, generator)
        nxt = torch.where(done, torch.full_like(nxt, pad), nxt)
        for i in range(b):
            if not done[i]:
                tok = int(nxt[i])
                out_tokens[i].append(tok)
                out_logprobs[i].append(float(lp[i]))
                if tok in stops:
                    reasons[i] = "stop"
                    done[i] = True
        if bool(done.all()):
            break
        step_ids = nxt[:, None]
        ids = torch.cat([ids, step_ids], dim=1)
        mask = torch.cat([mask, (~done).long()[:, None]], dim=1)
    model.train(was_training)
    return GenerationOutput(out_tokens, out_logprobs, reasons)


def token_logprobs(
    model: SciForgeModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    temperature: float = 1.0,
    **multimodal: Any,
) -> torch.Tensor:
    """log p(input_ids[:, t] | input_ids[:, :t]) for t >= 1, shape (B, T-1), differentiable.

    What RL losses need for the policy (logp_new) and the reference/behaviour policy (logp_old); with
    the same temperature it reproduces `generate`'s per-token log-probs. Computed as
    logit - logsumexp(logits) so no (B, T, V) log-softmax tensor is kept.
    """
    logits = model(input_ids, attention_mask=attention_mask, **multimodal).logits[:, :-1]
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    if temperature > 0:
        logits = logits / temperature
    picked = logits.gather(-1, input_ids[:, 1:, None])[..., 0]
    return picked - torch.logsumexp(logits, dim=-1)
