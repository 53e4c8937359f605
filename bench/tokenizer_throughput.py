"""Throughput: encode MB/s of the dynamic tokenizer vs plain HF ``tokenizers`` BPE, same text, same run.

Both encode the same documents in the same batches of 256 (what the corpus job does); the plain BPE uses
``encode_batch_fast`` (Rust, all cores), ours adds the modality detectors (Python + RDKit) and the
sub-tokenizers on top of its own text BPE. Texts (built before any timing):
- held-out 20-newsgroups posts (prose);
- the same posts with planted SMILES/proteins (bench/tokenizer_detection.py's construction: a few hundred
  SMILES repeated over 3,000 documents);
- posts with DISTINCT held-out MOSES SMILES (every SMILES once: what a first pass over a SMILES-rich corpus
  looks like).

Ours keeps an RDKit parse cache (``detect.rdkit_atoms``) and a bracket-atom cost cache; each round clears
both and encodes the texts twice: the first pass is reported as ``cold`` (every candidate parsed by RDKit),
the second as ``warm``. The baseline runs before and after ours in every round (mean of the two); the ratio
is taken per round and the median over rounds is reported, of wall-clock MB/s (the goal) and of MB per
CPU-second of the process (less sensitive to other load on the machine; the baseline's Rust threads count).

Tokenizers: ``--tokenizer shipped`` (default) is the shipped default; ``--tokenizer 65536`` loads the one
bench/tokenizer_compression.py trained (``--tokenizers`` folder) with its same-budget baseline.
``--check`` exits non-zero when the goal (ours >= 0.5x the baseline, cold and warm) is missed.

    .venv/bin/python bench/tokenizer_throughput.py [--data ../shared/data] [--tokenizer shipped] [--rounds 3] [--check]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _goals import Goals, add_check_flag  # noqa: E402
from tokenizer_data import SEED, data_arg, load  # noqa: E402
from tokenizer_detection import SMILES_TEMPLATES, build  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

from sciforge.pipelines.tokenizer.detect import rdkit_atoms  # noqa: E402
from sciforge.pipelines.tokenizer.tokenizer import SciTokenizer  # noqa: E402
from sciforge.pipelines.tokenizer.train import train_text_bpe  # noqa: E402

BATCH = 256
GOAL = 0.5


def seconds(fn, texts: list[str]) -> tuple[float, float]:  # noqa: ANN001
    """(wall seconds, CPU seconds of this process, all its threads) to encode ``texts`` in batches."""
    t, c = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), BATCH):
        fn(texts[i:i + BATCH])
    return time.perf_counter() - t, time.process_time() - c


def distinct_smiles_docs(d, rng: random.Random, n_docs: int = 3000) -> list[str]:  # noqa: ANN001
    """Prose sentences with 2 held-out MOSES SMILES per document, no SMILES used twice."""
    sentences = [s.strip() for post in d.news_test for s in post.split(". ") if 30 <= len(s.strip()) <= 200
                 and "\n" not in s]
    smiles = iter(d.moses_test)
    docs = []
    for _ in range(n_docs):
        parts = [rng.choice(sentences) + "." for _ in range(rng.randint(3, 6))]
        for _ in range(2):
            s = next(smiles, None)
            if s is not None:
                parts.insert(rng.randrange(len(parts) + 1), rng.choice(SMILES_TEMPLATES).format(s))
        docs.append(" ".join(parts))
    return docs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data_arg(p)
    p.add_argument("--tokenizer", default="shipped", help="'shipped' or a budget trained by tokenizer_compression.py")
    p.add_argument("--tokenizers", type=Path, default=Path("var/bench/tokenizer"))
    p.add_argument("--rounds", type=int, default=3)
    add_check_flag(p)
    a = p.parse_args()
    d = load(a.data, n_moses_train=0)
    if a.tokenizer == "shipped":
        from sciforge.pipelines.tokenizer.default import DEFAULT_TRAIN, default_tokenizer, seed_texts

        ours = default_tokenizer()
        base = train_text_bpe(seed_texts(), DEFAULT_TRAIN.vocab_size)
    else:
        ours_dir, base_file = a.tokenizers / f"ours-{a.tokenizer}", a.tokenizers / f"base-{a.tokenizer}.json"
        if not (ours_dir.is_dir() and base_file.is_file()):
            sys.exit(f"no {ours_dir} / {base_file}: run bench/tokenizer_compression.py --budgets {a.tokenizer} first")
        ours, base = SciTokenizer.load(ours_dir), Tokenizer.from_file(str(base_file))
    texts = {
        "held-out news (prose)": d.news_test,
        "news + planted SMILES/proteins": [t for t, _ in build(d, 3000, random.Random(SEED))],
        "news + distinct MOSES SMILES": distinct_smiles_docs(d, random.Random(SEED)),
    }

    def base_fn(xs: list[str]) -> object:
        return base.encode_batch_fast(xs, add_special_tokens=False)

    print(f"tokenizer {a.tokenizer}: {len(ours)} / baseline {base.get_vocab_size()} ids; cores {os.cpu_count()}, "
          f"RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', 'default')}, load {os.getloadavg()[0]:.1f}")
    print(f"{'text':32s} {'MB':>5s} {'round':>5s} {'cold MB/s':>9s} {'warm MB/s':>9s} {'base MB/s':>9s} "
          f"{'cold x':>7s} {'warm x':>7s} {'cold x CPU':>10s} {'warm x CPU':>10s}")
    goals = Goals("tokenizer_throughput")
    for name, docs in texts.items():
        mb = sum(len(t.encode()) for t in docs) / 1e6
        ratios: dict[str, list[float]] = {"cold": [], "warm": [], "cold CPU": [], "warm CPU": []}
        for r in range(a.rounds):
            b1 = seconds(base_fn, docs)
            rdkit_atoms.cache_clear()
            ours._text_cost.cache_clear()
            cold = seconds(ours.encode_batch, docs)
            warm = seconds(ours.encode_batch, docs)
            b2 = seconds(base_fn, docs)
            b, bc = (b1[0] + b2[0]) / 2, (b1[1] + b2[1]) / 2
            for key, v in (("cold", b / cold[0]), ("warm", b / warm[0]), ("cold CPU", bc / cold[1]),
                           ("warm CPU", bc / warm[1])):
                ratios[key].append(v)
            print(f"{name:32s} {mb:5.2f} {r + 1:5d} {mb / cold[0]:9.3f} {mb / warm[0]:9.3f} {mb / b:9.3f} "
                  f"{b / cold[0]:7.3f} {b / warm[0]:7.3f} {bc / cold[1]:10.3f} {bc / warm[1]:10.3f}")
        med = {k: statistics.median(v) for k, v in ratios.items()}
        print(f"{name:32s} median of {a.rounds} rounds: cold {med['cold']:.3f}x, warm {med['warm']:.3f}x the "
              f"baseline's MB/s; per CPU-second cold {med['cold CPU']:.3f}x, warm {med['warm CPU']:.3f}x")
        goals.at_least(f"{name}, cold cache", med["cold"], GOAL)
        goals.at_least(f"{name}, warm cache", med["warm"], GOAL)
    sys.exit(goals.finish(a.check))


if __name__ == "__main__":
    main()
