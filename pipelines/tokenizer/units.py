"""Unit-level sub-tokenizers: BPE over SMILES atoms or protein residues, or fixed residue k-mers.

A string is first split into *units* (SMILES atoms by the standard atom regex, or single residues).
Every known unit is mapped to one private-use character, so Hugging Face ``tokenizers`` can learn and
apply BPE merges *over units* (``[C@@H]`` is one symbol, never split into ``[``, ``C``, ``@`` ...).
Characters outside the unit alphabet (non-ASCII in a tagged span, a FASTA header) are returned as
*fallback* runs for the text tokenizer, so every input is encodable and decodes back exactly.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from tokenizers import Tokenizer, models, trainers

from sciforge.pipelines.tokenizer.smiles import smiles_units

PUA_BASE = 0xF0000  # Supplementary Private Use Area-A: never produced by real text we keep
Piece = tuple[bool, str]  # (True: a run of known units as PUA text, False: a fallback text run)

STANDARD_RESIDUES = "ACDEFGHIKLMNPQRSTVWY"
# Every printable ASCII character is a unit, so an unseen multi-character unit (a rare bracket atom)
# degrades to its characters instead of leaving the sub-tokenizer.
PRINTABLE_ASCII = [chr(i) for i in range(0x20, 0x7F)]


def _bracket_atoms() -> list[str]:
    """Common bracket atoms as single units, seen in training or not: an unseen ``[CH]`` or ``[N+]`` must not
    fall apart into four characters (old NCI files write ``[CH]``; salts and nitro groups carry charges).
    Organic-subset and aromatic atoms with 0-3 H, charge 0/+/-, and chirality @/@@ with 0-1 H; halide and
    common metal ions."""
    organic = ["B", "C", "N", "O", "P", "S", "Si", "Se", "b", "c", "n", "o", "p", "s", "se"]
    out = []
    for el in organic:
        for h in ("", "H", "H2", "H3"):
            for q in ("", "+", "-"):
                out.append(f"[{el}{h}{q}]")
        for chir in ("@", "@@"):
            for h in ("", "H"):
                out.append(f"[{el}{chir}{h}]")
    ions = ["F-", "Cl-", "Br-", "I-", "Li+", "Na+", "K+", "Mg+2", "Ca+2", "Zn+2", "Fe+2", "Fe+3", "Cu+2", "Al+3",
            "NH4+", "H+", "Fe", "Co", "Ni", "Cu", "Zn", "Pt", "Pd", "Ag", "Au", "Hg", "Sn", "Ti", "Mn", "Cr", "Ru", "Rh",
            "Ce", "Gd", "Co+2", "Ni+2", "Mn+2", "Pt+2", "Pd+2", "Ag+", "Hg+2", "As", "Ge", "Te", "Bi", "Sb", "Ga"]
    out += [f"[{x}]" for x in ions]
    return list(dict.fromkeys(out))


BRACKET_ATOMS = _bracket_atoms()
# Any other bracket atom is spelled in parts of its grammar, [isotope symbol chirality H-count charge :map]:
# ``[Pt@@H2+3]`` -> ``[Pt @@ H2 +3 ]`` and the atom-mapped ``[CH3:1]`` -> ``[C H3 :1]``, never the 7-10
# characters a text BPE also has to fall back to. Atom maps up to this number are one unit with their bracket.
MAX_MAP_UNIT = 60
# Mass numbers of the isotopes labelled in chemistry and medicine (2H 3H, 11C 13C 14C, 15N, 17O 18O, 18F, 32P,
# 35S, 36Cl, 64Cu, 67Ga 68Ga, 76Br, 89Zr, 90Y, 99Tc, 111In, 123I 124I 125I 131I, 201Tl): ``[13`` is one unit.
ISOTOPES = (2, 3, 11, 13, 14, 15, 17, 18, 32, 35, 36, 64, 67, 68, 76, 89, 90, 99, 111, 123, 124, 125, 131, 201)
_BRACKET_GRAMMAR_RE = re.compile(
    r"\[(?P<iso>[0-9]*)(?P<sym>[A-Z][a-z]?|[a-z]{1,2}|\*)(?P<chi>@@|@(?:TH|AL|SP|TB|OH)?[0-9]{0,2})?"
    r"(?P<h>H[0-9]?)?(?P<q>[+-]{1,2}[0-9]?)?(?P<map>:[0-9]+)?\]"
)


def _bracket_parts_alphabet() -> list[str]:
    """Units for the parts: ``[`` + element (the elements with common oxidation states, aromatic atoms, ``*``),
    ``[`` + isotope, chirality, H counts, charges and ``:n]`` atom maps. Each unit takes one id of the SMILES
    budget, so rarer parts are left to characters (or to the text BPE when that is cheaper)."""
    from sciforge.pipelines.tokenizer.smiles import OXIDATION_STATES

    out = [f"[{e}" for e in OXIDATION_STATES] + ["[b", "[c", "[n", "[o", "[p", "[s", "[se", "[as", "[te", "[*"]
    out += [f"[{i}" for i in ISOTOPES]
    out += ["@@", "H2", "H3", "H4", "+2", "+3", "+4", "-2", "-3", "++", "--"]
    out += [f":{i}]" for i in range(1, MAX_MAP_UNIT + 1)]
    return out


BRACKET_PARTS = _bracket_parts_alphabet()


def bracket_parts(atom: str) -> list[str]:
    """Grammar parts of a bracket atom that re-join to it (its characters when it does not parse)."""
    m = _BRACKET_GRAMMAR_RE.fullmatch(atom)
    if m is None:
        return list(atom)
    iso, sym, chi, h, q, amap = (m.group(k) or "" for k in ("iso", "sym", "chi", "h", "q", "map"))
    if not iso:
        head = [f"[{sym}"]
    elif iso[0] != "0" and int(iso) in ISOTOPES:
        head = [f"[{iso}", sym]
    else:
        head = ["[", *iso, sym]
    tail = [f"{amap}]"] if amap and int(amap[1:]) <= MAX_MAP_UNIT and amap[1] != "0" else [*amap, "]"]
    return [p for p in (*head, chi, h, q) if p] + tail


PROTEIN_ALPHABET = [chr(i) for i in range(ord("A"), ord("Z") + 1)] + list("*-\n\r ")


def residue_units(s: str) -> list[str]:
    return list(s)


SPLITTERS: dict[str, Callable[[str], list[str]]] = {"smiles": smiles_units, "residue": residue_units}


class UnitTokenizer:
    """Units -> private-use characters -> BPE (or greedy k-mers) -> local ids ``0..len-1``."""

    def __init__(self, splitter: str, units: list[str], *, bpe: Tokenizer | None = None,
                 kmer_vocab: list[str] | None = None) -> None:
        if (bpe is None) == (kmer_vocab is None):
            raise ValueError("give exactly one of bpe= or kmer_vocab=")
        self.splitter = splitter
        self.split = SPLITTERS[splitter]
        self.units = list(units)
        if len(self.units) > 0xFFFD:
            raise ValueError("too many units for the private-use plane")
        self.unit_to_char = {u: chr(PUA_BASE + i) for i, u in enumerate(self.units)}
        self.char_to_unit = {c: u for u, c in self.unit_to_char.items()}
        self._plain_table = {ord(c): u for c, u in self.char_to_unit.items()}
        self.bpe = bpe
        if bpe is not None:
            vocab = bpe.get_vocab()
            self.strings = [""] * len(vocab)
            for tok, i in vocab.items():
                self.strings[i] = "".join(self.char_to_unit[c] for c in tok)
            self.max_len = 0
            self.kmer_ids: dict[str, int] = {}
        else:
            assert kmer_vocab is not None
            self.strings = list(kmer_vocab)
            self.kmer_ids = {s: i for i, s in enumerate(self.strings)}
            self.max_len = max(len(s) for s in self.strings)

    def __len__(self) -> int:
        return len(self.strings)

    @property
    def mode(self) -> str:
        return "bpe" if self.bpe is not None else "kmer"

    # ------------------------------------------------------------------------------------------
    def pieces(self, s: str, text_cost: Callable[[str], int] | None = None) -> list[Piece]:
        """Split ``s`` into runs of known units (as PUA text) and fallback runs (as plain text).

        ``text_cost(unit)`` (the text BPE's token count) makes an unknown multi-character unit a fallback run
        of its own whenever the text BPE spells it in fewer tokens than its parts: a bracket atom then never
        costs more than in the text BPE.
        """
        u2c = self.unit_to_char
        units = self.split(s)
        fast = [u2c.get(u) for u in units]
        if None not in fast:  # every unit known (the common case): one run
            return [(True, "".join(fast))] if fast else []  # type: ignore[arg-type]
        out: list[Piece] = []
        known: list[str] = []
        other: list[str] = []

        def flush() -> None:
            if known:
                out.append((True, "".join(known)))
                known.clear()
            if other:
                out.append((False, "".join(other)))
                other.clear()

        for u, ch in zip(units, fast, strict=True):
            chars: list[str | None]
            if ch is not None:
                chars = [ch]
            elif len(u) > 1:  # an unknown multi-character unit: its grammar parts, else its characters
                parts = bracket_parts(u) if self.splitter == "smiles" and u[0] == "[" else list(u)
                chars = [u2c.get(x) for p in parts for x in ((p,) if p in u2c else p)]
                if text_cost is not None and (None in chars or text_cost(u) < len(chars)):
                    flush()
                    out.append((False, u))  # alone: its text tokens are exactly text_cost(u)
                    continue
            else:
                chars = [None]
            if all(c is not None for c in chars):
                if other:
                    out.append((False, "".join(other)))
                    other.clear()
                known.extend(chars)  # type: ignore[arg-type]
            else:
                if known:
                    out.append((True, "".join(known)))
                    known.clear()
                other.append(u)
        flush()
        return out

    def encode_runs(self, runs: list[str]) -> list[list[int]]:
        """Local ids for runs of known units (PUA text from :meth:`pieces`)."""
        if self.bpe is not None:
            return [e.ids for e in self.bpe.encode_batch_fast(runs, add_special_tokens=False)]
        return [self._kmer(self._plain(r)) for r in runs]

    def _plain(self, run: str) -> str:
        return run.translate(self._plain_table)

    def _kmer(self, s: str) -> list[int]:
        """Greedy longest match, left to right (every single unit is in the vocabulary)."""
        k, table = self.max_len, self.kmer_ids
        chunks = [table.get(s[i:i + k]) for i in range(0, len(s), k)]
        if None not in chunks:  # every k-chunk is a token: exactly what the greedy match below takes
            return chunks  # type: ignore[return-value]
        ids, i, n = [], 0, len(s)
        while i < n:
            for k in range(min(self.max_len, n - i), 0, -1):
                j = table.get(s[i:i + k])
                if j is not None:
                    ids.append(j)
                    i += k
                    break
            else:  # unreachable: single units are always present
                raise KeyError(s[i])
        return ids

    # -- persistence -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"splitter": self.splitter, "units": self.units, "mode": self.mode}
        if self.bpe is not None:
            d["bpe"] = json.loads(self.bpe.to_str())
        else:
            d["kmer_vocab"] = self.strings
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UnitTokenizer:
        if d["mode"] == "bpe":
            return cls(d["splitter"], d["units"], bpe=Tokenizer.from_str(json.dumps(d["bpe"])))
        return cls(d["splitter"], d["units"], kmer_vocab=d["kmer_vocab"])


# -- training ------------------------------------------------------------------------------------


def unit_alphabet(splitter: str, corpus: Iterable[str], min_frequency: int) -> list[str]:
    """Base units: the fixed alphabet plus every multi-character unit seen ``min_frequency`` times."""
    base = PRINTABLE_ASCII + BRACKET_ATOMS + BRACKET_PARTS if splitter == "smiles" else PROTEIN_ALPHABET
    counts: Counter[str] = Counter()
    split = SPLITTERS[splitter]
    for s in corpus:
        counts.update(u for u in split(s) if len(u) > 1)
    extra = sorted((u for u, n in counts.items() if n >= min_frequency), key=lambda u: (-counts[u], u))
    base = list(dict.fromkeys(base))
    return base + [u for u in extra if u not in set(base)]


def train_unit_bpe(splitter: str, corpus: list[str], vocab_size: int, *, min_frequency: int = 2,
                   max_units: int | None = None) -> UnitTokenizer:
    """Learn BPE merges over units (deterministic: HF's trainer breaks ties by pair order)."""
    units = unit_alphabet(splitter, corpus, min_frequency)
    if max_units is not None:
        units = units[:max_units]
    if vocab_size < len(units):
        raise ValueError(f"{splitter} vocabulary {vocab_size} is smaller than its {len(units)} base units")
    probe = UnitTokenizer(splitter, units, kmer_vocab=units)
    runs = [r for s in corpus for known, r in probe.pieces(s) if known]
    bpe = Tokenizer(models.BPE())
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, show_progress=False,
        initial_alphabet=[probe.unit_to_char[u] for u in units], limit_alphabet=len(units),
    )
    bpe.train_from_iterator(runs, trainer=trainer)
    return UnitTokenizer(splitter, units, bpe=bpe)


def kmer_tokenizer(k: int) -> UnitTokenizer:
    """Fixed residue k-mers: every k-mer (and shorter) over the 20 standard residues, plus the
    protein alphabet as single units. Needs no training and gives k residues per token on any protein."""
    vocab = list(PROTEIN_ALPHABET)
    for n in range(2, k + 1):
        vocab.extend("".join(p) for p in itertools.product(STANDARD_RESIDUES, repeat=n))
    return UnitTokenizer("residue", PROTEIN_ALPHABET, kmer_vocab=vocab)
