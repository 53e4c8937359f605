"""Reward sources, Mixture-of-Rewards, the reward model, filters and the loss pieces (no rollouts)."""

from __future__ import annotations

import math

import pytest
import torch

from sciforge.model.rl.config import LossConfig, OfflineFilterConfig, OnlineFilterConfig
from sciforge.model.rl.filters import group_advantages, offline_keep, online_filter, repeat_fraction
from sciforge.model.rl.loss import select_clip_cov, select_kl_cov, token_losses
from sciforge.model.rl.mor import MixtureOfRewards, SourceWeight
from sciforge.model.rl.rewards import FormatReward, GenerativeVerifierReward, RuleReward, parse_judge_label
from sciforge.model.rl.tasks import get_family


def _tasks(n: int = 4) -> list:
    fam = get_family("copy")
    return [fam.generate(i, 0) for i in range(n)]


def test_generative_verifier_hook() -> None:
    labels = iter(["correct", "Incorrect", "invalid", "banana"])

    def judge(q: str, ref: str, resp: str) -> str:
        return next(labels)

    def broken(q: str, ref: str, resp: str) -> str:
        raise RuntimeError("judge died")

    tasks = _tasks()
    got = GenerativeVerifierReward(judge)(tasks, ["a"] * 4, [True] * 4)
    assert [r.score for r in got] == [1.0, 0.0, 0.0, 0.0]
    assert [r.reason for r in got] == ["judge_correct", "judge_incorrect", "judge_invalid", "judge_unparseable"]
    assert GenerativeVerifierReward(broken)(tasks[:1], ["a"], [True])[0].reason == "judge_error:RuntimeError"
    assert parse_judge_label("The answer is INCORRECT.") == "incorrect"
    assert parse_judge_label("???") == "unparseable"


def test_mor_weights_normalisation_and_logging() -> None:
    tasks = _tasks(2)
    responses = [f"Answer: {tasks[0].reference}", "Answer: zz", f"Answer: {tasks[1].reference}", "rambling"]
    tt = [tasks[0], tasks[0], tasks[1], tasks[1]]
    rule = RuleReward()
    mor = MixtureOfRewards({"copy": [SourceWeight(source="rule", weight=3.0),
                                     SourceWeight(source="format", weight=1.0)]},
                           {"rule": rule, "format": FormatReward(rule)})
    res = mor.score(tt, responses, [True, True, True, False], [0, 0, 1, 1])
    assert res.by_source["rule"] == [1.0, 0.0, 1.0, 0.0]
    assert res.by_source["format"] == [1.0, 1.0, 1.0, 0.0]
    assert res.total == [1.0, 0.25, 1.0, 0.0]
    assert res.reasons["format"][3] == "no_stop"
    z = MixtureOfRewards({"copy": [SourceWeight(source="rule", normalize="group_z")]}, {"rule": rule})
    zt = z.score(tt, responses, [True] * 4, [0, 0, 1, 1]).total
    assert zt[0] == pytest.approx(1.0, abs=1e-4) and zt[1] == pytest.approx(-1.0, abs=1e-4)
    with pytest.raises(ValueError, match="names source"):
        MixtureOfRewards({"copy": [SourceWeight(source="nope")]}, {"rule": rule})
    with pytest.raises(ValueError, match="no reward mixture"):
        mor.score([get_family("arithmetic").generate(0, 0)], ["Answer: 1"], [True], [0])


def test_reward_model_prefers_references(tmp_path) -> None:
    from sciforge.model.rl.reward_model import (
        RewardModel,
        RMConfig,
        pair_accuracy,
        preference_pairs,
        train_reward_model,
    )
    from sciforge.model.rl.tasks.open_ended import QA

    refs = [r for _, r in QA]
    model, stats = train_reward_model(preference_pairs(refs[:-6], 8, 0), RMConfig(steps=40, seed=0))
    assert stats["last_loss"] < stats["first_loss"]
    held = preference_pairs(refs[-6:], 8, 1)
    assert pair_accuracy(model, held) > 0.8  # generalises to references it never saw
    again = RewardModel.load(model.save(tmp_path / "rm"))
    assert again.score(refs[:2], refs[:2]) == model.score(refs[:2], refs[:2])


def test_filters() -> None:
    cfg = OfflineFilterConfig()
    assert offline_keep(1.0, cfg) == "offline_too_easy"
    assert offline_keep(0.25, cfg) == "offline_too_hard"
    assert offline_keep(0.5, cfg) is None
    on = OnlineFilterConfig()
    assert repeat_fraction([1, 2, 3] * 10, 3) > 0.3 and repeat_fraction(list(range(20)), 3) < 0.1
    res = online_filter(
        rewards=[1.0, 1.0, 0.0, 1.0, 0.0, 1.0],
        groups=[0, 0, 1, 1, 2, 2],
        response_ids=[[1, 2], [3, 4], [5, 6], [7] * 30, [1], [2]],
        texts=["a", "b", "c", "d", "e\ufffd", "f"],
        finished=[True, True, True, True, True, False],
        cfg=on,
    )
    assert res.keep == [False, False, True, False, False, False]
    assert res.dropped == {"group_uniform_reward": 2, "looping": 1, "garbled_invalid_utf8": 1, "truncated": 1}
    adv = group_advantages([1.0, 0.0, 0.5, 0.5], [0, 0, 1, 1], 1e-6)
    assert adv[0] == pytest.approx(1.0, abs=1e-4) and adv[1] == pytest.approx(-1.0, abs=1e-4) and adv[2] == 0.0


def test_kl_cov_and_clip_cov_selection() -> None:
    adv = torch.tensor([[2.0, 2.0, 2.0], [-2.0, -2.0, -2.0]])
    logp = torch.tensor([[-0.1, -3.0, -1.0], [-0.1, -3.0, -1.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    # covariance (A - mean A) * (logp - mean logp): mean A = 0.4, mean logp = -1.44 over the 5 valid tokens;
    # the largest is the negative-advantage token with the lowest log-prob: (-2.4) * (-1.56) = 3.74
    sel = select_kl_cov(adv, logp, mask, k_percent=20.0)  # 20% of 5 tokens = 1 token
    assert sel.sum() == 1 and sel[1, 1]
    clip = select_clip_cov(adv, logp, mask, 1.0, lb=-100, ub=100, generator=torch.Generator().manual_seed(0))
    assert int(clip.sum()) == 5 and not clip[1, 2]
    assert select_kl_cov(adv, logp, torch.zeros_like(mask), 1.0).sum() == 0


def test_token_losses_oreal_and_kl_penalty() -> None:
    logp = torch.tensor([[-1.0, -2.0], [-1.0, -2.0]], requires_grad=True)
    old = logp.detach() - 0.5
    adv = torch.tensor([1.0, -1.0])
    pos = torch.tensor([True, False])
    mask = torch.ones(2, 2, dtype=torch.bool)
    none = torch.zeros_like(mask)
    cfg = LossConfig(kind="oreal")
    loss, st = token_losses(logp, None, old, adv, pos, mask, none, none, cfg)
    assert torch.allclose(loss[0], -logp[0].detach())  # positives: NLL
    assert st.nll > 0 and math.isfinite(st.pg)
    kl_sel = torch.tensor([[False, False], [True, False]])
    loss2, st2 = token_losses(logp, None, old, adv, pos, mask, kl_sel, none, cfg)
    assert float((loss2[1, 0] - loss[1, 0]).detach()) == pytest.approx(0.01 * 0.5) and st2.kl_cov_penalty > 0
    clip_sel = torch.tensor([[False, False], [False, True]])
    loss3, _ = token_losses(logp, None, old, adv, pos, mask, none, clip_sel, cfg)
    loss3.sum().backward()
    assert logp.grad is not None and logp.grad[1, 1] == 0  # Clip-Cov: no gradient through that token
    g, _ = token_losses(logp, None, old, adv, pos, mask, none, none, LossConfig(kind="grpo"))
    assert not torch.allclose(g[0], -logp[0].detach())  # grpo: no NLL on positives
