"""SMILES units: the standard atom-level regex and a few chemistry facts the detectors use."""

from __future__ import annotations

import re

# The SMILES atom regex of Schwaller et al., "Molecular Transformer" (ACS Cent. Sci. 2019), used by
# most SMILES language models: bracket atoms, two-letter organic atoms, aromatic atoms, bonds,
# branches, ring closures (incl. %nn). A final catch-all `.` makes the split total: every character
# of any input belongs to exactly one unit, so units always re-join to the input (lossless).
SMILES_UNIT_PATTERN = (
    r"\[[^\[\]\s]{1,16}\]|Br|Cl|N|O|S|P|F|I|B|C|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$"
    r"|%[0-9]{2}|[0-9]|."
)
SMILES_UNIT_RE = re.compile(SMILES_UNIT_PATTERN, re.DOTALL)

# Element symbols of the periodic table (IUPAC 2016, Z = 1..118): used to validate formulas.
ELEMENTS = frozenset(
    """H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br
    Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er
    Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md
    No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og""".split()
)


def smiles_units(s: str) -> list[str]:
    """Split any string into SMILES units; ``"".join(smiles_units(s)) == s`` always."""
    return SMILES_UNIT_RE.findall(s)


def count_units(s: str) -> int:
    return len(SMILES_UNIT_RE.findall(s))

# Common oxidation states (the usual ones of general-chemistry tables) of the elements a formula written in
# running text plausibly holds. A formula must balance with them (see detect.formula_plausibility); an
# element missing here (noble gases, most lanthanides and actinides, superheavy elements) makes a string
# an implausible prose formula. Carbon is handled apart: in organic formulas it takes any state.
OXIDATION_STATES: dict[str, tuple[int, ...]] = {
    "H": (1, -1), "Li": (1,), "Be": (2,), "B": (3,), "C": (-4, 2, 4), "N": (-3, 1, 2, 3, 4, 5),
    "O": (-2, -1), "F": (-1,), "Na": (1,), "Mg": (2,), "Al": (3,), "Si": (4, -4), "P": (-3, 3, 5),
    "S": (-2, 2, 4, 6), "Cl": (-1, 1, 3, 5, 7), "K": (1,), "Ca": (2,), "Sc": (3,), "Ti": (2, 3, 4),
    "V": (2, 3, 4, 5), "Cr": (2, 3, 6), "Mn": (2, 3, 4, 6, 7), "Fe": (2, 3), "Co": (2, 3), "Ni": (2,),
    "Cu": (1, 2), "Zn": (2,), "Ga": (3,), "Ge": (2, 4), "As": (-3, 3, 5), "Se": (-2, 4, 6),
    "Br": (-1, 1, 3, 5), "Rb": (1,), "Sr": (2,), "Y": (3,), "Zr": (4,), "Nb": (5,), "Mo": (4, 6),
    "Ru": (3, 4), "Rh": (3,), "Pd": (2, 4), "Ag": (1,), "Cd": (2,), "In": (3,), "Sn": (2, 4),
    "Sb": (-3, 3, 5), "Te": (-2, 4, 6), "I": (-1, 1, 5, 7), "Xe": (2, 4, 6), "Cs": (1,), "Ba": (2,),
    "La": (3,), "Ce": (3, 4), "Nd": (3,), "Eu": (2, 3), "Gd": (3,), "Hf": (4,), "Ta": (5,), "W": (4, 6),
    "Re": (4, 7), "Os": (4, 8), "Ir": (3, 4), "Pt": (2, 4), "Au": (1, 3), "Hg": (1, 2), "Tl": (1, 3),
    "Pb": (2, 4), "Bi": (3,), "U": (4, 6),
}
HALOGENS = frozenset({"F", "Cl", "Br", "I"})
