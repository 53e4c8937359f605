"""Compression as a model sees it: characters per token of the dynamic tokenizer on RAW text (automatic
detection, no tags, boundary ids counted) vs a byte-level BPE of the same vocabulary budget on the same text.

Tokenizers measured:
- ``shipped``: the DEFAULT tokenizer the repository ships (``pipelines/tokenizer/default.py``: 16,384 ids,
  trained from the seed sources in the repository), against a byte-level BPE of 16,384 ids trained on the
  same seed text;
- for each ``--budgets`` V: ours trained here on the 20-newsgroups train split + a MOSES sample (+ stereo
  augmentation), against a byte-level BPE of V ids on the same posts (equal budget, same trainer).

Held-out sets (none seen in training): MOSES molecules outside the training sample (drug-like), ChEMBL/NCI
SMILES with stereo marks or 60+ characters (RDKit data), Biopython protein FASTA, reactions and atom-mapped
molecules (``pipelines/tokenizer/evalsets.py``), 20-newsgroups held-out posts (English), docling
ground-truth markdown (science text). Every string is measured three ways:
- ``raw``: the string alone as a document (automatic detection, boundary ids counted);
- ``in sentence``: inside "The compound ... was tested." - the tokens the string adds to the sentence, ours
  and the baseline's (so a split-off space and the boundary ids are counted);
- ``tagged`` (a separate line, not the headline): ``<SMILES>..</SMILES>`` / ``<FASTA>..</FASTA>`` with the
  tag ids counted.
- ``in sent., space kept``: the same without the opening token that absorbs the preceding space (the space
  then is a text token of its own), to show what that token saves.
``--check`` exits non-zero when a stated goal (raw figures) is missed (bench/_goals.py).

    .venv/bin/python bench/tokenizer_compression.py [--data ../shared/data] [--budgets 65536] [--check]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _goals import Goals, add_check_flag  # noqa: E402
from tokenizer_data import data_arg, load  # noqa: E402

from sciforge.pipelines.tokenizer.config import TrainConfig  # noqa: E402
from sciforge.pipelines.tokenizer.tokenizer import SciTokenizer  # noqa: E402
from sciforge.pipelines.tokenizer.train import train_text_bpe, train_tokenizer  # noqa: E402

# Goals on RAW text (automatic mode): ratio of characters per token, ours / baseline.
GOALS = {"moses (drug-like SMILES)": 3.0, "chembl/nci stereo-rich SMILES": 2.0, "protein": 1.5,
         "reactions + atom-mapped": 1.0}
TEXT_GOAL = 0.98  # general and science text: within 2% of the baseline
SENTENCE = ("The compound ", " was tested.")


def cpt_raw(enc, xs: list[str]) -> float:  # noqa: ANN001 - enc: list[str] -> list[list[int]]
    return sum(map(len, xs)) / sum(len(ids) for ids in enc(xs))


def cpt_sentence(enc, xs: list[str]) -> float:  # noqa: ANN001
    """Characters of the strings per token they add to the sentence around them."""
    a, b = SENTENCE
    with_x = sum(len(ids) for ids in enc([f"{a}{x}{b}" for x in xs]))
    without = len(enc([f"{a}{b}"])[0]) * len(xs)
    return sum(map(len, xs)) / max(with_x - without, 1)


def cpt_tagged(tok: SciTokenizer, xs: list[str], tag: str) -> float:
    return sum(map(len, xs)) / sum(len(ids) for ids in tok.encode_batch([f"<{tag}>{x}</{tag}>" for x in xs]))


def measure(name: str, ours: SciTokenizer, base, sets: dict, goals: Goals | None) -> None:  # noqa: ANN001
    def base_enc(xs: list[str]) -> list[list[int]]:
        return [e.ids for e in base.encode_batch_fast(xs, add_special_tokens=False)]

    ours_enc = ours.encode_batch
    print(f"{'held-out set':32s} {'mode':20s} {'ours c/t':>9s} {'base c/t':>9s} {'ratio':>7s}  goal")
    for set_name, (xs, tag) in sets.items():
        modes = [("raw", cpt_raw(ours_enc, xs), cpt_raw(base_enc, xs))]
        if tag is not None:
            modes.append(("in sentence", cpt_sentence(ours_enc, xs), cpt_sentence(base_enc, xs)))
            ours.absorb_space = False  # the same, without the opening token that absorbs the space
            modes.append(("in sent., space kept", cpt_sentence(ours_enc, xs), modes[-1][2]))
            ours.absorb_space = True
            modes.append(("tagged", cpt_tagged(ours, xs, tag), cpt_raw(base_enc, xs)))
        for mode, o, b in modes:
            ratio = o / b
            goal = GOALS.get(set_name, TEXT_GOAL if tag is None else None) if mode == "raw" else None
            gtxt = "" if goal is None else f">= {goal}"
            if goal is not None and goals is not None:
                goals.at_least(f"{name}: {set_name}, raw text", ratio, goal)
                gtxt += " ok" if ratio >= goal else " MISSED"
            print(f"{set_name:32s} {mode:20s} {o:9.3f} {b:9.3f} {ratio:7.3f}  {gtxt}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data_arg(p)
    p.add_argument("--budgets", default="65536", help="comma-separated budgets to train here ('' for none)")
    p.add_argument("--no-shipped", action="store_true", help="skip the shipped default tokenizer")
    p.add_argument("--smiles-vocab", type=int, default=2048)
    p.add_argument("--augment", type=int, default=5000, help="SMILES augmentation (molecules)")
    p.add_argument("--out", type=Path, default=Path("var/bench/tokenizer"), help="where trained tokenizers go")
    add_check_flag(p)
    a = p.parse_args()
    t0 = time.time()
    d = load(a.data)
    from sciforge.pipelines.tokenizer.evalsets import REACTIONS, atom_mapped_smiles

    rxn = REACTIONS + atom_mapped_smiles()
    print(f"data: {len(d.news_train)} train posts, {len(d.moses_train)} MOSES train, held out: "
          f"{len(d.news_test)} posts, {len(d.science)} science docs, {len(d.moses_test)} MOSES, "
          f"{len(d.stereo)} stereo-rich, {len(d.proteins)} proteins, {len(rxn)} reactions + atom-mapped "
          f"({time.time() - t0:.0f}s)")
    sets = {
        "moses (drug-like SMILES)": (d.moses_test, "SMILES"),
        "chembl/nci stereo-rich SMILES": (d.stereo, "SMILES"),
        "reactions + atom-mapped": (rxn, "SMILES"),
        "protein": (d.proteins, "FASTA"),
        "general English (news)": (d.news_test, None),
        "science text (docling md)": (d.science, None),
    }
    goals = Goals("tokenizer_compression")
    if not a.no_shipped:
        from sciforge.pipelines.tokenizer.default import DEFAULT_TRAIN, default_tokenizer, seed_texts

        ours = default_tokenizer()
        base = train_text_bpe(seed_texts(), DEFAULT_TRAIN.vocab_size)
        print(f"\n== shipped default: {len(ours)} ids = "
              + ", ".join(f"{k} {b - a_}" for k, (a_, b) in ours.modality_ranges.items())
              + f"; baseline BPE {base.get_vocab_size()} ids on the same seed text")
        measure("shipped 16k", ours, base, sets, goals)
    for budget in [int(x) for x in a.budgets.split(",") if x.strip()]:
        t = time.time()
        base = train_text_bpe(d.news_train, budget)
        cfg = TrainConfig(vocab_size=budget, smiles_vocab_size=a.smiles_vocab, protein_vocab_size=0, protein_kmer=3,
                          augment=a.augment)
        ours = train_tokenizer(d.news_train, d.moses_train, [], cfg)
        assert len(ours) == budget == base.get_vocab_size(), (len(ours), base.get_vocab_size())
        ours.save(a.out / f"ours-{budget}")
        base.save(str(a.out / f"base-{budget}.json"))
        print(f"\n== budget {budget} (trained here, not shipped): baseline BPE {base.get_vocab_size()} ids; ours "
              f"{len(ours)} ids = " + ", ".join(f"{k} {b - a_}" for k, (a_, b) in ours.modality_ranges.items())
              + f" (trained in {time.time() - t:.0f}s)")
        measure(f"{budget}", ours, base, sets, goals)
    print(f"\n(total {time.time() - t0:.0f}s)")
    sys.exit(goals.finish(a.check))


if __name__ == "__main__":
    main()
