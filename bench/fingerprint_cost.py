"""Cost of content-addressed ingest versions: the streaming sha256 pass over the landing files
(sciforge.pipelines.datasets.fingerprint_file) next to the whole ingest of the same files, per kind.

    python bench/fingerprint_cost.py --landing DIR [--big-mib 512]

DIR holds warc/ pdf/ jsonl/ (`sciforge demo-data DIR` writes the sample corpus). In-process engine;
--big-mib also times the hash pass alone on one generated file of that size (MiB/s of the pass).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from sciforge.jobs.ingest import run_ingest
from sciforge.pipelines.config import load_settings
from sciforge.pipelines.datasets import fingerprint_file
from sciforge.pipelines.ingest.core import list_inputs
from sciforge.pipelines.storage import LocalStorage


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--landing", required=True, type=Path)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--big-mib", type=int, default=0)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(storage={"data_root": tmp})
        for kind in ("warc", "pdf", "jsonl"):
            src = LocalStorage(str(a.landing / kind))
            keys = list_inputs(src, kind)
            size = sum(src.size(k) for k in keys)
            fp, whole = [], []
            for _ in range(a.rounds):
                t0 = time.perf_counter()
                for k in keys:
                    fingerprint_file(src, k)
                fp.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                run_ingest(settings, str(a.landing / kind), kind, "2026-01-01", engine="local")
                whole.append(time.perf_counter() - t0)
            f, w = statistics.median(fp), statistics.median(whole)
            print(f"{kind}: {len(keys)} files, {size / 1e6:.2f} MB: fingerprint pass {f * 1e3:.1f} ms, "
                  f"whole ingest (pass included) {w * 1e3:.0f} ms, share {100 * f / w:.1f}% "
                  f"(median of {a.rounds})")
        if a.big_mib:
            big = Path(tmp) / "big.warc.gz"
            with big.open("wb") as out:
                for _ in range(a.big_mib):
                    out.write(os.urandom(1 << 20))
            t0 = time.perf_counter()
            fingerprint_file(LocalStorage(tmp), big.name)
            dt = time.perf_counter() - t0
            print(f"one {a.big_mib} MiB file: {dt:.2f} s, {a.big_mib / dt:.0f} MiB/s (page cache warm)")


if __name__ == "__main__":
    main()
