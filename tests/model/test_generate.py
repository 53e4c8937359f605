"""KV-cache generation: cached == uncached, batching/padding invariance, sampling controls."""

from __future__ import annotations

import math

import pytest
import torch

from sciforge.model import generate
from sciforge.model.generate import top_p_filter

PROMPTS = [[5, 6, 7, 8, 9], [10, 11], [12, 13, 14]]


def test_cached_and_uncached_greedy_agree(text_model):
    a = generate(text_model, PROMPTS, 10, temperature=0, stop_token_ids=[], use_cache=True)
    b = generate(text_model, PROMPTS, 10, temperature=0, stop_token_ids=[], use_cache=False)
    assert a.tokens == b.tokens and all(len(t) == 10 for t in a.tokens)
    for x, y in zip(a.logprobs, b.logprobs, strict=True):
        assert x == pytest.approx(y, abs=1e-4)


def test_cached_and_uncached_sampling_agree_with_same_seed(text_model):
    runs = [
        generate(
            text_model,
            PROMPTS,
            12,
            temperature=0.9,
            top_p=0.8,
            stop_token_ids=[],
            use_cache=cache,
            generator=torch.Generator().manual_seed(7),
        ).tokens
        for cache in (True, False)
    ]
    assert runs[0] == runs[1]


def test_batched_equals_one_by_one(text_model):
    batched = generate(text_model, PROMPTS, 6, temperature=0, stop_token_ids=[])
    for prompt, tokens in zip(PROMPTS, batched.tokens, strict=True):
        assert generate(text_model, [prompt], 6, temperature=0, stop_token_ids=[]).tokens[0] == tokens


def test_stop_tokens_end_a_sequence(text_model):
    free = generate(text_model, PROMPTS, 8, temperature=0, stop_token_ids=[])
    stop = free.tokens[0][2]  # the third greedy token of prompt 0 becomes a stop token
    out = generate(text_model, PROMPTS, 8, temperature=0, stop_token_ids=[stop])
    assert out.tokens[0] == free.tokens[0][: free.tokens[0].index(stop) + 1]
    assert out.finish_reasons[0] == "stop"
    for i in (1, 2):
        if stop not in free.tokens[i]:
            assert out.tokens[i] == free.tokens[i] and out.finish_reasons[i] == "length"


def test_multimodal_prompt_generation(tiny_model, tiny_cfg):
    ids = tiny_model.expand_placeholders([20, tiny_cfg.image_token_id, 21])
    size = tiny_cfg.vision.image_size
    kw = {"pixel_values": torch.randn(1, 3, size, size)}
    a = generate(tiny_model, [ids], 5, temperature=0, stop_token_ids=[], **kw)
    b = generate(tiny_model, [ids], 5, temperature=0, stop_token_ids=[], use_cache=False, **kw)
    assert a.tokens == b.tokens


def test_top_p_filter_keeps_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = torch.isfinite(top_p_filter(logits, 0.75))[0].tolist()
    assert kept == [True, True, False, False]
    assert torch.isfinite(top_p_filter(logits, 0.1))[0].tolist() == [True, False, False, False]
    assert torch.equal(top_p_filter(logits, 1.0), logits)


def test_temperature_sampling_follows_the_distribution(text_model):
    """Low temperature concentrates the samples; logprobs are valid log-probabilities."""
    gen = torch.Generator().manual_seed(0)
    out = generate(text_model, [[5, 6]] * 32, 1, temperature=1e-3, stop_token_ids=[], generator=gen)
    assert len({t[0] for t in out.tokens}) == 1
    hot = generate(text_model, [[5, 6]] * 32, 1, temperature=5.0, stop_token_ids=[], generator=gen)
    assert len({t[0] for t in hot.tokens}) > 10
    assert all(lp[0] <= 0 and math.isfinite(lp[0]) for lp in hot.logprobs)


def test_bad_arguments(text_model):
    with pytest.raises(ValueError):
        generate(text_model, [[]], 3)
    with pytest.raises(ValueError):
        generate(text_model, [[1]], 3, top_p=0)


def test_token_logprobs_reproduce_generation_logprobs(text_model):
    from sciforge.model import token_logprobs

    gen = generate(
        text_model, PROMPTS, 6, temperature=0.8, stop_token_ids=[], generator=torch.Generator().manual_seed(3)
    )
    width = max(len(p) + len(t) for p, t in zip(PROMPTS, gen.tokens, strict=True))
    ids = torch.zeros(len(PROMPTS), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, (p, t) in enumerate(zip(PROMPTS, gen.tokens, strict=True)):
        seq = p + t
        ids[i, width - len(seq) :] = torch.tensor(seq)
        mask[i, width - len(seq) :] = 1
    lp = token_logprobs(text_model, ids, attention_mask=mask, temperature=0.8)
    assert lp.shape == (len(PROMPTS), width - 1)
    for i, t in enumerate(gen.tokens):
        torch.testing.assert_close(lp[i, -len(t) :], torch.tensor(gen.logprobs[i]), rtol=1e-4, atol=1e-4)
