"""Sample sources and the deterministic, resumable order over them.

A source is a finite, indexable set of fixed-length rows (`seq_len` tokens each) with a `collate`
that turns row ids into model inputs. `SampleStream` orders rows by a seeded permutation per epoch;
position `p` of the stream is row `perm(p // n)[p % n]`. A step that consumes `G` rows takes stream
positions `[consumed, consumed + G)`, rank `r` the `r`-th contiguous slab of them. The state is one
integer (`consumed`), so the order survives a resume and a change of the global batch size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch

from sciforge.pipelines.corpus.reader import IGNORE_INDEX, CorpusSnapshot, epoch_permutation


class Source(Protocol):
    seq_len: int

    def __len__(self) -> int: ...

    def collate(self, rows: Sequence[int]) -> dict[str, Any]: ...

    def tokenizer(self) -> Any: ...


class SampleStream:
    def __init__(self, n: int, seed: int) -> None:
        if n < 1:
            raise ValueError("the training source has no rows")
        self.n, self.seed = n, seed
        self._epoch, self._perm = -1, np.zeros(0, dtype=np.int64)

    def _permutation(self, epoch: int) -> np.ndarray:
        if epoch != self._epoch:
            self._perm = epoch_permutation(self.n, self.seed, epoch)
            self._epoch = epoch
        return self._perm

    def rows(self, start: int, count: int) -> list[int]:
        out = []
        for p in range(start, start + count):
            epoch, i = divmod(p, self.n)
            out.append(int(self._permutation(epoch)[i]))
        return out

    def rank_micro_batches(
        self, consumed: int, global_rows: int, rank: int, world: int, micro: int
    ) -> list[list[int]]:
        """This rank's micro-batches (row ids) for one optimizer step of `global_rows` rows."""
        per_rank = global_rows // world
        mine = self.rows(consumed + rank * per_rank, per_rank)
        return [mine[i : i + micro] for i in range(0, per_rank, micro)]


class CorpusSource:
    """Continued pre-training rows from a corpus snapshot (`pipelines/corpus`): packed documents with
    their document ids, so attention and RoPE positions stay inside each document."""

    def __init__(self, root: str, ref: str, storage_options: dict[str, Any] | None = None) -> None:
        self.snapshot = CorpusSnapshot.open(root, ref, storage_options)
        self.root = root
        self.seq_len = self.snapshot.seq_len
        self.pad_id = int(self.snapshot.meta["pad_id"])

    def __len__(self) -> int:
        return len(self.snapshot)

    def collate(self, rows: Sequence[int]) -> dict[str, Any]:
        seqs = [self.snapshot.sequence(i) for i in rows]
        ids = torch.from_numpy(np.stack([s[0] for s in seqs]).astype(np.int64))
        doc_ids = torch.from_numpy(np.stack([s[1] for s in seqs]).astype(np.int64))
        labels = ids.masked_fill(ids == self.pad_id, IGNORE_INDEX)
        return {"input_ids": ids, "labels": labels, "doc_ids": doc_ids}

    def tokenizer(self) -> Any:
        return self.snapshot.tokenizer()


def to_device(
    batch: dict[str, Any], device: torch.device, float_dtype: torch.dtype | None = None
) -> dict[str, Any]:
    """Move tensors (and lists of tensors) to `device`; floating inputs (pixels, signals) to
    `float_dtype` when the engine runs in reduced precision."""

    def move(t: torch.Tensor) -> torch.Tensor:
        if float_dtype is not None and t.is_floating_point():
            t = t.to(float_dtype)
        return t.to(device)

    out: dict[str, Any] = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            out[k] = move(v) if k != "label_weights" else v.to(device)
        elif isinstance(v, list) and v and isinstance(v[0], torch.Tensor):
            out[k] = [move(t) for t in v]
        else:
            out[k] = v
    return out
