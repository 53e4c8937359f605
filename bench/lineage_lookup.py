"""Lineage index: size next to the snapshot, and the latency of one lookup (sequence -> its pages).

Builds the lineage index of a synthetic snapshot of ``--sequences`` sequences (default 1M) of ``--seq-len``
tokens (4,096) in shards of ``--shard-tokens`` (2^26, the corpus default) with the corpus job's own code
(``sciforge.pipelines.lineage.lineage_table`` + ``lineage_bytes``), from documents drawn like a science corpus
(``--web-share`` single-page web documents, lognormal length, median 600 tokens; the rest PDFs of 1 + Poisson(9)
pages of median 550 tokens; sha256-wide doc ids). The token shards themselves are not written: their
size is ``sequences x seq_len x 4`` bytes, what the ratio is taken against.

Then times ``--lookups`` random (shard, sequence) lookups done the way ``sciforge lineage`` does them
(open the snapshot's manifest and corpus.json, locate, read the pieces with row-group pruning on ``seq``):
- ``cold``: the index files dropped from the page cache (``posix_fadvise(DONTNEED)``) and fresh objects
  before each lookup;
- ``warm``: the same lookups again on an opened snapshot with the files cached;
against the baseline: the same lookup reading the whole shard index and filtering (no pruning), in the
same rounds, on the same files. Bytes touched per lookup = footer + the row groups read.

    .venv/bin/python bench/lineage_lookup.py [--sequences 1000000] [--dir /tmp/lineage_bench] [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _goals import Goals, add_check_flag  # noqa: E402

from sciforge.pipelines.datasets import DatasetRef  # noqa: E402
from sciforge.pipelines.lineage import Snapshot, lineage_bytes, lineage_key, lineage_table, pieces  # noqa: E402
from sciforge.pipelines.storage import open_storage  # noqa: E402

REF = DatasetRef("corpus", "snapshot", "2026-01-01_lineagebench")
SIZE_GOAL = 0.02  # index bytes / snapshot bytes (issue 27)
LATENCY_GOAL_S = 1.0  # one lookup on a 1M-sequence snapshot


def synth_shard(rng: np.random.Generator, n_tokens: int, seq_len: int, web_share: float, first_doc: int):  # noqa: ANN201
    """Documents packed back to back until the shard holds ``n_tokens`` tokens (the last one cut)."""
    starts, ids, spans, pos, d = [], [], [], 0, first_doc
    while pos < n_tokens:
        if rng.random() < web_share:
            pages = [max(8, int(rng.lognormal(np.log(600), 1.0)))]
        else:
            pages = [max(8, int(x)) for x in rng.lognormal(np.log(550), 0.6, 1 + rng.poisson(9))]
        room = n_tokens - pos
        cut = []
        for n in pages:
            if room <= 0:
                break
            cut.append(min(n, room))
            room -= cut[-1]
        starts.append(pos)
        ids.append(hashlib.sha256(str(d).encode()).hexdigest())
        spans.append([(p + 1, n) for p, n in enumerate(cut)])
        pos += sum(cut)
        d += 1
    return lineage_table(np.asarray(starts, dtype=np.uint64), ids, [0] * len(ids), spans, seq_len), d


def build(root: Path, n_seq: int, seq_len: int, shard_tokens: int, web_share: float) -> dict[str, int]:
    folder = root / REF.key
    (folder / "lineage").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(27)
    per_shard = max(1, shard_tokens // seq_len)
    shards, files, doc, rows, index_bytes = [], [], 0, 0, 0
    for s in range(-(-n_seq // per_shard)):
        n = min(per_shard, n_seq - s * per_shard)
        table, doc = synth_shard(rng, n * seq_len, seq_len, web_share, doc)
        blob = lineage_bytes(table)
        path = folder / f"lineage/shard-{s:05d}.parquet"
        path.write_bytes(blob)
        index_bytes += len(blob)
        rows += table.num_rows
        shards.append({"bin": f"shard-{s:05d}.bin", "idx": f"shard-{s:05d}.idx", "sequences": n,
                       "tokens": n * seq_len})
        files.append({"path": f"lineage/shard-{s:05d}.parquet", "bytes": len(blob), "rows": table.num_rows,
                      "kind": "lineage"})
    meta = {"seq_len": seq_len, "shards": shards, "sequences": n_seq, "tokens": n_seq * seq_len,
            "tokenizer": {"hash": "bench", "modality_ranges": {}}}
    (folder / "corpus.json").write_text(json.dumps(meta))
    (folder / "_manifest.json").write_text(json.dumps({"zone": REF.zone, "name": REF.name, "version": REF.version,
                                                       "files": files, "parents": [], "config_hash": "bench"}))
    return {"shards": len(shards), "documents": doc, "pieces": rows, "index_bytes": index_bytes,
            "snapshot_bytes": n_seq * seq_len * 4}


def evict(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def touched_bytes(path: Path, seq: int) -> int:
    md = pq.ParquetFile(path).metadata
    total = md.serialized_size + 8
    for g in range(md.num_row_groups):
        st = md.row_group(g).column(0).statistics
        if st.min <= seq <= st.max:
            total += sum(md.row_group(g).column(c).total_compressed_size for c in range(md.num_columns))
    return total


def ours(root: str, global_seq: int, snap: Snapshot | None = None) -> int:
    st = open_storage(root)
    snap = snap or Snapshot.open(st, REF)
    shard, seq = snap.locate(global_seq)
    return len(pieces(st, snap, shard, seq))


def baseline(root: str, global_seq: int, snap: Snapshot | None = None) -> int:
    st = open_storage(root)
    snap = snap or Snapshot.open(st, REF)
    shard, seq = snap.locate(global_seq)
    with st.open_native(lineage_key(REF.key, shard)) as f:
        t = pq.read_table(f)
    return len(t.filter(pc.equal(t.column("seq"), seq)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sequences", type=int, default=1_000_000)
    p.add_argument("--seq-len", type=int, default=4096)
    p.add_argument("--shard-tokens", type=int, default=1 << 26)
    p.add_argument("--web-share", type=float, default=0.7)
    p.add_argument("--lookups", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--dir", default="/tmp/lineage_bench")
    add_check_flag(p)
    a = p.parse_args()
    root = Path(a.dir)
    t0 = time.perf_counter()
    info = build(root, a.sequences, a.seq_len, a.shard_tokens, a.web_share)
    ratio = info["index_bytes"] / info["snapshot_bytes"]
    print(f"built {a.sequences:,} sequences x {a.seq_len} tokens in {info['shards']} shards, {info['documents']:,} "
          f"documents, {info['pieces']:,} pieces in {time.perf_counter() - t0:.0f} s")
    print(f"index {info['index_bytes'] / 2**20:.1f} MiB vs token shards {info['snapshot_bytes'] / 2**30:.2f} GiB: "
          f"{ratio:.3%} ({info['index_bytes'] / a.sequences:.1f} bytes per sequence)")
    rng = np.random.default_rng(1)
    picks = [int(x) for x in rng.integers(0, a.sequences, a.lookups)]
    folder = root / REF.key
    snap = Snapshot.open(open_storage(str(root)), REF)
    touched = [touched_bytes(folder / "lineage" / f"shard-{snap.locate(g)[0]:05d}.parquet", snap.locate(g)[1])
               for g in picks]
    print(f"bytes touched per lookup (footer + row groups read): median {statistics.median(touched) / 1024:.0f} KiB, "
          f"whole shard index {statistics.median([(folder / 'lineage' / f'shard-{snap.locate(g)[0]:05d}.parquet').stat().st_size for g in picks]) / 1024:.0f} KiB")
    worst = {"ours cold": 0.0, "ours warm": 0.0}
    for r in range(a.rounds):
        res: dict[str, list[float]] = {}
        for name, fn in (("ours", ours), ("baseline", baseline)):
            cold = []
            for g in picks:
                evict(folder)
                t = time.perf_counter()
                n = fn(str(root), g)
                cold.append(time.perf_counter() - t)
                assert n > 0
            s = Snapshot.open(open_storage(str(root)), REF)
            warm = []
            for g in picks:
                t = time.perf_counter()
                fn(str(root), g, s)
                warm.append(time.perf_counter() - t)
            res[name + " cold"], res[name + " warm"] = cold, warm
        for mode in ("cold", "warm"):
            o, b = res[f"ours {mode}"], res[f"baseline {mode}"]
            worst[f"ours {mode}"] = max(worst[f"ours {mode}"], max(o))
            print(f"round {r + 1} {mode}: ours median {statistics.median(o) * 1e3:.1f} ms (max {max(o) * 1e3:.1f}), "
                  f"baseline (whole shard index) median {statistics.median(b) * 1e3:.1f} ms (max {max(b) * 1e3:.1f}), "
                  f"baseline/ours {statistics.median(b) / statistics.median(o):.1f}x")
    goals = Goals("lineage_lookup")
    goals.at_most("index bytes / snapshot bytes", ratio, SIZE_GOAL, fmt="{:.3%}")
    if a.sequences >= 1_000_000:
        goals.at_most("slowest cold lookup, 1M sequences (s)", worst["ours cold"], LATENCY_GOAL_S)
    else:
        goals.not_measured("slowest cold lookup, 1M sequences (s)", f"only {a.sequences:,} sequences")
    print(goals.summary())
    sys.exit(goals.exit_code(a.check))


if __name__ == "__main__":
    main()
