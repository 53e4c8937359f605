"""Accuracy of the dedup stage against exact Jaccard, side by side with datasketch.

Corpus: 20 Newsgroups posts (real text, headers stripped) as distractors plus N planted near
duplicates made by editing random posts (so exact 5-gram Jaccard spreads over ~0.5..1).
Ground truth: every pair with exact Jaccard >= threshold over word 5-gram sets of the
normalized text (all pairs, via sparse co-occurrence counts; 20NG's own crossposts count too).

Reported (precision / recall / F1 of duplicate pairs):
  * LSH candidates (pairs sharing a band bucket) and after MinHash-estimate verification, for
    sciforge (vectorized MinHash, optimal (b, r)) and datasketch (MinHash + MinHashLSH);
  * clusters of the real job (`sciforge.jobs.dedup.run_dedup`, engine local or spark): all co-member
    pairs of its components vs the components of the ground-truth graph.

    python bench/dedup_eval.py [--data ../shared/data] [--planted 2000] [--engine local|spark]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_common import (  # noqa: E402
    DEFAULT_DATA,
    build_corpus,
    cluster_pairs,
    components,
    exact_pairs,
    normalized_tokens,
    prf,
    shingle_strings,
    write_pages,
)

from bench._goals import Goals, add_check_flag  # noqa: E402
from sciforge.pipelines.dedup.config import DedupConfig  # noqa: E402
from sciforge.pipelines.dedup.features import (  # noqa: E402
    Featurizer,
    decode_minhash,
    exact_shingle_sets,  # noqa: E402
)
from sciforge.pipelines.dedup.minhash import exact_jaccard, jaccard_estimate  # noqa: E402

BATCH = 2000


def bucket_pairs(bands: np.ndarray) -> set[tuple[int, int]]:
    """All pairs of documents sharing a bucket in any band."""
    pairs: set[tuple[int, int]] = set()
    for j in range(bands.shape[1]):
        groups: dict[int, list[int]] = defaultdict(list)
        for i, h in enumerate(bands[:, j].tolist()):
            groups[h].append(i)
        for members in groups.values():
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    pairs.add((members[x], members[y]))
    return pairs


def ours(texts: list[str], cfg: DedupConfig) -> tuple[set, set, set, float]:
    feat = Featurizer(cfg)
    b, _ = feat.bands_rows
    t0 = time.perf_counter()
    tables = [feat(pa.array(texts[i:i + BATCH], pa.large_string())) for i in range(0, len(texts), BATCH)]
    secs = time.perf_counter() - t0
    bands = np.concatenate([np.asarray(t["bands"].combine_chunks().flatten().to_numpy()).reshape(-1, b)
                            for t in tables])
    sig = np.concatenate([decode_minhash(t["minhash"].combine_chunks(), cfg.num_perm) for t in tables])
    ok = np.concatenate([np.asarray(t["status"].to_pylist()) == "ok" for t in tables])
    raw = {p for p in bucket_pairs(bands) if ok[p[0]] and ok[p[1]]}
    arr = np.array(sorted(raw), dtype=np.int64).reshape(-1, 2)
    est = jaccard_estimate(sig[arr[:, 0]], sig[arr[:, 1]]) if len(arr) else np.zeros(0)
    verified = {p for p, e in zip(map(tuple, arr.tolist()), est, strict=True) if e >= cfg.threshold}
    # what the job's default `verify="exact"` does: exact Jaccard of the (hashed) shingle sets
    nodes = sorted({i for p in raw for i in p})
    sets = dict(zip(nodes, exact_shingle_sets([texts[i] for i in nodes], cfg),
                    strict=True))
    exact = {(i, j) for i, j in raw if exact_jaccard(sets[i], sets[j]) >= cfg.threshold}
    return raw, verified, exact, secs


def datasketch_run(tokens: list[list[str]], cfg: DedupConfig, b: int, r: int) -> tuple[set, set, float]:
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    lsh = MinHashLSH(num_perm=cfg.num_perm, params=(b, r))
    mhs = []
    for i, toks in enumerate(tokens):
        m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)
        m.update_batch([s.encode("utf-8") for s in shingle_strings(toks, cfg.ngram)])
        mhs.append(m)
        if toks:
            lsh.insert(i, m)
    raw = set()
    for i, toks in enumerate(tokens):
        if toks:
            for j in lsh.query(mhs[i]):
                if j != i:
                    raw.add((min(i, j), max(i, j)))
    secs = time.perf_counter() - t0
    verified = {(i, j) for i, j in raw if mhs[i].jaccard(mhs[j]) >= cfg.threshold}
    return raw, verified, secs


def job_clusters(texts: list[str], engine: str, cfg: DedupConfig) -> list[str]:
    from sciforge.jobs.dedup import run_dedup
    from sciforge.pipelines.config import load_settings
    from sciforge.pipelines.datasets import read_table
    from sciforge.pipelines.storage import open_storage

    tmp = tempfile.mkdtemp(prefix="dedup_eval_")
    settings = load_settings(storage={"data_root": tmp}, stages={"dedup": cfg.model_dump()})
    st = open_storage(settings.data_root, settings.storage_options())
    ref = write_pages(st, texts, "2026-01-01_eval")
    out = run_dedup(settings, [ref], "2026-01-01", engine=engine)  # type: ignore[arg-type]
    labels = [f"single-{i}" for i in range(len(texts))]
    for t in (read_table(st, out, ["doc_id", "component_id"]),
              read_table(st, out.quarantine(), ["doc_id", "component_id"])):
        for d, c in zip(t["doc_id"].to_pylist(), t["component_id"].to_pylist(), strict=True):
            if c:
                labels[int(d)] = c
    return labels


# Stated goal: duplicate-pair F1 of the job's default path (exact verification) against exact Jaccard.
PAIR_F1_GOAL = 0.95


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA, help="shared data folder (default ../shared/data)")
    ap.add_argument("--planted", type=int, default=2000, help="planted near duplicates")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N posts")
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--engine", choices=["local", "spark", "none"], default="local",
                    help="engine of the clustering run (none: skip it)")
    add_check_flag(ap)
    a = ap.parse_args()
    cfg = DedupConfig(threshold=a.threshold)
    b, r = Featurizer(cfg).bands_rows
    corpus = build_corpus(a.data, n_planted=a.planted, limit=a.limit)
    texts = corpus.texts
    print(f"corpus: {len(texts)} documents ({len(texts) - len(corpus.planted)} 20NG posts + "
          f"{len(corpus.planted)} planted near duplicates); threshold {cfg.threshold}; LSH b={b} r={r}")
    tokens = normalized_tokens(texts, cfg)
    shingles = [shingle_strings(t, cfg.ngram) for t in tokens]
    t0 = time.perf_counter()
    truth_j = exact_pairs(shingles, 0.5)
    truth = {p for p, j in truth_j.items() if j >= cfg.threshold}
    print(f"ground truth: {len(truth)} pairs with exact Jaccard >= {cfg.threshold} "
          f"({time.perf_counter() - t0:.1f}s)")

    o_raw, o_ver, o_exact, o_secs = ours(texts, cfg)
    d_raw, d_ver, d_secs = datasketch_run(tokens, cfg, b, r)
    from sciforge.pipelines.dedup.lsh import optimal_params

    b0, r0 = optimal_params(cfg.threshold, cfg.num_perm, 0.5, 0.5)  # datasketch's own default weights
    d0_raw, d0_ver, _ = datasketch_run(tokens, cfg, b0, r0)
    rows = [("sciforge LSH candidates", o_raw), ("sciforge + estimate check", o_ver),
            ("sciforge + exact check (job default)", o_exact),
            (f"datasketch LSH candidates ({b}x{r})", d_raw), (f"datasketch + estimate check ({b}x{r})", d_ver),
            (f"datasketch LSH candidates ({b0}x{r0}, default)", d0_raw),
            (f"datasketch + estimate check ({b0}x{r0})", d0_ver)]
    labels = None
    if a.engine != "none":
        t0 = time.perf_counter()
        labels = job_clusters(texts, a.engine, cfg)
        print(f"job ({a.engine}) ran in {time.perf_counter() - t0:.1f}s")
        rows.append((f"sciforge job components ({a.engine})", cluster_pairs(labels)))
    print(f"\n{'duplicate pairs (exact J >= threshold)':46s} {'pairs':>8s} {'precision':>10s} {'recall':>8s} "
          f"{'F1':>7s}")
    goals = Goals("dedup_eval")
    for name, pairs in rows:
        p, rr, f = prf(pairs, truth)
        print(f"{name:46s} {len(pairs):8d} {p:10.4f} {rr:8.4f} {f:7.4f}")
        if name == "sciforge + exact check (job default)":
            goals.at_least("duplicate-pair F1, exact check (job default)", f, PAIR_F1_GOAL, fmt="{:.4f}")
    if labels is not None:
        truth_clusters = cluster_pairs(components(len(texts), truth))
        p, rr, f = prf(cluster_pairs(labels), truth_clusters)
        print(f"{'clusters: job vs ground-truth components':46s} {len(truth_clusters):8d} {p:10.4f} {rr:8.4f} "
              f"{f:7.4f}")
    # recall by exact similarity of the planted pairs
    print("\nrecall of planted pairs by exact Jaccard (ours exact-checked / ours estimate-checked / "
          "datasketch estimate-checked):")
    bins = [0.8, 0.85, 0.9, 0.95, 1.0001]
    for lo, hi in zip(bins[:-1], bins[1:], strict=True):
        sel = [tuple(sorted(p)) for p in corpus.planted if lo <= truth_j.get(tuple(sorted(p)), 0.0) < hi]
        if sel:
            rx = sum(p in o_exact for p in sel) / len(sel)
            ro = sum(p in o_ver for p in sel) / len(sel)
            rd = sum(p in d_ver for p in sel) / len(sel)
            print(f"  J in [{lo:.2f}, {min(hi, 1.0):.2f}]: n={len(sel):5d}  ours {rx:.3f} / {ro:.3f}  "
                  f"datasketch {rd:.3f}")
    print(f"\nsignature+LSH time, one process: sciforge features {o_secs:.2f}s "
          f"({len(texts) / o_secs:,.0f} docs/s), datasketch {d_secs:.2f}s ({len(texts) / d_secs:,.0f} docs/s), "
          f"ratio {d_secs / o_secs:.1f}x")
    return goals.finish(a.check)


if __name__ == "__main__":
    sys.exit(main())
