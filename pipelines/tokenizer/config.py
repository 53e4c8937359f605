"""Typed options of the dynamic tokenizer (detectors and vocabulary budgets)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Explicit modality tags of Intern-S1's public tokenizer code (<SMILES>, <SELFIES>, <IUPAC>,
# <MOLFORMULA>), plus <FASTA> for protein sequences as the issue asks.
TAGS: dict[str, str] = {
    "SMILES": "smiles",
    "SELFIES": "selfies",
    "IUPAC": "iupac",
    "FASTA": "protein",
    "MOLFORMULA": "formula",
}


class DetectorConfig(BaseModel):
    """Thresholds of the automatic span detectors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Intern-S1 tokenizer code: a SMILES-shaped run of at least 10 units with at least 5 letters,
    # then an RDKit MolFromSmiles check.
    smiles_min_units: int = Field(10, ge=1)
    smiles_min_letters: int = Field(5, ge=0)
    # Candidates longer than this are left to the text tokenizer instead of being parsed by RDKit
    # (bounds the cost of a 100k-character line; ChEMBL's longest small-molecule SMILES are ~1.5k
    # characters). Tagged spans have no limit.
    smiles_max_chars: int = Field(4000, ge=1)
    # Intern-S1 tokenizer code: protein FASTA as runs of 27 or more capital letters.
    protein_min_residues: int = Field(27, ge=1)
    # Low-complexity guard: natural proteins use 15+ of the 20 residues in any 27-residue window
    # (SEG's low-complexity regions are the exception); 8 rejects shouting ("AAAA...") and repeats.
    protein_min_distinct: int = Field(8, ge=1)
    # O (pyrrolysine) and U (selenocysteine) are under 0.1% of UniProt residues but ~10% of English
    # letters: a capital run with more than this fraction of O/U is text shouting, not a protein.
    protein_max_ou_fraction: float = Field(0.02, ge=0.0, le=1.0)
    # Capital runs are proteins only when they spell like one: detect.protein_likeness (letter frequencies and
    # common English letter pairs) must exceed this. Proteins score >= 0.12, shouted English <= -0.19.
    protein_min_likeness: float = 0.0
    # A run whose letters are at least this fraction of the IUPAC nucleotide codes A/C/G/T/U/N is
    # nucleic acid, not protein (proteins average ~30% A+C+G+T residues; UniProt composition).
    dna_min_fraction: float = Field(0.9, ge=0.0, le=1.0)
    # A chemical formula needs at least this many element symbols (H2O, CO2, C6H12O6).
    formula_min_elements: int = Field(2, ge=1)
    detect_smiles: bool = True
    detect_protein: bool = True
    detect_formula: bool = True


class TrainConfig(BaseModel):
    """Vocabulary budgets of the sub-tokenizers (ids are allotted in this order)."""

    model_config = ConfigDict(extra="forbid")

    # Budget of the whole id space (text + SMILES + protein + special tokens).
    # 64k: at 32k, taking the 8.4k protein 3-mers out of a text BPE costs ~3% of text compression;
    # at 64k the same cost is under 1% (bench/tokenizer_compression.py). Qwen3 uses 151,936.
    vocab_size: int = Field(65536, ge=512)
    # The atom-level SMILES BPE: at a 64k budget 2k gives 3.1x a text BPE's characters per token on held-out
    # MOSES SMILES as raw text, boundary ids counted (bench/tokenizer_compression.py); Intern-S1 used a separate
    # SentencePiece model per modality.
    smiles_vocab_size: int = Field(2048, ge=64)
    # Residue-level protein BPE of this size, or 0 = fixed residue k-mers (all 20^k, k = protein_kmer):
    # proteins are nearly incompressible (~4.19 bits/residue), so a learned BPE gains little on unseen
    # proteins while 3-mers give exactly 3 residues per token on any protein.
    protein_vocab_size: int = Field(0, ge=0)
    protein_kmer: int = Field(3, ge=1, le=4)
    # SMILES augmentation: this many training molecules also contribute a random stereoisomer, their
    # Kekulé form and a random atom order, so [C@@H], /C=C/, C1=CC=CC=C1 and non-canonical orders get
    # units and merges even when the SMILES source (MOSES) is canonical, aromatic and stereo-free.
    augment: int = Field(5000, ge=0)
    min_frequency: int = Field(2, ge=1)
    seed: int = 20250815
