"""The training side's view of a corpus snapshot: memory-mapped shards, deterministic sharded sampling.

    snap = CorpusSnapshot.open(settings.data_root, "corpus/snapshot/<version>")
    loader = CorpusLoader(snap, batch_size=8, rank=rank, world_size=world, seed=1234)
    loader.load_state_dict(saved)          # resume exactly where a checkpoint stopped
    for batch in loader: ...               # input_ids, labels (-100 on padding), doc_ids, step

The order is a seeded permutation of all sequences per epoch; global step ``t`` covers positions
``[t*B*W, (t+1)*B*W)`` of it and rank ``r`` takes its ``B`` of them, so any (rank, world size, step)
gives the same sequences on every run, and together the ranks see each sequence once per epoch.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from sciforge.pipelines.corpus.shards import TOKEN_DTYPE, ShardIndex
from sciforge.pipelines.datasets import DatasetCorrupt, DatasetRef, read_manifest
from sciforge.pipelines.storage import LocalStorage, Storage, open_storage

CORPUS_META = "corpus.json"
TOKENIZER_DIR = "tokenizer"
IGNORE_INDEX = -100  # the label value PyTorch's cross-entropy ignores
# What a training run records of the order it read a snapshot in (pipelines/lineage.py reads them back).
RUN_DATA = "data_order.json"  # the snapshot, the seed and the number of rows
RUN_STEPS = "data_steps.jsonl"  # one line per optimizer step: {"step", "first", "rows"} (stream positions)


def epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """The training order of epoch ``epoch`` over ``n`` rows (model/train/data.py:SampleStream uses it)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


class CorpusSnapshot:
    """A published snapshot; shards are memory-mapped (downloaded to a local cache first from S3)."""

    def __init__(self, storage: Storage, ref: DatasetRef, cache_dir: str | Path | None = None,
                 verify: bool = False) -> None:
        self.ref = ref
        self.manifest = read_manifest(storage, ref)
        self.meta: dict[str, Any] = json.loads(storage.read_bytes(f"{ref.key}/{CORPUS_META}"))
        self.seq_len: int = self.meta["seq_len"]
        self.domains: list[str] = self.meta["domains"]
        files = {f["path"]: f for f in self.manifest["files"]}
        if isinstance(storage, LocalStorage):
            self.folder = Path(storage.uri(ref.key))
        else:  # S3: bring the files to local disk once, then memory-map them
            base = Path(cache_dir or os.environ.get("SCIFORGE_CACHE") or Path.home() / ".cache" / "sciforge")
            self.folder = base / "corpus" / ref.key
            for path, f in files.items():
                dst = self.folder / path
                if not dst.is_file() or dst.stat().st_size != f["bytes"]:
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    tmp = dst.with_suffix(dst.suffix + ".part")
                    tmp.write_bytes(storage.read_bytes(f"{ref.key}/{path}"))
                    os.replace(tmp, dst)
        self.shards: list[tuple[np.ndarray, ShardIndex]] = []
        first = [0]
        for s in self.meta["shards"]:
            for name in (s["bin"], s["idx"]):
                if verify:
                    digest = hashlib.sha256((self.folder / name).read_bytes()).hexdigest()
                    if digest != files[name]["sha256"]:
                        raise DatasetCorrupt(f"{ref}/{name}: sha256 differs from the manifest")
            index = ShardIndex.from_bytes((self.folder / s["idx"]).read_bytes())
            n = index.n_tokens
            tokens = (np.memmap(self.folder / s["bin"], dtype=TOKEN_DTYPE, mode="r", shape=(n,)) if n
                      else np.zeros(0, dtype=TOKEN_DTYPE))
            if tokens.size != index.n_tokens or index.seq_len != self.seq_len:
                raise DatasetCorrupt(f"{ref}/{s['bin']}: size or sequence length differs from its index")
            self.shards.append((tokens, index))
            first.append(first[-1] + index.n_sequences)
        self._first = np.asarray(first, dtype=np.int64)
        self.n_sequences = int(self._first[-1])

    @classmethod
    def open(cls, root: str, ref: str | DatasetRef, storage_options: dict[str, Any] | None = None,
             **kw: Any) -> CorpusSnapshot:
        r = DatasetRef.parse(ref) if isinstance(ref, str) else ref
        return cls(open_storage(root, storage_options), r, **kw)

    def __len__(self) -> int:
        return self.n_sequences

    def sequence(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Tokens of global sequence ``i`` and the document number of each token (for attention masks)."""
        if not 0 <= i < self.n_sequences:
            raise IndexError(f"sequence {i} out of range [0, {self.n_sequences})")
        s = int(np.searchsorted(self._first, i, side="right") - 1)
        tokens, index = self.shards[s]
        start = (i - int(self._first[s])) * self.seq_len
        return np.asarray(tokens[start:start + self.seq_len]), index.doc_ids(start, self.seq_len)

    def tokenizer(self) -> Any:

        return _load_tokenizer(str(self.folder / TOKENIZER_DIR))


@lru_cache(maxsize=4)
def _load_tokenizer(path: str) -> Any:
    from sciforge.pipelines.tokenizer.tokenizer import SciTokenizer

    return SciTokenizer.load(path)


@dataclass
class ShardedSampler:
    """Deterministic, resumable, rank-sharded order over ``n`` sequences (drops the ragged tail)."""

    n: int
    batch_size: int
    rank: int = 0
    world_size: int = 1
    seed: int = 0
    _perm_epoch: int = field(default=-1, repr=False)
    _perm: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} outside world size {self.world_size}")
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if self.steps_per_epoch == 0:
            raise ValueError(f"{self.n} sequences cannot fill one global batch of "
                             f"{self.batch_size} x {self.world_size}")

    @property
    def steps_per_epoch(self) -> int:
        return self.n // (self.batch_size * self.world_size)

    def permutation(self, epoch: int) -> np.ndarray:
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
            self._perm_epoch = epoch
        assert self._perm is not None
        return self._perm

    def indices(self, step: int) -> np.ndarray:
        epoch, s = divmod(step, self.steps_per_epoch)
        g = self.batch_size * self.world_size
        block = self.permutation(epoch)[s * g:(s + 1) * g]
        return block[self.rank * self.batch_size:(self.rank + 1) * self.batch_size]


class CorpusLoader:
    """Batches for one rank: ``input_ids`` and ``labels`` (int64, padding labelled -100) and ``doc_ids``."""

    def __init__(self, snapshot: CorpusSnapshot, batch_size: int, *, rank: int = 0, world_size: int = 1,
                 seed: int = 0, start_step: int = 0, max_steps: int | None = None) -> None:
        self.snapshot = snapshot
        self.sampler = ShardedSampler(len(snapshot), batch_size, rank, world_size, seed)
        self.step = start_step
        self.max_steps = max_steps
        self.pad_id = int(snapshot.meta["pad_id"])

    def batch(self, step: int) -> dict[str, Any]:
        rows = [self.snapshot.sequence(int(i)) for i in self.sampler.indices(step)]
        ids = np.stack([r[0] for r in rows]).astype(np.int64)
        labels = np.where(ids == self.pad_id, IGNORE_INDEX, ids)
        return {"input_ids": ids, "labels": labels, "doc_ids": np.stack([r[1] for r in rows]), "step": step}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while self.max_steps is None or self.step < self.max_steps:
            b = self.batch(self.step)
            self.step += 1
            yield b

    def state_dict(self) -> dict[str, Any]:
        s = self.sampler
        return {"step": self.step, "seed": s.seed, "batch_size": s.batch_size, "world_size": s.world_size,
                "snapshot": str(self.snapshot.ref)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        s = self.sampler
        if (state["seed"], state["batch_size"], state["world_size"]) != (s.seed, s.batch_size, s.world_size):
            raise ValueError("the saved loader state was made with another seed, batch size or world size")
        if state.get("snapshot") not in (None, str(self.snapshot.ref)):
            raise ValueError(f"the saved loader state belongs to snapshot {state['snapshot']}")
        self.step = int(state["step"])
