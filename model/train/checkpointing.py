"""Atomic DeepSpeed checkpoints and the final safetensors export.

    <run>/ds/step_00000040/   DeepSpeed layout (mp_rank_00_model_states.pt, zero_pp_rank_*_optim_states.pt)
                              + trainer_state.json (step, tokens, data position) + rng_rank<r>.pt
                              + experts_ep<r>-of-<n>.pt (expert parallelism: EP rank r's expert slices)
    <run>/ds/latest           the tag of the newest COMPLETE checkpoint
    <run>/export/             config.json + model.safetensors + tokenizer (save_pretrained layout)

Every rank writes into `<run>/ds/.tmp/<tag>`; after a barrier rank 0 renames the folder into place
(atomic on one file system) and only then replaces `latest` (write-to-temp + fsync + rename). A crash at
any point of a save therefore leaves `latest` pointing at the previous, complete checkpoint; a leftover
`.tmp` is removed by the next save.

Expert parallelism: DeepSpeed's model-states file is written by rank 0 only, so it holds rank 0's expert
slice. Each EP rank's slice is therefore written (by the first replica of that slice) into the same
staging folder as `experts_ep<r>-of-<n>.pt` and copied back into the layers after DeepSpeed's load. The
optimizer moments of the experts are DeepSpeed's: per-rank ZeRO shards (`zero_pp_rank_*`, expert groups
partitioned over the expert-data-parallel group) or, without ZeRO, `expp_rank_<r>_mp_rank_00_optim_states.pt`.
The export all-gathers the experts so one complete safetensors model is written.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from sciforge.model.moe import expert_parallel_layers, gathered_experts, local_expert_state

LATEST = "latest"
STATE_FILE = "trainer_state.json"
TMP = ".tmp"


def tag_for(step: int) -> str:
    return f"step_{step:08d}"


def expert_shard_name(ep_rank: int, ep_size: int) -> str:
    return f"experts_ep{ep_rank:03d}-of-{ep_size:03d}.pt"


def _expert_parallel(model: torch.nn.Module) -> tuple[int, int, int] | None:
    """(ep_size, ep_rank, expert-data-parallel rank) of the model's EP layers, or None without EP."""
    layers = expert_parallel_layers(model)
    if not layers:
        return None
    ep = layers[0][1].expert_parallel
    assert ep is not None
    return ep.size, ep.rank, ep.data_rank


def save_expert_shard(model: torch.nn.Module, folder: Path) -> None:
    """Write this EP rank's expert slices (only the first replica of each slice writes)."""
    info = _expert_parallel(model)
    if info is None or info[2] != 0:
        return
    size, rank, _ = info
    tensors = {k: v.clone() for k, v in local_expert_state(model).items()}
    payload = {"ep_size": size, "ep_rank": rank, "tensors": tensors}
    with open(folder / expert_shard_name(rank, size), "wb") as fh:
        torch.save(payload, fh)
        fh.flush()
        os.fsync(fh.fileno())


def load_expert_shard(model: torch.nn.Module, folder: Path) -> None:
    """Copy this EP rank's expert slices from `folder` into the model's EP layers."""
    info = _expert_parallel(model)
    if info is None:
        return
    size, rank, _ = info
    f = folder / expert_shard_name(rank, size)
    if not f.is_file():
        found = sorted(p.name for p in folder.glob("experts_ep*.pt"))
        raise ValueError(f"{folder}: no expert shard {f.name} for EP rank {rank} of {size} (found {found}); "
                         "a checkpoint must be resumed with the expert_parallel_size it was saved with")
    payload = torch.load(f, map_location="cpu", weights_only=True)
    tensors: dict[str, torch.Tensor] = payload["tensors"]
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, t in tensors.items():
            if name not in params or params[name].shape != t.shape:
                raise ValueError(f"{f}: {name} {tuple(t.shape)} does not match the model")
            params[name].copy_(t)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rng_state() -> dict[str, Any]:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


class CheckpointManager:
    def __init__(self, run_dir: Path, rank: int, keep_last: int) -> None:
        self.root = Path(run_dir) / "ds"
        self.rank, self.keep_last = rank, keep_last

    def latest(self) -> str | None:
        f = self.root / LATEST
        if not f.is_file():
            return None
        tag = f.read_text().strip()
        return tag if (self.root / tag / STATE_FILE).is_file() else None

    def save(self, engine: Any, state: dict[str, Any]) -> str:
        tag = tag_for(int(state["step"]))
        staging = self.root / TMP
        if self.rank == 0:
            shutil.rmtree(staging / tag, ignore_errors=True)
            staging.mkdir(parents=True, exist_ok=True)
        _barrier()
        engine.save_checkpoint(str(staging), tag=tag, save_latest=False)
        if isinstance(getattr(engine, "module", None), torch.nn.Module):
            save_expert_shard(engine.module, staging / tag)
        torch.save(rng_state(), staging / tag / f"rng_rank{self.rank}.pt")
        _barrier()
        if self.rank == 0:
            _write_atomic(staging / tag / STATE_FILE, json.dumps(state, indent=2, sort_keys=True).encode())
            final = self.root / tag
            if final.exists():  # a re-save of the same step (e.g. after a resume): replace it
                shutil.rmtree(final)
            os.replace(staging / tag, final)
            _fsync_dir(self.root)
            _write_atomic(self.root / LATEST, (tag + "\n").encode())
            self._prune(keep=tag)
        _barrier()
        return tag

    def _prune(self, keep: str) -> None:
        tags = sorted(p.name for p in self.root.glob("step_*") if p.is_dir())
        for old in tags[: max(0, len(tags) - self.keep_last)]:
            if old != keep:
                shutil.rmtree(self.root / old, ignore_errors=True)

    def load(self, engine: Any, tag: str | None = None) -> dict[str, Any] | None:
        """Restore engine (weights, optimizer) and RNG state; returns the trainer state or None."""
        tag = tag or self.latest()
        if tag is None:
            return None
        path, _ = engine.load_checkpoint(
            str(self.root), tag=tag, load_optimizer_states=True, load_lr_scheduler_states=False
        )
        if path is None:
            raise RuntimeError(f"DeepSpeed could not load checkpoint {self.root / tag}")
        if isinstance(getattr(engine, "module", None), torch.nn.Module):
            load_expert_shard(engine.module, self.root / tag)
        rng_file = self.root / tag / f"rng_rank{self.rank}.pt"
        if rng_file.is_file():
            set_rng_state(torch.load(rng_file, weights_only=False))
        state: dict[str, Any] = json.loads((self.root / tag / STATE_FILE).read_text())
        return state


def _barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def export(
    engine: Any, model: torch.nn.Module, out: Path, tokenizer: Any, rank: int, zero_stage: int
) -> Path:
    """Write the trained weights as safetensors + config.json (+ tokenizer) with `save_pretrained`.

    Collective under ZeRO-3 or expert parallelism (all ranks must call it); rank 0 writes."""
    from sciforge.model.checkpoint import save_pretrained

    if expert_parallel_layers(model):  # each rank holds a slice of the experts: gather them for the write
        with gathered_experts(model):
            if rank == 0:
                _save(model, out, tokenizer, save_pretrained)
    elif zero_stage == 3:  # parameters are partitioned: gather them for the write
        import deepspeed

        with deepspeed.zero.GatheredParameters(list(model.parameters()), modifier_rank=None):
            if rank == 0:
                _save(model, out, tokenizer, save_pretrained)
    elif rank == 0:
        _save(model, out, tokenizer, save_pretrained)
    _barrier()
    return out


def _save(model: torch.nn.Module, out: Path, tokenizer: Any, save_pretrained: Any) -> None:
    tmp = out.with_name(out.name + TMP)
    shutil.rmtree(tmp, ignore_errors=True)
    save_pretrained(model, tmp)
    if tokenizer is not None:  # HF convention: tokenizer files beside the weights
        save = getattr(tokenizer, "save", None) or tokenizer.save_pretrained
        save(str(tmp))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
