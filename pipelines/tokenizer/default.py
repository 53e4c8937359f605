"""The small DEFAULT tokenizer, trained in seconds from seed sources shipped in the repository.

It exists for tests, the demo and as a fallback; production tokenizers come from
``sciforge tokenizer train`` on a corpus snapshot plus real SMILES and protein sources.

Budget: 16,384 ids = text BPE 6,907 + SMILES 1,024 + protein 3-mers 8,431 + 22 special tokens. On held-out
raw text (automatic detection) against a 16,384-id byte-level BPE on the same seed text it gives 0.92x the
characters per token on English and 2.2x on MOSES SMILES (``bench/tokenizer_compression.py``; the README
quotes the figures): the 3-mers take half the ids, so English pays for them at this budget.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import shutil
from functools import lru_cache
from pathlib import Path

from sciforge.pipelines.tokenizer.config import TrainConfig
from sciforge.pipelines.tokenizer.seed.molecules import MOLECULES
from sciforge.pipelines.tokenizer.tokenizer import FORMAT, SciTokenizer

SEED_DIR = Path(__file__).with_name("seed")
# Small budgets so the whole tokenizer trains in a few seconds on 2 cores: 16k ids, of which 1k SMILES
# units/merges and the 8.4k fixed residue 3-mers (protein_vocab_size=0: no protein training data needed).
DEFAULT_TRAIN = TrainConfig(vocab_size=16384, smiles_vocab_size=1024, protein_vocab_size=0, protein_kmer=3,
                            augment=0, min_frequency=2)
RANDOM_SMILES_PER_MOLECULE = 40  # randomized SMILES per seed molecule (RDKit MolToRandomSmilesVect)
SEED_PROTEINS = 300
SEED_PROTEIN_LENGTH = (50, 400)
# UniProtKB/Swiss-Prot amino-acid composition (release statistics, percent).
AA_COMPOSITION = {
    "A": 8.25, "R": 5.53, "N": 4.06, "D": 5.45, "C": 1.37, "Q": 3.93, "E": 6.75, "G": 7.07, "H": 2.27, "I": 5.96,
    "L": 9.66, "K": 5.84, "M": 2.42, "F": 3.86, "P": 4.70, "S": 6.56, "T": 5.34, "W": 1.08, "Y": 2.92, "V": 6.87,
}


def seed_texts() -> list[str]:
    text = gzip.decompress((SEED_DIR / "text.txt.gz").read_bytes()).decode("utf-8")
    return [p for p in text.split("\n\n") if p.strip()]


def seed_smiles(per_molecule: int = RANDOM_SMILES_PER_MOLECULE, seed: int = 20250815) -> list[str]:
    """Canonical, then randomized SMILES of the seed molecules (deterministic for a given RDKit)."""
    from rdkit import Chem

    out: dict[str, None] = {}
    for i, (_, smi) in enumerate(MOLECULES):
        mol = Chem.MolFromSmiles(smi)
        out[smi] = None
        out[Chem.MolToSmiles(mol)] = None
        for s in Chem.MolToRandomSmilesVect(mol, per_molecule, randomSeed=seed + i):
            out[s] = None
    return list(out)


def seed_proteins(n: int = SEED_PROTEINS, seed: int = 20250815) -> list[str]:
    rng = random.Random(seed)
    residues, weights = zip(*sorted(AA_COMPOSITION.items()), strict=True)
    lo, hi = SEED_PROTEIN_LENGTH
    return ["M" + "".join(rng.choices(residues, weights, k=rng.randint(lo, hi) - 1)) for _ in range(n)]


def seed_hash(cfg: TrainConfig = DEFAULT_TRAIN) -> str:
    h = hashlib.sha256()
    h.update((SEED_DIR / "text.txt.gz").read_bytes())
    h.update(json.dumps([MOLECULES, cfg.model_dump(), FORMAT], sort_keys=True).encode())
    for src in sorted(Path(__file__).parent.glob("*.py")):  # the code that trains it is part of the key
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


def train_default(cfg: TrainConfig = DEFAULT_TRAIN) -> SciTokenizer:
    from sciforge.pipelines.tokenizer.train import train_tokenizer

    tok = train_tokenizer(seed_texts(), seed_smiles(), seed_proteins(), cfg)
    tok.meta["seed_hash"] = seed_hash(cfg)
    tok.meta["name"] = "sciforge-default"
    return tok


def cache_dir() -> Path:
    return Path(os.environ.get("SCIFORGE_CACHE", Path.home() / ".cache" / "sciforge"))


@lru_cache(maxsize=1)
def default_tokenizer() -> SciTokenizer:
    """The default tokenizer: loaded from the cache, or trained from the seed sources (seconds)."""
    path = cache_dir() / "tokenizer" / f"default-{seed_hash()}"
    if (path / "sciforge_tokenizer.json").is_file():
        try:
            return SciTokenizer.load(path)
        except (ValueError, KeyError, json.JSONDecodeError):
            pass  # a corrupt cache entry: retrain below
    tok = train_default()
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        tok.save(tmp)
        if not path.exists():
            os.replace(tmp, path)  # atomic: a concurrent reader sees no folder or a whole one
    except OSError:
        pass  # a read-only home, or another process won the race: the in-process cache still works
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tok
