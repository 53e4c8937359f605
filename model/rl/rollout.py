"""Batched rollouts: G samples per prompt in one `generate` call, decoded, padded into training tensors.

Prompt format: the SFT chat template (`sciforge.model.train.sft.encode_chat`) for the user turn, then the assistant
header; a response ends with the tokenizer's end-of-document id (the model's eos), which `generate` stops on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from sciforge.model.generate import generate
from sciforge.model.rl.tasks import Task
from sciforge.model.train.sft import TURN_END, encode_chat, turn_header


def chat_prompt_ids(prompt: str, tokenizer: Any) -> list[int]:
    ids, _ = encode_chat([{"role": "user", "content": prompt}], tokenizer)
    return ids + turn_header("assistant", tokenizer)


def eos_id(tokenizer: Any) -> int:
    """The id that ends an assistant turn: ``<|im_end|>`` (what SFT trains the model to emit after its
    answer) when the tokenizer has it as a special token, else the end-of-document id."""
    special = getattr(tokenizer, "special_ids", None) or {}
    return int(special.get(TURN_END, tokenizer.eod_id))


def stop_ids(tokenizer: Any) -> list[int]:
    """Generation stops at the end of the turn, or at an end of document (a model that never saw SFT)."""
    return sorted({eos_id(tokenizer), int(tokenizer.eod_id)})


@dataclass
class RolloutBatch:
    tasks: list[Task]  # one per sample (each prompt repeated G times, contiguous)
    groups: list[int]  # group (prompt) index per sample
    prompt_ids: list[list[int]]
    response_ids: list[list[int]]  # generated ids, the stop token included when hit
    texts: list[str]  # decoded responses without the stop token
    finished: list[bool]  # stopped on eos (False: hit max_new_tokens)

    def __len__(self) -> int:
        return len(self.tasks)


def rollout(model: Any, tokenizer: Any, tasks: Sequence[Task], group_size: int, max_new_tokens: int,
            temperature: float, top_p: float, generator: torch.Generator | None = None) -> RolloutBatch:
    expanded = [t for t in tasks for _ in range(group_size)]
    groups = [g for g in range(len(tasks)) for _ in range(group_size)]
    prompts = [chat_prompt_ids(t.prompt, tokenizer) for t in tasks]
    prompt_ids = [p for p in prompts for _ in range(group_size)]
    out = generate(model, prompt_ids, max_new_tokens, temperature=temperature, top_p=top_p,
                   stop_token_ids=stop_ids(tokenizer), generator=generator)
    texts = []
    for toks, reason in zip(out.tokens, out.finish_reasons, strict=True):
        body = toks[:-1] if reason == "stop" else toks
        texts.append(tokenizer.decode(body))
    return RolloutBatch(expanded, groups, prompt_ids, [list(t) for t in out.tokens], texts,
                        [r == "stop" for r in out.finish_reasons])


@dataclass
class PaddedBatch:
    """Prompts left-padded to P, responses right-padded to R (the layout `generate` uses), so every
    response starts at column P and only the last R+1 positions need logits."""

    input_ids: torch.Tensor  # (B, P + R)
    attention_mask: torch.Tensor  # (B, P + R)
    response_mask: torch.Tensor  # (B, R) bool: real response tokens
    prompt_width: int

    @property
    def response_width(self) -> int:
        return int(self.response_mask.shape[1])

    def select(self, rows: torch.Tensor) -> PaddedBatch:
        return PaddedBatch(self.input_ids[rows], self.attention_mask[rows], self.response_mask[rows],
                           self.prompt_width)

    def row(self, i: int) -> tuple[PaddedBatch, int]:
        """Sample i without its padding, and its response length."""
        p_len = int(self.attention_mask[i, : self.prompt_width].sum())
        r_len = int(self.response_mask[i].sum())
        cols = slice(self.prompt_width - p_len, self.prompt_width + r_len)
        return PaddedBatch(self.input_ids[i : i + 1, cols], self.attention_mask[i : i + 1, cols],
                           self.response_mask[i : i + 1, :r_len], p_len), r_len


def pad_batch(prompt_ids: Sequence[Sequence[int]], response_ids: Sequence[Sequence[int]], pad_id: int
              ) -> PaddedBatch:
    if any(len(r) == 0 for r in response_ids):
        raise ValueError("every response needs at least one token")
    p_w = max(len(p) for p in prompt_ids)
    r_w = max(len(r) for r in response_ids)
    b = len(prompt_ids)
    ids = torch.full((b, p_w + r_w), pad_id, dtype=torch.long)
    attn = torch.zeros((b, p_w + r_w), dtype=torch.long)
    resp = torch.zeros((b, r_w), dtype=torch.bool)
    for i, (p, r) in enumerate(zip(prompt_ids, response_ids, strict=True)):
        ids[i, p_w - len(p) : p_w] = torch.tensor(list(p), dtype=torch.long)
        ids[i, p_w : p_w + len(r)] = torch.tensor(list(r), dtype=torch.long)
        attn[i, p_w - len(p) : p_w + len(r)] = 1
        resp[i, : len(r)] = True
    return PaddedBatch(ids, attn, resp, p_w)
