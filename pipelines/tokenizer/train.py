"""Train the dynamic tokenizer: a byte-level text BPE, an atom-level SMILES BPE, a protein sub-tokenizer.

Budgets: ``TrainConfig.vocab_size`` is the whole id space. The SMILES and protein vocabularies and the
special tokens are taken out of it and the text BPE gets the rest, so "equal vocabulary budget"
comparisons against a plain BPE of ``vocab_size`` are fair.
"""

from __future__ import annotations

import gzip
import io
import logging
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from sciforge.pipelines.tokenizer.config import DetectorConfig, TrainConfig
from sciforge.pipelines.tokenizer.detect import Detector
from sciforge.pipelines.tokenizer.tokenizer import UNIT_MODALITIES, SciTokenizer, special_tokens
from sciforge.pipelines.tokenizer.units import UnitTokenizer, kmer_tokenizer, train_unit_bpe

log = logging.getLogger(__name__)


def train_text_bpe(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """A GPT-2 style byte-level BPE (all 256 bytes in the alphabet, so every string is encodable)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def strip_unit_spans(texts: Iterable[str], detector: Detector) -> Iterator[str]:
    """Text with its SMILES/protein spans removed: the text BPE should not spend merges on them."""
    for t in texts:
        spans = [s for s in detector.detect(t) if s.modality in UNIT_MODALITIES]
        if not spans:
            yield t
            continue
        pos = 0
        for s in spans:
            yield t[pos:s.start]
            pos = s.end
        yield t[pos:]


def augment_smiles(smiles: list[str], n: int, seed: int) -> list[str]:
    """Other spellings of ``n`` training molecules (drawn with ``seed``): a random stereoisomer (isomeric
    SMILES), the Kekulé form and a random atom order.

    MOSES-like sources are canonical, aromatic and carry no stereochemistry; real text also writes
    ``[C@@H]``, ``/C=C/``, ``C1=CC=CC=C1`` and non-canonical atom orders (NCI, ChEMBL, patents). Without
    these the vocabulary splits such SMILES into many more tokens (the stereo-rich bench set).
    """
    if n <= 0 or not smiles:
        return []
    from rdkit import Chem, RDLogger
    from rdkit.Chem.EnumerateStereoisomers import EnumerateStereoisomers, StereoEnumerationOptions

    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]
    rng = random.Random(seed)
    pick = rng.sample(range(len(smiles)), min(n, len(smiles)))
    out = []
    for i in sorted(pick):
        mol = Chem.MolFromSmiles(smiles[i])
        if mol is None:
            continue
        opts = StereoEnumerationOptions(maxIsomers=1, rand=rng.randrange(1 << 30), onlyUnassigned=True)
        for iso in EnumerateStereoisomers(mol, options=opts):
            out.append(Chem.MolToSmiles(iso))
        kek = Chem.Mol(mol)
        Chem.Kekulize(kek, clearAromaticFlags=True)
        out.append(Chem.MolToSmiles(kek, kekuleSmiles=True))
        out.extend(Chem.MolToRandomSmilesVect(mol, 1, randomSeed=rng.randrange(1 << 30)))
    return [s for s in out if s]


def protein_vocab_len(cfg: TrainConfig) -> int:
    return len(kmer_tokenizer(cfg.protein_kmer)) if cfg.protein_vocab_size == 0 else cfg.protein_vocab_size


def train_tokenizer(texts: Iterable[str], smiles: list[str], proteins: list[str], cfg: TrainConfig | None = None,
                    detector: DetectorConfig | None = None) -> SciTokenizer:
    cfg = cfg or TrainConfig()
    detector = detector or DetectorConfig()
    n_protein = protein_vocab_len(cfg)
    n_text = cfg.vocab_size - cfg.smiles_vocab_size - n_protein - len(special_tokens())
    if n_text < 512:
        raise ValueError(f"vocab_size {cfg.vocab_size} leaves {n_text} text tokens after SMILES "
                         f"({cfg.smiles_vocab_size}) and protein ({n_protein}): raise vocab_size")
    if not smiles:
        raise ValueError("no SMILES to train the SMILES sub-tokenizer on")
    log.info("training text BPE (%d)", n_text)
    text = train_text_bpe(strip_unit_spans(texts, Detector(detector)), n_text)
    if text.get_vocab_size() != n_text:  # a small corpus cannot fill the budget: the id space shrinks
        log.warning("text corpus filled %d of %d text tokens", text.get_vocab_size(), n_text)
    aug = augment_smiles(smiles, cfg.augment, cfg.seed)
    log.info("training SMILES BPE (%d) on %d SMILES + %d augmented", cfg.smiles_vocab_size, len(smiles), len(aug))
    smi = train_unit_bpe("smiles", smiles + aug, cfg.smiles_vocab_size, min_frequency=cfg.min_frequency)
    prot: UnitTokenizer
    if cfg.protein_vocab_size == 0:
        prot = kmer_tokenizer(cfg.protein_kmer)
    else:
        if not proteins:
            raise ValueError("no protein sequences to train the protein BPE on (or set protein_vocab_size=0)")
        prot = train_unit_bpe("residue", proteins, cfg.protein_vocab_size, min_frequency=cfg.min_frequency)
    meta = {"train": cfg.model_dump(), "sources": {"smiles": len(smiles), "augmented": len(aug),
                                                    "proteins": len(proteins)}}
    return SciTokenizer(text, smi, prot, detector, meta)


# -- reading sources --------------------------------------------------------------------------------


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8", errors="replace")  # type: ignore[return-value]
    return open(path, encoding="utf-8", errors="replace")  # type: ignore[return-value]


def read_smiles(path: Path, limit: int | None = None) -> list[str]:
    """First column of a .smi/.csv/.txt (optionally .gz); a header line named SMILES is skipped.

    A wheel or zip (``pip download --no-deps molsets`` gives MOSES as a wheel) is read through its
    ``train.csv.gz`` member (or its first .csv.gz/.smi member).
    """
    if path.suffix in (".whl", ".zip"):
        return _smiles_from_archive(path, limit)
    return _parse_smiles_lines(_open_text(path), limit)


def _smiles_from_archive(path: Path, limit: int | None) -> list[str]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if n.endswith((".csv.gz", ".smi", ".csv")))
        if not names:
            raise ValueError(f"{path}: no .csv.gz/.smi/.csv member with SMILES")
        name = next((n for n in names if n.endswith("train.csv.gz")), names[0])
        raw = z.read(name)
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return _parse_smiles_lines(io.StringIO(raw.decode("utf-8", "replace")), limit)


def _parse_smiles_lines(f: Any, limit: int | None) -> list[str]:
    out: list[str] = []
    with f:
        for line in f:
            s = line.strip().split(",")[0].split()[0].strip('"') if line.strip() else ""
            if not s or s.lower() == "smiles" or s.startswith("#"):
                continue
            out.append(s)
            if limit and len(out) >= limit:
                break
    return out


def read_fasta(path: Path) -> list[str]:
    """Sequences of a FASTA file (optionally .gz); a file without '>' lines is one sequence per line."""
    seqs: list[str] = []
    cur: list[str] = []
    with _open_text(path) as f:
        lines = f.read().splitlines()
    if not any(line.startswith(">") for line in lines):
        return [line.strip() for line in lines if line.strip()]
    for line in lines:
        if line.startswith(">"):
            if cur:
                seqs.append("".join(cur))
            cur = []
        elif line.strip():
            cur.append(line.strip())
    if cur:
        seqs.append("".join(cur))
    return seqs


def read_texts(path: Path) -> Iterator[str]:
    """Documents of a text source: .jsonl (field `text`), or .txt/.md (blank-line separated), .gz ok."""
    import json

    name = path.name.removesuffix(".gz")
    with _open_text(path) as f:
        if name.endswith(".jsonl"):
            for line in f:
                if line.strip():
                    yield json.loads(line).get("text", "")
        else:
            yield from (p for p in f.read().split("\n\n") if p.strip())
