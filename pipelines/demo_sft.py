"""A small, deterministic SFT set for the demo's training chain (and anyone who wants a smoke test).

Every answer is computed, not written by hand: molecular formulas, ring counts and hydrogen-bond donors
come from RDKit, arithmetic from Python. Half the records are plain chats (``{"messages": [...]}``); the
other half are best-of-N records (``{"prompt", "candidates", "reference"}``) with one right and two wrong
candidates, so the SFT stage's verifier-driven selection (Intern-S1 treats SFT as offline RL) has real
work to do.
"""

from __future__ import annotations

import json
import random
from functools import cache
from pathlib import Path
from typing import Any

# Common molecules (name, SMILES); the facts asked about them are computed by RDKit at generation time.
MOLECULES = [
    ("water", "O"), ("methane", "C"), ("ethanol", "CCO"), ("acetic acid", "CC(=O)O"),
    ("benzene", "c1ccccc1"), ("toluene", "Cc1ccccc1"), ("phenol", "Oc1ccccc1"), ("aniline", "Nc1ccccc1"),
    ("pyridine", "c1ccncc1"), ("acetone", "CC(C)=O"), ("glycine", "NCC(=O)O"), ("urea", "NC(N)=O"),
    ("aspirin", "CC(=O)Oc1ccccc1C(=O)O"), ("caffeine", "Cn1cnc2c1c(=O)n(C)c(=O)n2C"),
    ("naphthalene", "c1ccc2ccccc2c1"), ("cyclohexane", "C1CCCCC1"), ("glucose", "OCC1OC(O)C(O)C(O)C1O"),
    ("ibuprofen", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"), ("paracetamol", "CC(=O)Nc1ccc(O)cc1"),
    ("nicotine", "CN1CCCC1c1cccnc1"), ("styrene", "C=Cc1ccccc1"), ("formaldehyde", "C=O"),
]
DEFAULT_RECORDS = 240  # enough for a few dozen packed 512-token rows: minutes of tiny-model SFT on CPU


@cache
def _facts(smiles: str) -> dict[str, str]:
    from rdkit import Chem
    from rdkit.Chem import Lipinski, rdMolDescriptors

    mol = Chem.MolFromSmiles(smiles)
    return {
        "molecular formula": rdMolDescriptors.CalcMolFormula(mol),
        "number of rings": str(rdMolDescriptors.CalcNumRings(mol)),
        "number of hydrogen-bond donors": str(Lipinski.NumHDonors(mol)),
    }


def _qa(rng: random.Random) -> tuple[str, str, list[str]]:
    """(question, answer, wrong answers)."""
    if rng.random() < 0.6:
        name, smiles = rng.choice(MOLECULES)
        facts = _facts(smiles)
        prop = rng.choice(sorted(facts))
        right = facts[prop]
        others = sorted({_facts(s)[prop] for _, s in MOLECULES} - {right})
        wrong = rng.sample(others, k=min(2, len(others)))
        return f"What is the {prop} of {name} (SMILES {smiles})?", right, wrong
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    op = rng.choice(["+", "-", "*"])
    right = str(eval(f"{a}{op}{b}"))  # noqa: S307 - two integers and one operator chosen above
    return f"Compute {a} {op} {b}.", right, [str(int(right) + 1), str(int(right) - 10)]


def sft_records(n: int = DEFAULT_RECORDS, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        q, right, wrong = _qa(rng)
        if i % 2 == 0:
            out.append({"messages": [{"role": "user", "content": q},
                                     {"role": "assistant", "content": f"Answer: {right}"}]})
        else:
            cands = [f"Answer: {w}" for w in wrong] + [f"Answer: {right}"]
            rng.shuffle(cands)
            out.append({"prompt": q, "candidates": cands, "reference": right})
    return out


def write_sft_demo(path: str | Path, n: int = DEFAULT_RECORDS, seed: int = 0) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in sft_records(n, seed)), encoding="utf-8")
    return p
