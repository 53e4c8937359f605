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
