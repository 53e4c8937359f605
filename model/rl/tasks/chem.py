"""Chemistry families whose truth RDKit computes: the canonical SMILES of a randomized one, molecular weight,
formula, ring count, H-bond donors, ESOL-style solubility bins, and chemical-equation balancing (atom
balance)."""

from __future__ import annotations

import csv
import math
import random
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

from sciforge.model.rl.tasks.base import Task, TaskFamily, Verdict, check_integer, check_number

# Heavy-atom caps per difficulty (0: small molecules such as ethanol or benzene; 2: the whole pool).
HEAVY_ATOM_CAPS = (8, 16, 10**6)
# Molecular weight: answers within 0.5% or 0.1 g/mol count (rounding to one decimal, average vs. rounded
# atomic masses in textbooks).
MW_REL_TOL = 0.005
MW_ABS_TOL = 0.1
# Extra small molecules so difficulty 0 has a varied pool (the tokenizer's seed molecules are drug-sized).
SMALL_MOLECULES = [
    ("methane", "C"), ("ethanol", "CCO"), ("methanol", "CO"), ("water", "O"), ("ammonia", "N"),
    ("acetic acid", "CC(=O)O"), ("acetone", "CC(C)=O"), ("benzene", "c1ccccc1"), ("phenol", "Oc1ccccc1"),
    ("toluene", "Cc1ccccc1"), ("pyridine", "c1ccncc1"), ("cyclohexane", "C1CCCCC1"), ("glycine", "NCC(=O)O"),
    ("urea", "NC(N)=O"), ("formaldehyde", "C=O"), ("propane", "CCC"), ("ethylene glycol", "OCCO"),
    ("diethyl ether", "CCOCC"), ("acetonitrile", "CC#N"), ("furan", "c1ccoc1"), ("aniline", "Nc1ccccc1"),
    ("cyclopropane", "C1CC1"), ("isopropanol", "CC(C)O"), ("ethylamine", "CCN"), ("formic acid", "OC=O"),
    ("alanine", "CC(N)C(=O)O"), ("pyrrole", "c1cc[nH]c1"), ("thiophene", "c1ccsc1"), ("butane", "CCCC"),
    ("ethyl acetate", "CCOC(C)=O"), ("glycerol", "OCC(O)CO"), ("imidazole", "c1cnc[nH]1"),
]


def _rdkit() -> Any:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]
    return Chem


@lru_cache(maxsize=1)
def molecule_pool() -> tuple[tuple[str, str, int], ...]:
    """(name, canonical SMILES, heavy atoms) for the shipped molecules, sorted by size."""
    from sciforge.pipelines.tokenizer.seed.molecules import MOLECULES

    Chem = _rdkit()
    out: dict[str, tuple[str, str, int]] = {}
    for name, smi in [*SMALL_MOLECULES, *MOLECULES]:
        mol = Chem.MolFromSmiles(smi)
        if mol is None:
            continue
        can = Chem.MolToSmiles(mol)
        out.setdefault(can, (name, can, mol.GetNumHeavyAtoms()))
    return tuple(sorted(out.values(), key=lambda r: (r[2], r[1])))


def pick_molecule(rng: random.Random, difficulty: int) -> tuple[str, str]:
    cap = HEAVY_ATOM_CAPS[difficulty]
    pool = [m for m in molecule_pool() if m[2] <= cap]
    name, smi, _ = rng.choice(pool)
    return name, smi


# English words RDKit also reads as SMILES: "I" (iodine) in "I think it is CCO". Dropped when the
# answer holds another SMILES candidate.
PROSE_SMILES_WORDS = frozenset({"I", "A", "a"})
MAX_SMILES_CHARS = 400
# Randomized SMILES drawn before a molecule counts as having a single spelling (methane, water).
RANDOM_SMILES_TRIES = 20


def smiles_candidates(answer: str) -> list[tuple[str, Any]]:
    """(token, molecule) for every whitespace-delimited token of `answer` that RDKit parses, without the
    English words of PROSE_SMILES_WORDS when anything else parses."""
    Chem = _rdkit()
    out = []
    for raw in answer.replace("`", " ").split():
        tok = raw.strip(".,;:!?\"'")
        if tok and len(tok) <= MAX_SMILES_CHARS:
            mol = Chem.MolFromSmiles(tok)
            if mol is not None:
                out.append((tok, mol))
    if len(out) > 1:
        out = [c for c in out if c[0] not in PROSE_SMILES_WORDS] or out
    return out


def smiles_answer(answer: str) -> tuple[str, Any] | str:
    """(token, molecule) of the one molecule an answer names, else a reason: `invalid_smiles` (none parses)
    or `ambiguous_answer` (two different molecules: a hedge)."""
    cands = smiles_candidates(answer)
    if not cands:
        return "invalid_smiles"
    Chem = _rdkit()
    if len({Chem.MolToSmiles(m) for _, m in cands}) > 1:
        return "ambiguous_answer"
    return cands[-1]


def mol_from(answer: str) -> Any:
    """RDKit molecule the answer names (see `smiles_answer`), else None."""
    got = smiles_answer(answer)
    return None if isinstance(got, str) else got[1]


class SmilesCanonical(TaskFamily):
    """The prompt shows a randomized SMILES (never the canonical one) and only RDKit's canonical string is
    accepted: another spelling of the same molecule, the prompt's included, scores 0 (`not_canonical`)."""

    name = "smiles_canonical"
    description = "Write RDKit's canonical SMILES of a molecule given as a randomized SMILES (exact string)."

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        Chem = _rdkit()
        while True:
            name, smi = pick_molecule(rng, difficulty)
            mol = Chem.MolFromSmiles(smi)
            # a randomized SMILES seeded from our RNG (RDKit's doRandom would use its global RNG)
            for _ in range(RANDOM_SMILES_TRIES):
                shown = Chem.MolToRandomSmilesVect(mol, 1, randomSeed=rng.randrange(2**31))[0]
                if shown != smi:
                    prompt = f"Give the canonical SMILES (RDKit) of the molecule {shown}."
                    return prompt, smi, [], {"name": name, "shown": shown}

    def check(self, task: Task, answer: str) -> Verdict:
        cands = smiles_candidates(answer)
        if not cands:
            return Verdict(0.0, "invalid_smiles", answer)
        if len({tok for tok, _ in cands}) > 1:
            return Verdict(0.0, "ambiguous_answer", answer)
        tok, mol = cands[-1]
        if tok == task.reference:
            return Verdict(1.0, "correct", tok)
        same = _rdkit().MolToSmiles(mol) == task.reference
        return Verdict(0.0, "not_canonical" if same else "different_molecule", tok)


class MolecularWeight(TaskFamily):
    name = "mol_weight"
    description = "Average molecular weight (g/mol) of a SMILES (RDKit Descriptors.MolWt)."

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        from rdkit.Chem import Descriptors

        name, smi = pick_molecule(rng, difficulty)
        mw = Descriptors.MolWt(_rdkit().MolFromSmiles(smi))
        return f"What is the molecular weight in g/mol of {smi}? Give one decimal.", f"{mw:.1f}", [], {}

    def check(self, task: Task, answer: str) -> Verdict:
        return check_number(answer, float(task.reference), MW_REL_TOL, MW_ABS_TOL)


def parse_formula(formula: str) -> Counter[str] | None:
    """Element counts of a molecular formula such as C9H8O4, Ca(OH)2 or CuSO4·5H2O; None when invalid."""
    text = formula.strip().replace(" ", "")
    if not text or len(text) > 200 or not re.fullmatch(r"[A-Za-z0-9()\[\]·.*]+", text):
        return None
    total: Counter[str] = Counter()
    for part in re.split(r"[·.*]", text):
        m = re.match(r"^(\d*)(.*)$", part)
        assert m is not None
        mult = int(m.group(1) or 1)
        counts = _parse_group(m.group(2))
        if counts is None:
            return None
        for el, n in counts.items():
            total[el] += n * mult
    return total or None


def _parse_group(text: str) -> Counter[str] | None:
    stack: list[Counter[str]] = [Counter()]
    i = 0
    Chem = _rdkit()
    table = Chem.GetPeriodicTable()
    while i < len(text):
        ch = text[i]
        if ch in "([":
            stack.append(Counter())
            i += 1
        elif ch in ")]":
            if len(stack) == 1:
                return None
            m = re.match(r"\d*", text[i + 1 :])
            n = int(m.group(0)) if m and m.group(0) else 1
            grp = stack.pop()
            for el, c in grp.items():
                stack[-1][el] += c * n
            i += 1 + (len(m.group(0)) if m else 0)
        else:
            m = re.match(r"([A-Z][a-z]?)(\d*)", text[i:])
            if not m:
                return None
            el = m.group(1)
            try:
                if table.GetAtomicNumber(el) <= 0:
                    return None
            except RuntimeError:
                return None
            stack[-1][el] += int(m.group(2) or 1)
            i += len(m.group(0))
    if len(stack) != 1:
        return None
    return stack[0]


def parse_charged_formula(text: str) -> tuple[Counter[str], int] | None:
    """(element counts, net charge) of a formula with an optional trailing charge, as RDKit's
    CalcMolFormula writes ions: "C7H16NO2+", "C2H3O2-", "C6H5O7-3"."""
    m = re.fullmatch(r"(.*?)(?:([+-])(\d*))?", text.strip())
    if not m:
        return None
    comp = parse_formula(m.group(1))
    if comp is None:
        return None
    charge = 0 if m.group(2) is None else int(m.group(3) or 1) * (1 if m.group(2) == "+" else -1)
    return comp, charge


def formula_answer(answer: str) -> tuple[Counter[str], int] | str:
    """(element counts, charge) of the one formula an answer gives ("C2H6O", "I think it is C2H6O"), else a
    reason: `invalid_formula` (none) or `ambiguous_answer` (two different formulas). A candidate token has
    a digit or two elements, so prose words that spell one element ("He", "No", "I") are not formulas."""
    found = []
    for raw in answer.split():
        tok = raw.strip(".,;:!?\"'`")
        got = parse_charged_formula(tok) if tok else None
        if got is not None and (any(ch.isdigit() for ch in tok) or len(got[0]) >= 2):
            found.append(got)
    if not found:
        return "invalid_formula"
    if any(c != found[0] for c in found[1:]):
        return "ambiguous_answer"
    return found[0]


class MolecularFormula(TaskFamily):
    name = "mol_formula"
    description = "Molecular formula of a SMILES (RDKit CalcMolFormula); element order does not matter."

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        from rdkit.Chem import rdMolDescriptors

        _, smi = pick_molecule(rng, difficulty)
        formula = rdMolDescriptors.CalcMolFormula(_rdkit().MolFromSmiles(smi))
        return f"What is the molecular formula of {smi}?", formula, [], {}

    def check(self, task: Task, answer: str) -> Verdict:
        got = formula_answer(answer)
        if isinstance(got, str):
            return Verdict(0.0, got, answer)
        want = parse_charged_formula(task.reference)
        return Verdict(1.0, "correct", answer) if got == want else Verdict(0.0, "wrong_formula", answer)


class RingCount(TaskFamily):
    name = "ring_count"
    description = "Number of rings (SSSR) of a SMILES (RDKit CalcNumRings)."

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        from rdkit.Chem import rdMolDescriptors

        _, smi = pick_molecule(rng, difficulty)
        n = rdMolDescriptors.CalcNumRings(_rdkit().MolFromSmiles(smi))
        return f"How many rings does the molecule {smi} have?", str(n), [], {}

    def check(self, task: Task, answer: str) -> Verdict:
        return check_integer(answer, int(task.reference))


class HBondDonors(TaskFamily):
    name = "hbd"
    description = "Number of hydrogen-bond donors of a SMILES (RDKit Lipinski.NumHDonors)."

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        from rdkit.Chem import Lipinski

        _, smi = pick_molecule(rng, difficulty)
        n = Lipinski.NumHDonors(_rdkit().MolFromSmiles(smi))
        return f"How many hydrogen-bond donors does {smi} have (Lipinski definition)?", str(n), [], {}

    def check(self, task: Task, answer: str) -> Verdict:
        return check_integer(answer, int(task.reference))


# ---------------------------------------------------------------------- ESOL solubility bins
# Delaney 2004 (J. Chem. Inf. Comput. Sci. 44, 1000) ESOL model:
#   logS = 0.16 - 0.63 cLogP - 0.0062 MW + 0.066 RB - 0.74 AP   (AP = aromatic proportion of heavy atoms)
ESOL_COEF = {"intercept": 0.16, "clogp": -0.63, "mw": -0.0062, "rb": 0.066, "ap": -0.74}
# Bins on log10(S / mol L^-1), the SwissADME / Ali et al. 2012 scale collapsed to three classes.
SOLUBILITY_BINS = (("soluble", -2.0), ("moderately soluble", -4.0), ("poorly soluble", -math.inf))


def esol_logs(smiles: str) -> float:
    from rdkit.Chem import Crippen, Descriptors, Lipinski

    mol = _rdkit().MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"invalid SMILES {smiles!r}")
    heavy = max(1, mol.GetNumHeavyAtoms())
    ap = sum(a.GetIsAromatic() for a in mol.GetAtoms()) / heavy
    c = ESOL_COEF
    return (c["intercept"] + c["clogp"] * Crippen.MolLogP(mol) + c["mw"] * Descriptors.MolWt(mol)
            + c["rb"] * Lipinski.NumRotatableBonds(mol) + c["ap"] * ap)


def solubility_bin(log_s: float) -> str:
    for label, lower in SOLUBILITY_BINS:
        if log_s >= lower:
            return label
    raise AssertionError("unreachable")


@lru_cache(maxsize=1)
def generated_esol_table() -> tuple[tuple[str, float], ...]:
    """(SMILES, logS) for the shipped molecules from the ESOL equation: an ESTIMATE, for tests and demos.
    Real measurements: `EsolBins.from_csv(".../deepchem/delaney-processed.csv")`."""
    return tuple((smi, round(esol_logs(smi), 3)) for _, smi, _ in molecule_pool())


class EsolBins(TaskFamily):
    name = "esol_bin"
    description = "Aqueous solubility class (log S bins) of a molecule, ESOL / Delaney data."
    max_difficulty = 0

    def __init__(self, table: tuple[tuple[str, float], ...] | None = None) -> None:
        self.table = table if table is not None else generated_esol_table()
        if not self.table:
            raise ValueError("esol_bin needs at least one (smiles, logS) row")

    @classmethod
    def from_csv(cls, path: str | Path) -> EsolBins:
        """DeepChem's delaney-processed.csv (`smiles`, `measured log solubility in mols per litre`)."""
        rows = []
        with open(path, newline="") as fh:
            for rec in csv.DictReader(fh):
                smi = (rec.get("smiles") or "").strip()
                val = rec.get("measured log solubility in mols per litre")
                if smi and val and _rdkit().MolFromSmiles(smi) is not None:
                    rows.append((smi, float(val)))
        return cls(tuple(rows))

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        smi, log_s = rng.choice(self.table)
        labels = [b[0] for b in SOLUBILITY_BINS]
        opts = " ".join(f"{'ABC'[i]}) {lab}" for i, lab in enumerate(labels))
        prompt = (f"Classify the aqueous solubility of {smi} (log S >= -2 soluble, -4 to -2 moderately "
                  f"soluble, < -4 poorly soluble). Options: {opts}.")
        return prompt, solubility_bin(log_s), labels, {"log_s": log_s}

    shows_choices = True

    def check(self, task: Task, answer: str) -> Verdict:
        from sciforge.model.rl.tasks.choice import LETTERS, choice_letter

        letter = choice_letter(answer, task.choices)
        if letter is None:
            return Verdict(0.0, "not_a_choice", answer)
        got = task.choices[LETTERS.index(letter)]
        return Verdict(1.0, "correct", answer) if got == task.reference else Verdict(0.0, "wrong_bin", answer)


# ---------------------------------------------------------------------- equation balancing
# Unbalanced reactions (reactants, products); the balanced coefficients are computed, never stored.
REACTIONS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("H2", "O2"), ("H2O",)), (("N2", "H2"), ("NH3",)), (("Na", "Cl2"), ("NaCl",)),
    (("Mg", "O2"), ("MgO",)), (("Fe", "O2"), ("Fe2O3",)), (("Al", "O2"), ("Al2O3",)),
    (("CH4", "O2"), ("CO2", "H2O")), (("C3H8", "O2"), ("CO2", "H2O")), (("C2H6", "O2"), ("CO2", "H2O")),
    (("C6H12O6", "O2"), ("CO2", "H2O")), (("KClO3",), ("KCl", "O2")), (("H2O2",), ("H2O", "O2")),
    (("Zn", "HCl"), ("ZnCl2", "H2")), (("CaCO3",), ("CaO", "CO2")), (("Al", "HCl"), ("AlCl3", "H2")),
    (("Fe2O3", "CO"), ("Fe", "CO2")), (("C2H5OH", "O2"), ("CO2", "H2O")), (("NaOH", "H2SO4"), ("Na2SO4", "H2O")),
    (("Ca(OH)2", "HCl"), ("CaCl2", "H2O")), (("P4", "O2"), ("P4O10",)), (("SO2", "O2"), ("SO3",)),
    (("NH3", "O2"), ("NO", "H2O")), (("Cu", "HNO3"), ("Cu(NO3)2", "NO", "H2O")),
    (("KMnO4", "HCl"), ("KCl", "MnCl2", "Cl2", "H2O")), (("C8H18", "O2"), ("CO2", "H2O")),
    (("Al2(SO4)3", "Ca(OH)2"), ("Al(OH)3", "CaSO4")), (("FeS2", "O2"), ("Fe2O3", "SO2")),
)


def balance(reactants: tuple[str, ...], products: tuple[str, ...]) -> tuple[int, ...]:
    """Smallest positive integer coefficients (the 1-D null space of the composition matrix, sympy)."""
    import sympy

    species = [*reactants, *products]
    comps = [parse_formula(s) for s in species]
    if any(c is None for c in comps):
        raise ValueError(f"unparseable species in {species}")
    elements = sorted({e for c in comps for e in c})  # type: ignore[union-attr]
    rows = [[(c[e] if j < len(reactants) else -c[e]) for j, c in enumerate(comps)]  # type: ignore[index]
            for e in elements]
    null = sympy.Matrix(rows).nullspace()
    if len(null) != 1:
        raise ValueError(f"reaction {species} has no unique balance")
    vec = null[0]
    lcm = sympy.ilcm(*[sympy.fraction(v)[1] for v in vec])
    ints = [int(v * lcm) for v in vec]
    if ints[0] < 0:
        ints = [-i for i in ints]
    g = math.gcd(*ints)
    return tuple(i // g for i in ints)


def format_side(species: tuple[str, ...], coefs: tuple[int, ...] | None = None) -> str:
    return " + ".join(f"{'' if not coefs or coefs[i] == 1 else coefs[i]}{s}" for i, s in enumerate(species))


def parse_equation(text: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]] | None:
    parts = re.split(r"\s*(?:->|→|=+>?|⟶)\s*", text.strip())
    if len(parts) != 2:
        return None
    sides = []
    for side in parts:
        terms = []
        for term in side.split("+"):
            m = re.fullmatch(r"\s*(\d*)\s*([A-Za-z0-9()\[\]]+)\s*", term)
            if not m:
                return None
            terms.append((int(m.group(1) or 1), m.group(2)))
        sides.append(terms)
    return sides[0], sides[1]


class BalanceEquation(TaskFamily):
    name = "balance_equation"
    description = "Balance a chemical equation; verified by atom balance over the same species."

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        # difficulty by number of species: 0 -> 3, 1 -> 4, 2 -> any
        cap = (3, 4, 99)[difficulty]
        pool = [r for r in REACTIONS if len(r[0]) + len(r[1]) <= cap]
        reac, prod = rng.choice(pool)
        coefs = balance(reac, prod)
        ref = f"{format_side(reac, coefs[: len(reac)])} -> {format_side(prod, coefs[len(reac):])}"
        prompt = f"Balance the chemical equation: {format_side(reac)} -> {format_side(prod)}"
        return prompt, ref, [], {"reactants": list(reac), "products": list(prod)}

    def check(self, task: Task, answer: str) -> Verdict:
        eq = parse_equation(answer)
        if eq is None:
            return Verdict(0.0, "unparseable_equation", answer)
        left, right = eq
        if sorted(s for _, s in left) != sorted(task.meta["reactants"]) or sorted(
            s for _, s in right
        ) != sorted(task.meta["products"]):
            return Verdict(0.0, "different_species", answer)
        if any(c <= 0 for c, _ in left + right):
            return Verdict(0.0, "non_positive_coefficient", answer)
        atoms: Counter[str] = Counter()
        for sign, side in ((1, left), (-1, right)):
            for c, s in side:
                comp = parse_formula(s)
                if comp is None:
                    return Verdict(0.0, "invalid_formula", answer)
                for e, n in comp.items():
                    atoms[e] += sign * c * n
        if any(atoms.values()):
            return Verdict(0.0, "not_balanced", answer)
        if math.gcd(*[c for c, _ in left + right]) != 1:
            # balanced but not in lowest terms: half credit (the convention asks for the smallest integers)
            return Verdict(0.5, "not_lowest_terms", answer)
        return Verdict(1.0, "correct", answer)
