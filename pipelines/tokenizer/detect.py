"""Modality detectors: find scientific strings in text and say why.

Three kinds of evidence, strongest first:
1. explicit tags (``<SMILES>...</SMILES>``, ``<SELFIES>``, ``<IUPAC>``, ``<FASTA>``, ``<MOLFORMULA>``);
2. automatic SMILES: a SMILES-shaped candidate run, guarded against words, acronyms, formulas, IUPAC
   names, URLs and ``*`` runs, then validated by RDKit;
3. automatic protein runs (long capital-letter runs over the amino-acid alphabet, told apart from DNA)
   and chemical formulas (H2O, C6H12O6).

Every candidate gets a :class:`Decision` with a reason, so ``sciforge tokenizer explain`` can show why a
string was or was not treated as a molecule.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from sciforge.pipelines.tokenizer.config import TAGS, DetectorConfig
from sciforge.pipelines.tokenizer.smiles import ELEMENTS, HALOGENS, OXIDATION_STATES, count_units

# -- SMILES candidates ------------------------------------------------------------------------
# '>' separates the reactants, agents and products of a reaction SMILES (CCO.CC(=O)O>[H+]>CCOC(C)=O); ':' is
# only ever a candidate inside a bracket atom (an atom map, [CH3:1]).
_SMILES_CHARS = r"A-Za-z0-9@+\-\[\]()=#$%/\\.*>"
# A candidate starts where a run of SMILES characters starts, has at least one character that words
# never have (ring digit, branch, bond, bracket, chirality, stereo bond) and is at least `n` units long (a
# bracket atom counts as one unit): this keeps the regex (C speed) from handing every word of prose to Python.
# Two atom-mapped bracket atoms ([CH3:1][OH:2]) are evidence enough for a candidate of any length: prose never
# writes them.
_MAPPED = r"\[[^\[\]\s:]{1,14}:[0-9]{1,4}\]"
_ATOM_MAP_RE = re.compile(_MAPPED)
_CAND_TEMPLATE = (
    r"(?<![{c}])(?=(?:\[[^\[\]\s]{{1,16}}\]|[{c}]){{{n},}}"
    r"|(?:\[[^\[\]\s]{{1,16}}\]|[{c}])*?" + _MAPPED.replace("{", "{{").replace("}", "}}")
    + r"(?:\[[^\[\]\s]{{1,16}}\]|[{c}])*?" + _MAPPED.replace("{", "{{").replace("}", "}}") + ")"
    r"(?=[{c}]*?[0-9()=#\[\]@/\\])"
    r"(?:\[[^\[\]\s]{{1,16}}\]|[{c}])++"
)
_BRACKET_RE = re.compile(r"\[[^\[\]]*\]")
_NOT_LETTER_RE = re.compile(r"[^A-Za-z]+")
_NOT_FORMULA_RE = re.compile(r"[=#\[\]@/\\.%*>:]|[a-z]{2}|^[a-z]")  # SMILES syntax no formula has
# Lower-case runs that are not aromatic SMILES atoms (b c n o p s, se, as): words and IUPAC names.
_WORDISH_RE = re.compile(r"[a-z]{3,}")
_AROMATIC = set("bcnops")
_FORMULA_TOKEN_RE = re.compile(r"([A-Z][a-z]?)(\d*)")
_FORMULA_RE = re.compile(
    r"(?<![A-Za-z0-9])(?:(?:[A-Z][a-z]?\d{0,3})|\((?:[A-Z][a-z]?\d{0,3})+\)\d{0,3}){2,}"
    r"(?:\d?[+-])?(?![A-Za-z0-9])"
)
_AMINO = "ACDEFGHIKLMNPQRSTVWYBXZUO"  # 20 standard + B Z (ambiguous) X (any) U (Sec) O (Pyl)
_NUCLEOTIDE = set("ACGTUN")
_DNA_MIN_DISTINCT = 3  # a nucleic-acid run uses at least 3 of A/C/G/T (poly-A is low complexity)
_LETTER_RUN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{4,}(?![A-Za-z0-9])")


def _table(classes: dict[bytes, str]) -> bytes:
    """A bytes.translate table: each byte of a class string maps to its class byte, all others to b' '."""
    t = bytearray(b" " * 256)
    for cls, chars in classes.items():
        for ch in chars.encode():
            t[ch] = cls[0]
    return bytes(t)


# Fast pre-filters (C speed): the text is mapped byte-per-character (non-ASCII -> '?') into classes, split
# at everything else, and only the maximal runs that can hold a match go to the (slower) regexes.
_SMILES_TABLE = _table({b"L": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+-.*$%:>", b"X": "0123456789()=#[]@/\\"})
_FORMULA_TABLE = _table({b"U": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"l": "abcdefghijklmnopqrstuvwxyz",
                         b"d": "0123456789", b"(": "(", b")": ")", b"+": "+-"})
_PROTEIN_TABLE = _table({b"A": "ACDEFGHIKLMNPQRSTVWYBXZUO", b"_": " "})


def _class_bytes(text: str, table: bytes) -> bytes:
    return text.encode("ascii", "replace").translate(table)  # one byte per character: offsets match


def _runs(tb: bytes, needle: bytes, min_len: int) -> list[tuple[int, int]]:
    """(start, end) of every maximal non-space run of ``tb`` that contains ``needle`` and has at least
    ``min_len`` bytes, in order. Work is proportional to the runs holding the needle, not to the words."""
    out = []
    n = len(tb)
    i = tb.find(needle)
    while i >= 0:
        a = tb.rfind(b" ", 0, i) + 1
        b = tb.find(b" ", i)
        b = n if b < 0 else b
        if b - a >= min_len:
            out.append((a, b))
        i = tb.find(needle, b)
    return out


_TAG_RE = re.compile(r"<(/?)(" + "|".join(TAGS) + r")>")


@dataclass(frozen=True)
class Span:
    """A detected span ``text[start:end]``; for tagged spans the tags are included.

    ``open_len``/``close_len`` are the lengths of the opening/closing tag (0 for automatic spans),
    so the content is ``text[start + open_len : end - close_len]``.
    """

    start: int
    end: int
    modality: str  # smiles | selfies | iupac | protein | dna | formula
    source: str  # "tag" | "auto"
    reason: str
    open_len: int = 0
    close_len: int = 0

    @property
    def content(self) -> tuple[int, int]:
        return self.start + self.open_len, self.end - self.close_len


@dataclass(frozen=True)
class Decision:
    """One candidate and what the detectors decided about it."""

    start: int
    end: int
    text: str
    kind: str  # the detector: tag | smiles | protein | formula
    accepted: bool
    modality: str
    reason: str


# -- validation helpers ------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _quiet_rdkit() -> None:
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]  # RDKit prints parse errors to stderr: silence it once


@lru_cache(maxsize=1 << 16)
def rdkit_atoms(smiles: str) -> int:
    """Heavy atoms of the molecule RDKit parses from ``smiles`` (sanitized); -1 if it does not parse."""
    _quiet_rdkit()
    from rdkit import Chem

    try:
        mol = Chem.MolFromSmiles(smiles)
    except Exception:  # RDKit raises on a few pathological inputs instead of returning None
        return -1
    return -1 if mol is None else mol.GetNumAtoms()


def formula_elements(s: str, min_elements: int = 2) -> int:
    """Element count if ``s`` reads as a molecular formula (H2O, C6H12O6, Ca(OH)2, SO4 2-), else 0.

    A formula names each element once, with counts of 2 or more (a count of 1 is never written), which
    tells ``C6H6`` (formula) from ``C1CCCCC1`` (SMILES) and ``CNN`` (acronym).
    """
    core = re.sub(r"\d?[+-]$", "", s)
    flat = core.replace("(", "").replace(")", "")
    toks = _FORMULA_TOKEN_RE.findall(flat)
    if "".join(sym + n for sym, n in toks) != flat or len(toks) < min_elements:
        return 0
    syms = [sym for sym, _ in toks]
    if any(sym not in ELEMENTS for sym in syms) or len(set(syms)) != len(syms):
        return 0
    counts = [n for _, n in toks if n]
    if not counts or any(n == "1" or n.startswith("0") for n in counts):
        return 0
    return len(syms)


_GROUP_RE = re.compile(r"\(([^()]*)\)(\d*)")
_FORMULA_CHARGE_RE = re.compile(r"(\d?)([+-])$")
# Counts of 100 or more occur in prose formulas only for large organic molecules (C100H202); in running text a
# letter-and-3-digit string is a model or part number (PB100, SC300, CB750, HP500).
FORMULA_MAX_INORGANIC_COUNT = 99
# A polyatomic ion is often written without its charge (SO4, NO3, PO4 3-, NH4): an uncharged formula may
# balance to at most this charge when it reads as an oxoanion (ends in O) or an onium ion (NH4, PH4).
FORMULA_MAX_IMPLICIT_CHARGE = 3
# Brute-force oxidation-state assignments are bounded: a formula with more distinct elements than this is
# not a prose formula unless it is organic (organic ones are checked by their unsaturation instead).
FORMULA_MAX_INORGANIC_ELEMENTS = 6
# A formula of two one-letter elements (NO2, CO2, CH4, SF6) is the commonest shape of a model or part number
# (UN2, K2B, W2K, SP2): it must be made of these light non-metals.
FORMULA_SHORT_ELEMENTS = frozenset("HBCNOFPSI")


def formula_counts(s: str) -> list[tuple[str, int]]:
    """Element counts of a formula in order of first appearance, groups expanded: Ca(OH)2 -> Ca 1, O 2, H 2."""
    core = re.sub(r"\d?[+-]$", "", s)
    prev = None
    while prev != core:  # expand the innermost groups first
        prev = core
        core = _GROUP_RE.sub(lambda m: "".join(f"{sym}{(int(n) if n else 1) * int(m.group(2) or 1)}"
                                               for sym, n in _FORMULA_TOKEN_RE.findall(m.group(1))), core)
    out: dict[str, int] = {}
    for sym, n in _FORMULA_TOKEN_RE.findall(core):
        out[sym] = out.get(sym, 0) + (int(n) if n else 1)
    return list(out.items())


def formula_plausibility(s: str) -> str:
    """'' when a string that reads as a formula (:func:`formula_elements`) is chemically plausible, else why not.

    Running text is full of strings shaped like formulas that are model and part numbers (PB100, I2C, SC300,
    W2K, PS2) or base64 / uuencoded noise (B8F, C8V). A formula is kept when
    - organic (Hill order: C, then H): its degree of unsaturation is not negative (C5H6F8 and CH9 cannot exist);
    - otherwise (inorganic, NaHCO3 included; carbon takes -4, +2 or +4): every element has common oxidation states, no count exceeds 99, and some assignment of
      states balances to the written charge (or, for an uncharged oxoanion / onium ion, to at most 3) with
      the cation written first (I2C puts iodide before carbon).
    """
    counts = formula_counts(s)
    syms = [e for e, _ in counts]
    n = dict(counts)
    if any(e not in OXIDATION_STATES for e in syms):
        return "element without common oxidation states (" + ", ".join(e for e in syms if e not in OXIDATION_STATES) + ")"
    if len(syms) == 2 and all(len(e) == 1 for e in syms) and not set(syms) <= FORMULA_SHORT_ELEMENTS:
        return "two one-letter elements beyond " + "".join(sorted(FORMULA_SHORT_ELEMENTS)) + ": a code (UN2, K2B)"
    if syms[:2] == ["C", "H"]:
        halo = sum(n.get(x, 0) for x in HALOGENS)
        dbe = 1 + n["C"] + n.get("Si", 0) + (n.get("N", 0) + n.get("P", 0) - n["H"] - halo) / 2
        if dbe < 0:
            return f"impossible organic formula: degree of unsaturation {dbe:g} < 0"
        return ""
    if max(n.values()) > FORMULA_MAX_INORGANIC_COUNT:
        return f"count over {FORMULA_MAX_INORGANIC_COUNT}: a model or part number"
    if len(syms) > FORMULA_MAX_INORGANIC_ELEMENTS:
        return f"more than {FORMULA_MAX_INORGANIC_ELEMENTS} elements without carbon and hydrogen"
    m = _FORMULA_CHARGE_RE.search(s)
    if m and not s.endswith(")"):
        q = int(m.group(1) or 1) * (1 if m.group(2) == "+" else -1)
        allowed = {q}
    elif (syms[-1] == "O" and len(syms) <= 3) or syms in (["N", "H"], ["P", "H"]):
        allowed = set(range(-FORMULA_MAX_IMPLICIT_CHARGE, FORMULA_MAX_IMPLICIT_CHARGE + 1))
    else:
        allowed = {0}
    for states in itertools.product(*(OXIDATION_STATES[e] for e in syms)):
        if sum(k * n[e] for k, e in zip(states, syms, strict=True)) in allowed and \
                (states[0] >= states[-1] or syms[-1] == "H"):  # cation first; hydrides (NH3, SiH4) end in H
            return ""
    return "no balance of common oxidation states with the cation first"


# Uuencoded, base64 and binary dumps (mail attachments: the most formula-shaped strings of Usenet, B8F, C8V)
# are a quarter or more punctuation and hold no words; prose has a few percent of punctuation, and where it
# has more (next to SMILES or equations) it still has words. A formula is taken for part of a dump when the
# rest of its line (within this many characters each side) is over the symbol share and has fewer words.
FORMULA_CONTEXT_CHARS = 60
FORMULA_MAX_CONTEXT_SYMBOLS = 0.2
FORMULA_MIN_CONTEXT_WORDS = 3
_WORD_TOKEN_RE = re.compile(r"[(\"']?[A-Za-z][a-z]{2,}[.,;:!?)\"']*")


def _noise_context(text: str, start: int, end: int) -> str:
    """'' unless the formula stands in a line of encoded data (its neighbourhood is mostly punctuation), a
    version number (UWS4.2) or an address or message id (<C5HFr2.CpA@host>)."""
    if (end + 1 < len(text) and text[end] == "." and text[end + 1].isdigit()) or \
            (start >= 2 and text[start - 1] == "." and text[start - 2].isdigit()):
        return "part of a version number"
    w0 = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start), text.rfind("\t", 0, start)) + 1
    m = re.compile(r"\s").search(text, end)
    word = text[w0:m.start() if m else len(text)]
    if "@" in word or "<" in word[:start - w0 + 1]:
        return "part of an address or message id"
    a = max(text.rfind("\n", 0, start) + 1, start - FORMULA_CONTEXT_CHARS)
    b = text.find("\n", end)
    b = min(len(text) if b < 0 else b, end + FORMULA_CONTEXT_CHARS)
    others = (text[a:start] + " " + text[end:b]).split()
    chars = "".join(others)
    sym = sum(not ch.isalnum() for ch in chars) / max(len(chars), 1)
    words = sum(1 for t in others if _WORD_TOKEN_RE.fullmatch(t))
    if sym > FORMULA_MAX_CONTEXT_SYMBOLS and words < FORMULA_MIN_CONTEXT_WORDS:
        return f"in encoded data, not prose: {sym:.0%} of the characters around it are symbols, {words} words"
    return ""


# English letter frequencies (percent; Lewand, "Cryptological Mathematics", 2000) and the 30 most frequent
# English letter pairs (Norvig's count over the Google Books corpus): protein residues follow the UniProt
# composition instead, so capital-letter runs are told apart from shouted English by how they spell.
ENGLISH_LETTERS = {
    "A": 8.167, "B": 1.492, "C": 2.782, "D": 4.253, "E": 12.702, "F": 2.228, "G": 2.015, "H": 6.094, "I": 6.966,
    "J": 0.153, "K": 0.772, "L": 4.025, "M": 2.406, "N": 6.749, "O": 7.507, "P": 1.929, "Q": 0.095, "R": 5.987,
    "S": 6.327, "T": 9.056, "U": 2.758, "V": 0.978, "W": 2.360, "X": 0.150, "Y": 1.974, "Z": 0.074,
}
ENGLISH_BIGRAMS = frozenset("TH HE IN ER AN RE ON AT EN ND TI ES OR TE OF ED IS IT AL AR ST TO NT NG SE HA AS OU "
                            "IO LE".split())
# UniProtKB/Swiss-Prot amino-acid composition (release statistics, percent); the rare and ambiguous codes
# (B Z X U O) get a small floor.
AA_COMPOSITION = {
    "A": 8.25, "R": 5.53, "N": 4.06, "D": 5.45, "C": 1.37, "Q": 3.93, "E": 6.75, "G": 7.07, "H": 2.27, "I": 5.96,
    "L": 9.66, "K": 5.84, "M": 2.42, "F": 3.86, "P": 4.70, "S": 6.56, "T": 5.34, "W": 1.08, "Y": 2.92, "V": 6.87,
}
_RARE_RESIDUE = 0.05


def _letter_llr() -> dict[str, float]:
    aa = {k: AA_COMPOSITION.get(k, _RARE_RESIDUE) for k in ENGLISH_LETTERS}
    ta, te = sum(aa.values()), sum(ENGLISH_LETTERS.values())
    return {k: math.log((aa[k] / ta) / (ENGLISH_LETTERS[k] / te)) for k in ENGLISH_LETTERS}


_LETTER_LLR = _letter_llr()
_CAPS_RUN_RE = re.compile(r"[A-Z]+")


def protein_likeness(s: str, counts: Counter[str] | None = None) -> float:
    """Mean per-letter log-likelihood ratio protein : English of the capital letters of ``s``, minus the share of
    adjacent letter pairs that are common English pairs. Over 27+ letters Biopython's proteins score at
    least 0.12 and shouted English (20-newsgroups upper-cased) at most -0.19 (bench/tokenizer_detection.py).
    ``counts``: ``Counter(s)`` when the caller has it."""
    counts = Counter(s) if counts is None else counts
    n = sum(k for ch, k in counts.items() if ch in _LETTER_LLR)
    if not n:
        return -math.inf
    llr = sum(_LETTER_LLR[ch] * k for ch, k in counts.items() if ch in _LETTER_LLR) / n
    pairs = sum(len(r) - 1 for r in _CAPS_RUN_RE.findall(s))
    common = sum(s.count(bg) for bg in ENGLISH_BIGRAMS) / max(pairs, 1)
    return llr - common


def _strip_candidate(s: str) -> tuple[int, int]:
    """Trim sentence punctuation and unbalanced outer parentheses; returns (left, right) trims."""
    left, right = 0, len(s)
    changed = True
    while changed and left < right:
        changed = False
        if s[right - 1] in ".,;:" or (s[right - 1] == ")" and s.count("(", left, right) < s.count(")", left, right)):
            right -= 1
            changed = True
        elif s[left] == "(":  # a SMILES never starts with a branch: this is prose's parenthesis
            left += 1
            changed = True
    return left, right


# -- the detector ------------------------------------------------------------------------------


class Detector:
    """All detectors with one configuration. ``detect`` returns accepted, non-overlapping spans."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = c = config or DetectorConfig()
        self._cand_re = re.compile(_CAND_TEMPLATE.format(c=_SMILES_CHARS, n=c.smiles_min_units))
        k = c.protein_min_residues
        self._protein_re = re.compile(
            # a run of residues, optionally wrapped over lines (FASTA) ...
            rf"(?<![A-Za-z])[{_AMINO}]{{{k},}}(?:\r?\n[{_AMINO}]+(?=\r?\n|\Z))*(?![A-Za-z])"
            # ... or printed in blocks of ten (UniProt/GenBank flat files)
            rf"|(?<![A-Za-z])(?:[{_AMINO}]{{10}} ){{2,}}[{_AMINO}]{{1,10}}(?![A-Za-z])"
        )

    # tags ------------------------------------------------------------------------------------
    def tagged(self, text: str) -> list[Span]:
        """Balanced tag pairs. An open tag pairs with the next close tag of its kind; anything else
        (unbalanced or nested tags) stays ordinary text, so nothing is lost."""
        if "<" not in text:
            return []
        spans: list[Span] = []
        pending: re.Match[str] | None = None
        for m in _TAG_RE.finditer(text):
            closing, kind = m.group(1) == "/", m.group(2)
            if pending is None:
                if not closing:
                    pending = m
            elif closing and kind == pending.group(2):
                spans.append(Span(pending.start(), m.end(), TAGS[kind], "tag", f"<{kind}> tag",
                                  len(pending.group(0)), len(m.group(0))))
                pending = None
        return spans

    # SMILES ----------------------------------------------------------------------------------
    def smiles_decisions(self, text: str) -> Iterator[Decision]:
        c = self.config
        n = c.smiles_min_units
        for a, b in _runs(_class_bytes(text, _SMILES_TABLE), b"X", n):
            yield from self._smiles_in_run(text, a, b)

    def _smiles_in_run(self, text: str, a: int, b: int) -> Iterator[Decision]:
        for m in self._cand_re.finditer(text, a, b):
            raw = m.group(0)
            lt, rt = _strip_candidate(raw)
            if lt < rt:
                yield from self._judge_smiles(raw[lt:rt], m.start() + lt)

    def _judge_smiles(self, s: str, start: int) -> Iterator[Decision]:
        """The decision on one stripped candidate ``s`` at ``start``; a candidate with '>' that is not a
        reaction SMILES is judged piece by piece (an arrow in prose, CCO->CC=O, is not a reaction)."""
        end = start + len(s)

        def rej(reason: str) -> Decision:
            return Decision(start, end, s, "smiles", False, "", reason)

        if ">" in s:
            why = self._reaction_problem(s)
            if not why:
                parts = s.split(">")
                yield Decision(start, end, s, "smiles", True, "smiles",
                               f"reaction SMILES: RDKit parses {rdkit_atoms(parts[0])} reactant and "
                               f"{rdkit_atoms(parts[2])} product atoms")
                return
            yield rej(f"not a reaction SMILES: {why}")
            pos = start
            for piece in s.split(">"):
                lt, rt = _strip_candidate(piece.rstrip("-=")) if piece else (0, 0)
                if rt > lt:
                    yield from self._judge_smiles(piece[lt:rt], pos + lt)
                pos += len(piece) + 1
            return
        why = self._guard(s)
        if why:
            yield rej(why)
            return
        n = rdkit_atoms(s)
        if n < 0:
            yield rej("RDKit cannot parse it as a molecule")
        elif n < 2:
            yield rej("RDKit parses fewer than 2 atoms")
        else:
            yield Decision(start, end, s, "smiles", True, "smiles", f"valid SMILES: RDKit parses {n} atoms")

    def _guard(self, s: str) -> str:
        """Why ``s`` cannot be a SMILES before RDKit is asked ('' when it may be one)."""
        c = self.config
        units = count_units(s)
        letters = len(_NOT_LETTER_RE.sub("", _BRACKET_RE.sub("C", s)))
        if len(_ATOM_MAP_RE.findall(s)) >= 2:
            units = max(units, c.smiles_min_units)  # atom maps: a SMILES whatever its length
            letters = max(letters, c.smiles_min_letters)
        if units < c.smiles_min_units:
            return f"too short: {units} SMILES units < {c.smiles_min_units}"
        if letters < c.smiles_min_letters:
            return f"too few letters: {letters} < {c.smiles_min_letters}"
        if len(s) > c.smiles_max_chars:
            return f"too long for automatic detection: {len(s)} chars > {c.smiles_max_chars}"
        if "**" in s:
            return "run of '*' (RDKit reads '*' as a dummy atom)"
        if "//" in s or "www" in s.lower() or "http" in s.lower():
            return "URL or path"
        if not _NOT_FORMULA_RE.search(s) and formula_elements(s, c.formula_min_elements):
            return "chemical formula, not SMILES"
        if any(set(w) - _AROMATIC for w in _WORDISH_RE.findall(_BRACKET_RE.sub("", s))):
            return "contains a lower-case word (English or IUPAC name)"
        if not re.search(r"[0-9()=#\[\]@/\\>]", _BRACKET_RE.sub("", s)) and "[" not in s:
            return "letters only: indistinguishable from words and acronyms (POISON, CISCO)"
        return ""

    def _reaction_problem(self, s: str) -> str:
        """'' when ``s`` is a reaction SMILES: reactants>agents>products (agents may be empty: ``>>``), each
        part a molecule RDKit parses; else why not."""
        parts = s.split(">")
        if len(parts) != 3:
            return f"{len(parts)} '>'-separated parts, a reaction has 3"
        if not parts[0] or not parts[2]:
            return "no reactants or no products"
        why = self._guard(s)
        if why:
            return why
        for name, part in zip(("reactants", "agents", "products"), parts, strict=True):
            if part and rdkit_atoms(part) < 1:
                return f"RDKit cannot parse the {name}"
        return ""

    # proteins ------------------------------------------------------------------------------
    def protein_decisions(self, text: str) -> Iterator[Decision]:
        c = self.config
        tb = _class_bytes(text, _PROTEIN_TABLE)
        if b"A" * c.protein_min_residues not in tb and b"AAAAAAAAAA_AAAAAAAAAA_" not in tb:
            return  # no run that long: nothing for the regex to find
        for m in self._protein_re.finditer(text):
            s = m.group(0)
            counts = Counter(s)  # C speed; the regex admits only residue letters, spaces and line breaks
            n_letters = sum(k for ch, k in counts.items() if ch.isalpha())
            distinct = sum(1 for ch in counts if ch.isalpha())
            nuc = sum(counts[ch] for ch in _NUCLEOTIDE) / n_letters
            if distinct < _DNA_MIN_DISTINCT:
                yield Decision(m.start(), m.end(), s, "protein", False, "",
                               f"low complexity: {distinct} distinct letters")
            elif nuc >= c.dna_min_fraction:
                yield Decision(m.start(), m.end(), s, "protein", True, "dna",
                               f"nucleic acid: {nuc:.0%} of letters are A/C/G/T/U/N")
            elif (ou := (counts["O"] + counts["U"]) / n_letters) > c.protein_max_ou_fraction:
                yield Decision(m.start(), m.end(), s, "protein", False, "",
                               f"English-like: {ou:.0%} O/U letters (rare residues) > {c.protein_max_ou_fraction:.0%}")
            elif distinct < c.protein_min_distinct:
                yield Decision(m.start(), m.end(), s, "protein", False, "",
                               f"low complexity: {distinct} distinct letters < {c.protein_min_distinct}")
            elif (score := protein_likeness(s, counts)) <= c.protein_min_likeness:
                yield Decision(m.start(), m.end(), s, "protein", False, "",
                               f"spelled like English: protein likeness {score:.2f} <= {c.protein_min_likeness}")
            else:
                yield Decision(m.start(), m.end(), s, "protein", True, "protein",
                               f"protein: {n_letters} residues, {distinct} distinct, {nuc:.0%} A/C/G/T")

    # formulas --------------------------------------------------------------------------------
    def formula_decisions(self, text: str) -> Iterator[Decision]:
        tb = _class_bytes(text, _FORMULA_TABLE)
        runs = [(a, b) for a, b in _runs(tb, b"d", 2) if any(x in tb[a:b] for x in (b"Ud", b"Uld", b")d"))]
        for m in (m for a, b in runs for m in _FORMULA_RE.finditer(text, a, b)):
            n = formula_elements(m.group(0), self.config.formula_min_elements)
            if not n:
                continue
            why = formula_plausibility(m.group(0)) or _noise_context(text, m.start(), m.end())
            if why:
                yield Decision(m.start(), m.end(), m.group(0), "formula", False, "", f"formula-shaped, but {why}")
            else:
                yield Decision(m.start(), m.end(), m.group(0), "formula", True, "formula",
                               f"molecular formula with {n} elements")

    # all together ----------------------------------------------------------------------------
    def decisions(self, text: str) -> list[Decision]:
        """Every candidate the detectors looked at, accepted or not (for ``explain``)."""
        out = [Decision(s.start, s.end, text[s.start:s.end], "tag", True, s.modality, s.reason)
               for s in self.tagged(text)]
        c = self.config
        if c.detect_smiles:
            out.extend(self.smiles_decisions(text))
            for m in _LETTER_RUN_RE.finditer(text):  # explain why words RDKit would accept are skipped
                if rdkit_atoms(m.group(0)) > 0:
                    out.append(Decision(m.start(), m.end(), m.group(0), "smiles", False, "",
                                        "letters only: RDKit parses it, but so it does words and acronyms "
                                        "(POISON, CISCO); not a candidate"))
        if c.detect_protein:
            out.extend(self.protein_decisions(text))
        if c.detect_formula:
            out.extend(self.formula_decisions(text))
        return sorted(out, key=lambda d: (d.start, d.end))

    def detect(self, text: str) -> list[Span]:
        """Accepted spans, sorted and non-overlapping (tags > SMILES > protein/DNA > formula)."""
        spans = self.tagged(text)
        c = self.config
        auto: list[Decision] = []
        if c.detect_smiles:
            auto.extend(d for d in self.smiles_decisions(text) if d.accepted)
        if c.detect_protein:
            auto.extend(d for d in self.protein_decisions(text) if d.accepted)
        if c.detect_formula:
            auto.extend(d for d in self.formula_decisions(text) if d.accepted)
        if not auto:
            return spans
        taken = [(s.start, s.end) for s in spans]
        for d in auto:  # already in priority order: SMILES, then protein, then formula
            if all(d.end <= a or d.start >= b for a, b in taken):
                taken.append((d.start, d.end))
                spans.append(Span(d.start, d.end, d.modality, "auto", d.reason))
        return sorted(spans, key=lambda s: s.start)
