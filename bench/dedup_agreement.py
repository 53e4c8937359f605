"""Engine agreement of the dedup stage: the local engine and the Spark job on the same input.

Corpus: 20 Newsgroups posts plus N planted near duplicates (`dedup_common.build_corpus`, the
accuracy benchmark's corpus), written as one page dataset in 5,000-row parts; optionally a
boilerplate paragraph shared by M single-page documents with own tails of 0-20 words (one
component whose LSH buckets mix pages far apart). Both engines run on it with the same
config; the published clean and quarantine tables are compared row by row (sorted by
source/doc_id/page). Reported: rows of each, rows that differ, kept pages of each.

    python bench/dedup_agreement.py --data /work/shared/data [--planted 2000] [--boilerplate 300]
        [--containment on]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_common import DEFAULT_DATA, build_corpus, write_pages  # noqa: E402

SORT = [("source", "ascending"), ("doc_id", "ascending"), ("page", "ascending")]


def boilerplate_docs(m: int, seed: int = 3) -> list[str]:
    """One 100-word paragraph (words of 20NG-like vocabulary) + an own tail of 0-20 words."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(300)]
    para = " ".join(rng.choice(vocab) for _ in range(100))
    return [para + " " + " ".join(f"u{i}x{rng.choice(vocab)}" for _ in range(rng.randrange(21))) for i in range(m)]


def differing_rows(a: pa.Table, b: pa.Table) -> int:
    """Rows (after sorting) that are not identical in every column, plus the count difference."""
    a, b = a.sort_by(SORT).to_pylist(), b.sort_by(SORT).to_pylist()
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA, help="shared data folder (default ../shared/data)")
    ap.add_argument("--planted", type=int, default=2000, help="planted near duplicates")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N posts")
    ap.add_argument("--boilerplate", type=int, default=300, help="documents sharing one paragraph (0: none)")
    ap.add_argument("--containment", choices=["off", "on"], default="off", help="stages.dedup.containment")
    a = ap.parse_args()

    from sciforge.jobs.dedup import run_dedup
    from sciforge.pipelines.config import load_settings
    from sciforge.pipelines.datasets import read_table
    from sciforge.pipelines.storage import open_storage

    texts = build_corpus(a.data, n_planted=a.planted, limit=a.limit).texts + boilerplate_docs(a.boilerplate)
    settings = load_settings(storage={"data_root": tempfile.mkdtemp(prefix="dedup_agree_")},
                             stages={"dedup": {"containment": a.containment}})
    st = open_storage(settings.data_root, settings.storage_options())
    ref = write_pages(st, texts, "2026-01-01_agree")
    out = {}
    for engine in ("local", "spark"):
        t0 = time.perf_counter()
        r = run_dedup(settings, [ref], "2026-01-01", engine=engine)  # type: ignore[arg-type]
        out[engine] = (read_table(st, r), read_table(st, r.quarantine()))
        if a.containment == "on":
            print(f"{engine}: contained {out[engine][1]['reason'].to_pylist().count('contained')}")
        print(f"{engine}: {time.perf_counter() - t0:.1f}s", flush=True)
    (kl, ql), (ks, qs) = out["local"], out["spark"]
    bp_kept = {e: sum(int(d) >= len(texts) - a.boilerplate for d in out[e][0]["doc_id"].to_pylist())
               for e in out}
    print(f"pages {len(texts)} ({a.boilerplate} sharing one paragraph)")
    print(f"kept: local {kl.num_rows}, spark {ks.num_rows}; of the shared-paragraph documents: "
          f"local {bp_kept['local']}, spark {bp_kept['spark']}")
    d_kept, d_quar = differing_rows(kl, ks), differing_rows(ql, qs)
    print(f"differing rows: clean/pages {d_kept}, quarantine/pages {d_quar}")
    return 0 if d_kept == d_quar == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
