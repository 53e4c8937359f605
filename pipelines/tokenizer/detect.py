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

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from pipelines.tokenizer.config import TAGS, DetectorConfig
from pipelines.tokenizer.smiles import ELEMENTS, count_units

# -- SMILES candidates ------------------------------------------------------------------------
_SMILES_CHARS = r"A-Za-z0-9@+\-\[\]()=#$%/\\.*"
# A candidate starts where a run of SMILES characters starts, has at least one character that words
# never have (ring digit, branch, bond, bracket, chirality, stereo bond) and is at least `n` long: this
# keeps the regex (C speed) from handing every word of prose to Python.
_CAND_TEMPLATE = (
    r"(?<![{c}])(?=[{c}]{{{n},}})(?=[{c}]*?[0-9()=#\[\]@/\\])"
    r"(?:\[[^\[\]\s]{{1,16}}\]|[{c}])++"
)
_BRACKET_RE = re.compile(r"\[[^\[\]]*\]")
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
_SMILES_TABLE = _table({b"L": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+-.*$%:", b"X": "0123456789()=#[]@/\\"})
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
        c = self.config
        for m in self._cand_re.finditer(text, a, b):
            raw = m.group(0)
            lt, rt = _strip_candidate(raw)
            s = raw[lt:rt]
            start, end = m.start() + lt, m.start() + rt

            def rej(reason: str, s: str = s, start: int = start, end: int = end) -> Decision:
                return Decision(start, end, s, "smiles", False, "", reason)

            if not s:
                continue
            units = count_units(s)
            letters = sum(ch.isalpha() for ch in _BRACKET_RE.sub("C", s))
            if units < c.smiles_min_units:
                yield rej(f"too short: {units} SMILES units < {c.smiles_min_units}")
            elif letters < c.smiles_min_letters:
                yield rej(f"too few letters: {letters} < {c.smiles_min_letters}")
            elif len(s) > c.smiles_max_chars:
                yield rej(f"too long for automatic detection: {len(s)} chars > {c.smiles_max_chars}")
            elif "**" in s:
                yield rej("run of '*' (RDKit reads '*' as a dummy atom)")
            elif "//" in s or "www" in s.lower() or "http" in s.lower():
                yield rej("URL or path")
            elif formula_elements(s, c.formula_min_elements):
                yield rej("chemical formula, not SMILES")
            elif any(set(w) - _AROMATIC for w in _WORDISH_RE.findall(_BRACKET_RE.sub("", s))):
                yield rej("contains a lower-case word (English or IUPAC name)")
            elif not re.search(r"[0-9()=#\[\]@/\\]", _BRACKET_RE.sub("", s)) and "[" not in s:
                yield rej("letters only: indistinguishable from words and acronyms (POISON, CISCO)")
            else:
                n = rdkit_atoms(s)
                if n < 0:
                    yield rej("RDKit cannot parse it as a molecule")
                elif n < 2:
                    yield rej("RDKit parses fewer than 2 atoms")
                else:
                    yield Decision(start, end, s, "smiles", True, "smiles", f"valid SMILES: RDKit parses {n} atoms")

    # proteins ------------------------------------------------------------------------------
    def protein_decisions(self, text: str) -> Iterator[Decision]:
        c = self.config
        tb = _class_bytes(text, _PROTEIN_TABLE)
        if b"A" * c.protein_min_residues not in tb and b"AAAAAAAAAA_AAAAAAAAAA_" not in tb:
            return  # no run that long: nothing for the regex to find
        for m in self._protein_re.finditer(text):
            s = m.group(0)
            letters = [ch for ch in s if ch.isalpha()]
            distinct = len(set(letters))
            nuc = sum(ch in _NUCLEOTIDE for ch in letters) / len(letters)
            if distinct < _DNA_MIN_DISTINCT:
                yield Decision(m.start(), m.end(), s, "protein", False, "",
                               f"low complexity: {distinct} distinct letters")
            elif nuc >= c.dna_min_fraction:
                yield Decision(m.start(), m.end(), s, "protein", True, "dna",
                               f"nucleic acid: {nuc:.0%} of letters are A/C/G/T/U/N")
            elif (ou := sum(ch in "OU" for ch in letters) / len(letters)) > c.protein_max_ou_fraction:
                yield Decision(m.start(), m.end(), s, "protein", False, "",
                               f"English-like: {ou:.0%} O/U letters (rare residues) > {c.protein_max_ou_fraction:.0%}")
            elif distinct < c.protein_min_distinct:
                yield Decision(m.start(), m.end(), s, "protein", False, "",
                               f"low complexity: {distinct} distinct letters < {c.protein_min_distinct}")
            else:
                yield Decision(m.start(), m.end(), s, "protein", True, "protein",
                               f"protein: {len(letters)} residues, {distinct} distinct, {nuc:.0%} A/C/G/T")

    # formulas --------------------------------------------------------------------------------
    def formula_decisions(self, text: str) -> Iterator[Decision]:
        tb = _class_bytes(text, _FORMULA_TABLE)
        runs = [(a, b) for a, b in _runs(tb, b"d", 2) if any(x in tb[a:b] for x in (b"Ud", b"Uld", b")d"))]
        for m in (m for a, b in runs for m in _FORMULA_RE.finditer(text, a, b)):
            n = formula_elements(m.group(0), self.config.formula_min_elements)
            if n:
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
