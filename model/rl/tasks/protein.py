"""Protein sequence properties: length, residue counts, average molecular weight."""

from __future__ import annotations

import random
from typing import Any

from sciforge.model.rl.tasks.base import Task, TaskFamily, Verdict, check_integer, check_number

# Average residue masses (Da) and water, as ExPASy ProtParam computes the average molecular weight.
RESIDUE_MASS = {
    "A": 71.0788, "R": 156.1875, "N": 114.1038, "D": 115.0886, "C": 103.1388, "E": 129.1155, "Q": 128.1307,
    "G": 57.0519, "H": 137.1411, "I": 113.1594, "L": 113.1594, "K": 128.1741, "M": 131.1926, "F": 147.1766,
    "P": 97.1167, "S": 87.0782, "T": 101.1051, "W": 186.2132, "Y": 163.1760, "V": 99.1326,
}
WATER = 18.01524
PROTEIN_MW_REL_TOL = 0.005  # 0.5%: ProtParam vs. other average-mass tables differ by < 0.1%
LENGTHS = ((8, 20), (30, 80), (100, 300))  # per difficulty
NAMES = {"A": "alanine", "R": "arginine", "N": "asparagine", "D": "aspartate", "C": "cysteine",
         "E": "glutamate", "Q": "glutamine", "G": "glycine", "H": "histidine", "I": "isoleucine",
         "L": "leucine", "K": "lysine", "M": "methionine", "F": "phenylalanine", "P": "proline",
         "S": "serine", "T": "threonine", "W": "tryptophan", "Y": "tyrosine", "V": "valine"}


def protein_mw(seq: str) -> float:
    bad = set(seq) - set(RESIDUE_MASS)
    if bad:
        raise ValueError(f"non-standard residues {sorted(bad)}")
    return sum(RESIDUE_MASS[r] for r in seq) + WATER


class ProteinProperties(TaskFamily):
    name = "protein_props"
    description = "Length, residue count or average molecular weight of a protein sequence."

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        from sciforge.pipelines.tokenizer.default import AA_COMPOSITION

        lo, hi = LENGTHS[difficulty]
        residues, weights = zip(*sorted(AA_COMPOSITION.items()), strict=True)
        seq = "M" + "".join(rng.choices(residues, weights, k=rng.randint(lo, hi) - 1))
        kind = rng.choice(("length", "count", "mw"))
        if kind == "length":
            return f"How many residues long is the protein {seq}?", str(len(seq)), [], {"kind": kind}
        if kind == "count":
            aa = rng.choice(sorted(set(seq)))
            prompt = f"How many {NAMES[aa]} ({aa}) residues are in {seq}?"
            return prompt, str(seq.count(aa)), [], {"kind": kind}
        prompt = f"What is the average molecular weight in Da of the protein {seq}? Give one decimal."
        return prompt, f"{protein_mw(seq):.1f}", [], {"kind": kind}

    def check(self, task: Task, answer: str) -> Verdict:
        if task.meta.get("kind") == "mw":
            return check_number(answer, float(task.reference), PROTEIN_MW_REL_TOL, 0.1)
        return check_integer(answer, int(task.reference))
