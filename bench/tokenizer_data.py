"""Shared loaders for the tokenizer benchmarks (real data from ../shared/data; never used by tests).

Splits are fixed and disjoint: the general-text BPEs train on the first 9,000 20-newsgroups posts and are
evaluated on the rest; the SMILES BPE trains on a seeded sample of MOSES train and is evaluated on other
MOSES molecules (drug-like) and on ChEMBL/NCI SMILES from RDKit's data (stereo-rich, never trained on).
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

NEWS_TRAIN = 9000  # posts used for training; the remaining 2,314 are held out
SEED = 20250815


def data_arg(p: argparse.ArgumentParser) -> None:
    default = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    p.add_argument("--data", type=Path, default=default, help=f"shared data folder (default {default})")


@dataclass
class BenchData:
    news_train: list[str]
    news_test: list[str]
    science: list[str]
    moses_train: list[str]
    moses_test: list[str]
    stereo: list[str]
    proteins: list[str]
    dna: list[str]


def _strip_headers(post: str) -> str:
    return post.split("\n\n", 1)[-1]  # Usenet headers end at the first blank line


def read_fasta_records(path: str) -> list[tuple[str, str]]:
    recs, name, cur = [], None, []
    for line in open(path, encoding="utf-8", errors="replace"):
        if line.startswith(">"):
            if name is not None:
                recs.append((name, "".join(cur)))
            name, cur = line[1:].strip(), []
        elif line.strip():
            cur.append(line.strip())
    if name is not None:
        recs.append((name, "".join(cur)))
    return recs


def is_nucleic(seq: str) -> bool:
    s = seq.upper()
    return sum(c in "ACGTUN" for c in s) / max(len(s), 1) > 0.9


def load(data: Path, n_moses_train: int = 50_000, n_moses_test: int = 10_000) -> BenchData:
    posts = [_strip_headers(json.loads(line)["text"]) for line in gzip.open(data / "domain/20newsgroups_train.jsonl.gz", "rt")]
    science = [open(f, encoding="utf-8").read() for f in sorted(glob.glob(str(data / "pdf/docling/pdf/groundtruth/*.md")))]
    moses = [line.strip().split(",")[0] for line in gzip.open(data / "chem/moses/train.csv.gz", "rt")][1:]
    rng = random.Random(SEED)
    rng.shuffle(moses)
    stereo: list[str] = []
    for f in ("CHEMBL2321810.smi", "ChEMBL_11265_actives.smi", "first_5K.smi"):
        for line in open(data / "chem/rdkit_data" / f):
            if line.strip():
                stereo.append(line.split()[0])
    stereo = [s for s in stereo if "@" in s or "/" in s or "\\" in s or len(s) >= 60]  # stereo-rich or long
    proteins, dna, seen = [], [], set()
    for f in sorted(glob.glob(str(data / "fasta/biopython/*.fa*"))) + sorted(glob.glob(str(data / "fasta/biopython/*.faa"))):
        for _, seq in read_fasta_records(f):
            if len(seq) < 20 or seq in seen:
                continue
            seen.add(seq)
            (dna if is_nucleic(seq) else proteins).append(seq.upper())
    return BenchData(posts[:NEWS_TRAIN], posts[NEWS_TRAIN:], science, moses[:n_moses_train],
                     moses[-n_moses_test:], stereo, proteins, dna)
