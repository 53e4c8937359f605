"""Throughput: encode MB/s of the dynamic tokenizer vs plain HF ``tokenizers`` BPE, same text, same run.

Both encode the same documents in the same batches of 256 (what the corpus job does); the plain BPE uses
``encode_batch_fast`` (Rust, all cores), ours adds the modality detectors (Python + RDKit) and the
sub-tokenizers on top of its own text BPE. Texts: held-out 20-newsgroups posts (prose) and the same
posts with planted SMILES/proteins (bench/tokenizer_detection.py's construction). Best of 3 runs,
alternating ours and the baseline so both see the same load.

Tokenizers come from bench/tokenizer_compression.py's --out folder when present (same budget), else
they are trained here.

    .venv/bin/python bench/tokenizer_throughput.py [--data ../shared/data] [--budget 65536]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tokenizer_data import SEED, data_arg, load  # noqa: E402
from tokenizer_detection import build  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

from pipelines.tokenizer.config import TrainConfig  # noqa: E402
from pipelines.tokenizer.tokenizer import SciTokenizer  # noqa: E402
from pipelines.tokenizer.train import train_text_bpe, train_tokenizer  # noqa: E402

BATCH = 256


def mbps_pair(fa: object, fb: object, texts: list[str], repeats: int = 3) -> tuple[float, float]:
    """Best-of-``repeats`` MB/s of two encoders, alternated so both see the same machine load."""
    mb = sum(len(t.encode()) for t in texts) / 1e6
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for k, fn in enumerate((fa, fb)):
            t = time.perf_counter()
            for i in range(0, len(texts), BATCH):
                fn(texts[i:i + BATCH])  # type: ignore[operator]
            best[k] = min(best[k], time.perf_counter() - t)
    return mb / best[0], mb / best[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data_arg(p)
    p.add_argument("--budget", type=int, default=65536)
    p.add_argument("--tokenizers", type=Path, default=Path("var/bench/tokenizer"))
    a = p.parse_args()
    d = load(a.data, n_moses_train=50_000)
    ours_dir, base_file = a.tokenizers / f"ours-{a.budget}", a.tokenizers / f"base-{a.budget}.json"
    if ours_dir.is_dir() and base_file.is_file():
        ours, base = SciTokenizer.load(ours_dir), Tokenizer.from_file(str(base_file))
    else:
        print("training tokenizers (run bench/tokenizer_compression.py first to reuse its)")
        base = train_text_bpe(d.news_train, a.budget)
        ours = train_tokenizer(d.news_train, d.moses_train, [], TrainConfig(vocab_size=a.budget))
    planted = [t for t, _ in build(d, 3000, random.Random(SEED))]
    print(f"cores: {os.cpu_count()}, RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', 'default')}, "
          f"vocab {len(ours)} / {base.get_vocab_size()}")
    print(f"{'text':34s} {'MB':>6s} {'ours MB/s':>10s} {'HF BPE MB/s':>12s} {'ratio':>7s}")
    for name, texts in (("held-out news (prose)", d.news_test), ("news + planted SMILES/proteins", planted)):
        o, b = mbps_pair(ours.encode_batch, lambda xs: base.encode_batch_fast(xs, add_special_tokens=False), texts)
        mb = sum(len(t.encode()) for t in texts) / 1e6
        print(f"{name:34s} {mb:6.2f} {o:10.2f} {b:12.2f} {o / b:7.2f}  (goal >= 0.5)")


if __name__ == "__main__":
    main()
