"""Compression: characters per token, dynamic tokenizer vs the same byte-level BPE without modality handling.

Equal vocabulary budgets: for each budget V the baseline is a byte-level BPE of V tokens trained on general
text (20-newsgroups train split); ours spends the same V ids on a text BPE (same data, same trainer),
the SMILES atom BPE (MOSES sample + stereo augmentation), the protein 3-mers and the special tokens.

Held-out sets (none seen in training): MOSES molecules outside the training sample (drug-like), ChEMBL/NCI
SMILES with stereo marks or 60+ characters (RDKit data: stereo-rich, unseen style), Biopython protein
FASTA, 20-newsgroups held-out posts (general English), docling ground-truth markdown (science text).
Modality strings are measured as span contents (what the sub-tokenizer produces between the tags).

    .venv/bin/python bench/tokenizer_compression.py [--data ../shared/data] [--budgets 32768,65536]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tokenizer_data import data_arg, load  # noqa: E402

from pipelines.tokenizer.config import TrainConfig  # noqa: E402
from pipelines.tokenizer.tokenizer import SciTokenizer  # noqa: E402
from pipelines.tokenizer.train import train_text_bpe, train_tokenizer  # noqa: E402

GOALS = {"moses (drug-like SMILES)": 3.0, "chembl/nci stereo-rich SMILES": 2.0, "protein": 1.5}


def ours_cpt(tok: SciTokenizer, xs: list[str], tag: str | None) -> float:
    if tag is None:
        n = sum(len(ids) for ids in tok.encode_batch(xs))
    else:
        n = sum(len(ids) - 2 for ids in tok.encode_batch([f"<{tag}>{x}</{tag}>" for x in xs]))
    return sum(map(len, xs)) / n


def base_cpt(base: object, xs: list[str]) -> float:
    return sum(map(len, xs)) / sum(len(e.ids) for e in base.encode_batch_fast(xs))  # type: ignore[attr-defined]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data_arg(p)
    p.add_argument("--budgets", default="32768,65536", help="comma-separated total vocabulary budgets")
    p.add_argument("--smiles-vocab", type=int, default=2048)
    p.add_argument("--augment", type=int, default=5000, help="SMILES augmentation (molecules)")
    p.add_argument("--out", type=Path, default=Path("var/bench/tokenizer"), help="where trained tokenizers go")
    a = p.parse_args()
    t0 = time.time()
    d = load(a.data)
    print(f"data: {len(d.news_train)} train posts, {len(d.moses_train)} MOSES train, held out: "
          f"{len(d.news_test)} posts, {len(d.science)} science docs, {len(d.moses_test)} MOSES, "
          f"{len(d.stereo)} stereo-rich, {len(d.proteins)} proteins ({time.time() - t0:.0f}s)")
    sets = {
        "moses (drug-like SMILES)": (d.moses_test, "SMILES"),
        "chembl/nci stereo-rich SMILES": (d.stereo, "SMILES"),
        "protein": (d.proteins, "FASTA"),
        "general English (news)": (d.news_test, None),
        "science text (docling md)": (d.science, None),
    }
    failures = []
    for budget in [int(x) for x in a.budgets.split(",")]:
        t = time.time()
        base = train_text_bpe(d.news_train, budget)
        cfg = TrainConfig(vocab_size=budget, smiles_vocab_size=a.smiles_vocab, protein_vocab_size=0, protein_kmer=3,
                          augment=a.augment)
        ours = train_tokenizer(d.news_train, d.moses_train, [], cfg)
        assert len(ours) == budget == base.get_vocab_size(), (len(ours), base.get_vocab_size())
        ours.save(a.out / f"ours-{budget}")
        base.save(str(a.out / f"base-{budget}.json"))
        print(f"\n== budget {budget}: baseline BPE {base.get_vocab_size()} ids; ours {len(ours)} ids = "
              + ", ".join(f"{k} {b - a_}" for k, (a_, b) in ours.modality_ranges.items())
              + f" (trained in {time.time() - t:.0f}s)")
        print(f"{'held-out set':32s} {'ours c/t':>9s} {'base c/t':>9s} {'ratio':>7s}  goal")
        for name, (xs, tag) in sets.items():
            o, b = ours_cpt(ours, xs, tag), base_cpt(base, xs)
            ratio = o / b
            goal = GOALS.get(name)
            if goal is None:
                ok = ratio >= 0.98
                gtxt = ">= 0.98 (within 2%)"
            else:
                ok = ratio >= goal
                gtxt = f">= {goal}x"
            if not ok:
                failures.append(f"{budget}: {name}")
            print(f"{name:32s} {o:9.3f} {b:9.3f} {ratio:7.3f}  {gtxt} {'ok' if ok else 'MISSED'}")
    print(f"\ngoals missed: {failures or 'none'}  (total {time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
