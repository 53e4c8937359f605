"""Expert parallelism: all-to-all dispatch in the MoE layer, ep=2 training vs ep=1, resume and export.

The distributed parts run as real 2-process gloo jobs (`torch.distributed.run`); this file is also the
worker script of the layer-level check (`python -m torch.distributed.run ... test_expert_parallel.py`).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from sciforge.model.train import TrainConfig, train
from sciforge.model.train.engine import build_engine, resolve_expert_parallel_size
from sciforge.model.train.metrics import read_metrics
from tests.train.conftest import SEQ_LEN, cpt_config

REPO = Path(__file__).resolve().parents[2]
STEPS = 6
# fp32, the same global batch: ep=2 differs from ep=1 only in the order of floating-point reductions
TOL = 1e-4


# --------------------------------------------------------------------------------------------------
# worker: run under torch.distributed.run with 2 processes


def _layer_case(capacity_factor: float | None, skew: bool, rank: int, world: int) -> None:
    import torch.distributed as dist

    from sciforge.model import get_config
    from sciforge.model.model import SciForgeModel
    from sciforge.model.moe import ExpertParallel, gathered_experts

    torch.manual_seed(0)
    cfg = get_config("tiny", vision=None, time_series=None, capacity_factor=capacity_factor)
    ref = SciForgeModel(cfg).model.layers[cfg.first_k_dense_replace].mlp.train()
    layer = copy.deepcopy(ref)
    group = dist.group.WORLD
    layer.enable_expert_parallel(ExpertParallel(group=group, size=world, rank=rank))
    lo, hi = rank * cfg.num_experts // world, (rank + 1) * cfg.num_experts // world
    assert layer.experts.gate_proj.shape[0] == hi - lo

    g = torch.Generator().manual_seed(1)
    x = torch.randn(world, 24, cfg.hidden_size, generator=g)
    w = torch.randn(world, 24, cfg.hidden_size, generator=g)
    if skew:
        # every token of every rank prefers the first half of the experts (rank 0's): rank 1 sends all
        # its rows away and its own experts receive none (they must still get zero gradients)
        d = torch.randn(cfg.hidden_size, generator=g)
        with torch.no_grad():
            for m in (ref, layer):
                m.gate.weight[: cfg.num_experts // 2] = d
                m.gate.weight[cfg.num_experts // 2 :] = -d
        x = x * 0.01 + d

    # reference (ep=1, data parallel): each rank's tokens routed on their own, loss = mean over ranks
    ref_out, ref_stats = [], []
    ref_loss = torch.zeros(())
    for r in range(world):
        y, st = ref(x[r])
        ref_out.append(y.detach())
        ref_stats.append(st)
        ref_loss = ref_loss + ((y * w[r]).sum() + st.aux_loss + st.z_loss) / world
    ref_loss.backward()

    y, st = layer(x[rank])
    (((y * w[rank]).sum() + st.aux_loss + st.z_loss) / world).backward()
    torch.testing.assert_close(y, ref_out[rank], rtol=1e-5, atol=1e-5)
    assert torch.equal(st.tokens_per_expert, ref_stats[rank].tokens_per_expert)
    assert st.dropped == ref_stats[rank].dropped
    if capacity_factor is not None and not skew:
        assert sum(s.dropped for s in ref_stats) > 0  # the capacity limit is exercised
    # expert grads: this rank's slice of the reference (contributions of every rank's tokens)
    for name in ("gate_proj", "up_proj", "down_proj"):
        got = getattr(layer.experts, name).grad
        want = getattr(ref.experts, name).grad[lo:hi]
        assert got is not None
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    if skew and rank == 1:
        assert float(layer.experts.gate_proj.grad.abs().sum()) == 0.0
    # replicated params: the sum over ranks equals the reference (what the data-parallel reduction does)
    for (name, p), (_, q) in zip(layer.named_parameters(), ref.named_parameters(), strict=True):
        if name.startswith("experts."):
            continue
        grad = p.grad.clone()
        dist.all_reduce(grad)
        torch.testing.assert_close(grad, q.grad, rtol=1e-5, atol=1e-6, msg=name)

    # export view: all experts gathered, then the local slice restored
    with gathered_experts(layer):
        for name in ("gate_proj", "up_proj", "down_proj"):
            assert torch.equal(getattr(layer.experts, name), getattr(ref.experts, name))
        assert layer.experts.num_experts == cfg.num_experts
    assert layer.experts.gate_proj.shape[0] == hi - lo and layer.experts.num_experts == hi - lo

    # eval (drop-free) forward through the all-to-all matches too
    layer.eval()
    ref.eval()
    with torch.no_grad():
        torch.testing.assert_close(layer(x[rank])[0], ref(x[rank])[0], rtol=1e-5, atol=1e-5)


def _worker_train(config_file: str) -> None:
    """Train each config of a JSON list in turn, in this process (the same 2 ranks)."""
    torch.set_num_threads(1)
    for cfg in json.loads(Path(config_file).read_text()):
        train(TrainConfig.model_validate(cfg))


def _worker_layer() -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    for capacity_factor, skew in ((None, False), (0.5, False), (None, True)):
        _layer_case(capacity_factor, skew, rank, world)
    dist.barrier()
    dist.destroy_process_group()


# --------------------------------------------------------------------------------------------------
# tests


def _child_env() -> dict[str, str]:
    from tests.train.test_cpt_resume import _child_env as env

    return env()


def _torchrun(args: list[str], timeout: int = 300, nproc: int = 2) -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    proc = subprocess.run(cmd, cwd=REPO, env=_child_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]


def _cli(cfg: dict[str, Any], path: Path, nproc: int = 2) -> None:
    path.write_text(json.dumps(cfg))
    _torchrun(["-m", "sciforge.model.train.cli", "cpt", "--config", str(path)], timeout=600, nproc=nproc)


def test_moe_layer_all_to_all_matches_replicated_experts() -> None:
    """Outputs, router stats, expert and router gradients of a 2-rank EP layer equal the ep=1 layer's,
    with and without capacity drops, and when one rank's experts receive no tokens."""
    _torchrun([str(Path(__file__).resolve()), "layer"])


def test_expert_parallel_size_resolution() -> None:
    assert resolve_expert_parallel_size(1, 4, 8) == 1
    assert resolve_expert_parallel_size(2, 4, 8) == 2
    assert resolve_expert_parallel_size("auto", 4, 8) == 4
    assert resolve_expert_parallel_size("auto", 6, 8) == 2
    assert resolve_expert_parallel_size("auto", 2, 0) == 1  # dense model
    with pytest.raises(ValueError, match="does not divide the world size"):
        resolve_expert_parallel_size(4, 2, 8)
    with pytest.raises(ValueError, match="does not divide num_experts"):
        resolve_expert_parallel_size(3, 6, 8)
    with pytest.raises(ValueError, match="no MoE layers"):
        resolve_expert_parallel_size(2, 2, 0)
    with pytest.raises(ValueError, match="expert_parallel_size"):
        TrainConfig.model_validate({"schedule": {"total_tokens": 8}, "expert_parallel_size": 0})


def test_expert_parallel_refuses_zero3() -> None:
    from sciforge.model import get_config
    from sciforge.model.model import SciForgeModel

    cfg = TrainConfig.model_validate({"schedule": {"total_tokens": 8}, "expert_parallel_size": 2,
                                      "zero_stage": 3})
    model = SciForgeModel(get_config("tiny", vision=None, time_series=None))
    with pytest.raises(ValueError, match="ZeRO stage 0, 1 or 2"):
        build_engine(model, cfg, world_size=2, first_batch_sequences=2)


def _rows(run_dir: Path) -> list[dict[str, Any]]:
    return read_metrics(run_dir / "metrics.jsonl")


def _compare_to_ep1(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert [r["step"] for r in b] == [r["step"] for r in a]
    for key in ("loss", "aux_loss", "grad_norm", "expert_utilization", "expert_load_max_over_mean"):
        assert [r[key] for r in b] == pytest.approx([r[key] for r in a], abs=TOL), key
    assert [r["batch_tokens"] for r in b] == [r["batch_tokens"] for r in a]


def _compare_exports(ep1: Path, ep2: Path) -> None:
    """The EP export is one complete model: it loads with ep=1 and gives the ep=1 run's logits."""
    from sciforge.model.checkpoint import load_pretrained

    m1, m2 = load_pretrained(ep1), load_pretrained(ep2)
    ids = torch.randint(0, m1.config.vocab_size, (2, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(m2(ids).logits, m1(ids).logits, rtol=0, atol=TOL)
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert s1.keys() == s2.keys()
    for k in s1:
        torch.testing.assert_close(s2[k], s1[k], rtol=0, atol=TOL, msg=k)


def _assert_same_steps(x: list[dict[str, Any]], y: list[dict[str, Any]]) -> None:
    assert [r["step"] for r in y] == [r["step"] for r in x]
    for a, b in zip(x, y, strict=True):
        assert (a["loss"], a["lr"], a["grad_norm"], a["expert_utilization"]) == (
            b["loss"], b["lr"], b["grad_norm"], b["expert_utilization"]), a["step"]


def test_ep2_trains_like_ep1_resumes_exactly_and_exports_full_model(
    snapshot: tuple[str, str], tmp_path: Path, threads_1: None
) -> None:
    """One 2-process launch trains ep=2 (4 steps), then the same run stopped at its step-2 checkpoint
    and resumed; one in-process ep=1 run is the reference."""
    root, ref = snapshot
    steps = 4
    common: dict[str, Any] = {"max_steps": steps, "micro_batch_size": 1, "save_every": 2}
    one = train(TrainConfig.model_validate(cpt_config(root, ref, tmp_path / "ep1", **common)))
    full = cpt_config(root, ref, tmp_path / "ep2", expert_parallel_size=2, **common)
    half = cpt_config(root, ref, tmp_path / "res", expert_parallel_size=2, export=False,
                      **{**common, "max_steps": 2})
    configs = tmp_path / "configs.json"
    configs.write_text(json.dumps([full, half, {**half, "max_steps": steps}]))
    _torchrun([str(Path(__file__).resolve()), "train", str(configs)])

    ep2_dir = tmp_path / "ep2" / "cpt" / "t"
    b = _rows(ep2_dir)
    _compare_to_ep1(_rows(Path(one["run_dir"])), b)
    ckpt = ep2_dir / "ds" / f"step_{steps:08d}"
    assert sorted(p.name for p in ckpt.glob("experts_ep*.pt")) == ["experts_ep000-of-002.pt",
                                                                  "experts_ep001-of-002.pt"]
    assert json.loads((ep2_dir / "summary.json").read_text())["expert_parallel_size"] == 2
    _compare_exports(Path(one["export"]), ep2_dir / "export")
    # exact resume under EP: the expert shards and their AdamW moments come back
    _assert_same_steps(b, _rows(tmp_path / "res" / "cpt" / "t"))


@pytest.mark.slow
def test_ep2_kill_free_restart_in_fresh_processes(snapshot: tuple[str, str], tmp_path: Path) -> None:
    """The same as above with every run in fresh processes (`sciforge train` via torchrun): 6 steps,
    and a run stopped at step 3 then restarted."""
    root, ref = snapshot
    common: dict[str, Any] = {"max_steps": STEPS, "micro_batch_size": 1, "expert_parallel_size": 2}
    _cli(cpt_config(root, ref, tmp_path / "ep2", export=False, **common), tmp_path / "ep2.json")
    half = cpt_config(root, ref, tmp_path / "res", export=False, **{**common, "max_steps": 3})
    _cli(half, tmp_path / "half.json")
    _cli({**half, "max_steps": STEPS}, tmp_path / "rest.json")
    _assert_same_steps(_rows(tmp_path / "ep2" / "cpt" / "t"), _rows(tmp_path / "res" / "cpt" / "t"))


@pytest.mark.slow
@pytest.mark.parametrize(("zero", "precision", "tol"),
                         [(0, "fp32", TOL), (2, "fp32", TOL), (1, "bf16", 2e-2)])
def test_ep2_matches_ep1_other_zero_stages(snapshot: tuple[str, str], tmp_path: Path, threads_1: None,
                                           zero: int, precision: str, tol: float) -> None:
    root, ref = snapshot
    common = {"max_steps": 4, "micro_batch_size": 1, "zero_stage": zero, "precision": precision,
              "export": False}
    # ZeRO-0 fp32 reports no grad norm with ep=1 (the torch optimizer has none): there the reference is
    # ZeRO-1, whose norm is the global one our ZeRO-0 EP clipping must compute
    reference = {**common, "zero_stage": 1} if zero == 0 else common
    one = train(TrainConfig.model_validate(cpt_config(root, ref, tmp_path / "ep1", **reference)))
    _cli(cpt_config(root, ref, tmp_path / "ep2", expert_parallel_size=2, **common), tmp_path / "ep2.json")
    a, b = _rows(Path(one["run_dir"])), _rows(tmp_path / "ep2" / "cpt" / "t")
    assert [r["loss"] for r in b] == pytest.approx([r["loss"] for r in a], abs=tol)
    assert [r["grad_norm"] for r in b] == pytest.approx([r["grad_norm"] for r in a], rel=tol)
    assert max(r["grad_norm"] for r in a) > 1.0  # clipping (grad_clip 1.0) is active: the norm matters


@pytest.mark.slow
def test_four_processes_ep2_with_expert_data_parallel(snapshot: tuple[str, str], tmp_path: Path,
                                                      threads_1: None) -> None:
    """World 4, ep=2: EP groups {0,1},{2,3}, expert-data-parallel groups {0,2},{1,3} (expert grads
    reduced and ZeRO-1-partitioned over those), against ep=1 on 1 process; the export is complete."""
    root, ref = snapshot
    phases = [{"start_tokens": 0, "global_batch_tokens": 4 * SEQ_LEN}]
    common: dict[str, Any] = {"max_steps": 4, "micro_batch_size": 1, "save_every": 2}
    base = cpt_config(root, ref, tmp_path / "ep1", **common)
    base["schedule"] = {**base["schedule"], "batch_phases": phases}
    one = train(TrainConfig.model_validate(base))
    four = {**base, "out_dir": str(tmp_path / "w4"), "expert_parallel_size": 2}
    _cli(four, tmp_path / "w4.json", nproc=4)
    run = tmp_path / "w4" / "cpt" / "t"
    _compare_to_ep1(_rows(Path(one["run_dir"])), _rows(run))
    assert sorted(p.name for p in (run / "ds" / "step_00000004").glob("experts_ep*.pt")) == [
        "experts_ep000-of-002.pt", "experts_ep001-of-002.pt"]
    _compare_exports(Path(one["export"]), run / "export")


if __name__ == "__main__":
    if sys.argv[1:] == ["layer"]:
        _worker_layer()
    elif len(sys.argv) == 3 and sys.argv[1] == "train":
        _worker_train(sys.argv[2])
    else:
        raise SystemExit(f"usage: {sys.argv[0]} layer | train CONFIGS.json")
