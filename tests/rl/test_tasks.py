"""Every task family: its own solution scores 1, a wrong answer and garbage score 0 with a reason, and
generation is deterministic in (seed, difficulty)."""

from __future__ import annotations

import random

import pytest

from sciforge.model.rl.tasks import FAMILIES, Task, extract_answer, get_family
from sciforge.model.rl.tasks.chem import EsolBins, balance, esol_logs, parse_formula
from sciforge.model.rl.tasks.safe_math import MathRejected, parse_math

GARBAGE = ["", "\x00\x01 ((((", "Answer:", "lorem ipsum " * 1000, "Answer: \ufffd\ufffd", "Answer: ]]]]///***"]


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_right_wrong_garbage(name: str) -> None:
    fam = get_family(name)
    for d in range(fam.max_difficulty + 1):
        for seed in (1, 2):
            task = fam.generate(seed, d)
            assert task == fam.generate(seed, d) and task.prompt == fam.generate(seed, d).prompt
            right = fam.verify(task, fam.solution(task))
            assert right.score == 1.0, (task, right)
            for g in GARBAGE:
                v = fam.verify(task, g)
                assert v.score < 0.5 and v.reason, (g, v)
            demo = fam.format_demo(task, random.Random(seed))
            assert fam.extract(demo) is not None  # demos are well formed


WRONG = {
    "smiles_canonical": ("Answer: CCCCCCCCCC", "different_molecule"),
    "mol_weight": ("Answer: 1.0", "wrong_value"),
    "mol_formula": ("Answer: C99H2", "wrong_formula"),
    "ring_count": ("Answer: 17", "wrong_value"),
    "hbd": ("Answer: 17", "wrong_value"),
    "esol_bin": ("Answer: Q", "not_a_choice"),
    "balance_equation": ("Answer: Xe -> Xe", "different_species"),
    "arithmetic": ("Answer: 123456", "wrong_value"),
    "algebra": ("Answer: 100", "wrong_value"),
    "unit_conversion": ("Answer: -123456", "wrong_value"),
    "protein_props": ("Answer: -5", "wrong_value"),
    "multiple_choice": ("Answer: J", "not_a_choice"),
    "copy": ("Answer: zz", "mismatch"),
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_answers_have_reasons(name: str) -> None:
    fam = get_family(name)
    task = fam.generate(3, 0)
    text, reason = WRONG[name]
    v = fam.verify(task, text)
    assert v.score == 0.0
    if name == "algebra":  # solve / expand / roots all reject 100 (different reason per kind)
        assert v.reason in ("wrong_value", "not_equivalent")
    else:
        assert v.reason == reason, v


def test_smiles_canonical_exact_and_invalid() -> None:
    fam = get_family("smiles_canonical")
    t = Task("smiles_canonical", 0, 0, "p", "CCO")
    assert fam.verify(t, "Answer: CCO").score == 1.0
    assert fam.verify(t, "Answer: OCC").reason == "not_canonical"  # the same molecule, another spelling
    assert fam.verify(t, "Answer: C(C)O").reason == "not_canonical"
    assert fam.verify(t, "Answer: C1CC").reason == "invalid_smiles"
    for seed in range(40):  # the prompt never shows the canonical string
        task = fam.generate(seed, seed % 3)
        assert task.meta["shown"] != task.reference and task.reference not in task.prompt.split()


def test_formula_and_balance() -> None:
    assert parse_formula("Ca(OH)2") == {"Ca": 1, "O": 2, "H": 2}
    assert parse_formula("CuSO4·5H2O") == {"Cu": 1, "S": 1, "O": 9, "H": 10}
    assert parse_formula("Xx2") is None and parse_formula("C((") is None
    assert balance(("H2", "O2"), ("H2O",)) == (2, 1, 2)
    assert balance(("Cu", "HNO3"), ("Cu(NO3)2", "NO", "H2O")) == (3, 8, 3, 2, 4)
    fam = get_family("balance_equation")
    t = Task("balance_equation", 0, 0, "p", "2H2 + O2 -> 2H2O", meta={"reactants": ["H2", "O2"], "products": ["H2O"]})
    assert fam.verify(t, "Answer: O2 + 2H2 -> 2H2O").score == 1.0  # order does not matter
    assert fam.verify(t, "Answer: 4H2 + 2O2 -> 4H2O").reason == "not_lowest_terms"
    assert fam.verify(t, "Answer: H2 + O2 -> H2O").reason == "not_balanced"


def test_hostile_math_scores_zero_fast() -> None:
    for bad in ("9**9**9**9", "2^(10^10)", "__import__('os')", "x" * 1000, "(" * 150 + ")" * 150,
                "lambda: 1", "[1]*10**9", "sin(" * 60 + "1" + ")" * 60):
        with pytest.raises(MathRejected):
            parse_math(bad)
    fam = get_family("algebra")
    t = fam.generate(1, 1)
    v = fam.verify(t, "Answer: x**64**64")
    assert v.score == 0.0 and v.reason == "exponent_too_large"
    ar = get_family("arithmetic")
    assert ar.verify(Task("arithmetic", 0, 0, "p", "1/2"), "Answer: 0.5").score == 1.0
    assert ar.verify(Task("arithmetic", 0, 0, "p", "1/2"), "Answer: 2/4").score == 1.0


def test_units_and_esol() -> None:
    fam = get_family("unit_conversion")
    t = Task("unit_conversion", 0, 0, "p", "5000 g", meta={"value": 5000.0, "unit": "g", "dimension": "mass"})
    assert fam.verify(t, "Answer: 5000 g").score == 1.0
    assert fam.verify(t, "Answer: 5.0e3").score == 1.0
    assert fam.verify(t, "Answer: 5000 kg").reason == "wrong_unit"
    assert fam.verify(t, "Answer: 5000 furlongs").reason == "unknown_unit"
    assert esol_logs("CCO") > esol_logs("c1ccc2ccccc2c1")  # ethanol is far more soluble than naphthalene
    with pytest.raises(ValueError):
        esol_logs("not a smiles")
    table = EsolBins(((("CCO", 1.1)),))
    task = table.generate(0)
    assert task.reference == "soluble" and table.verify(task, "Answer: A").score == 1.0


def test_extract_answer() -> None:
    assert extract_answer("blah\nAnswer: 42.") == "42"
    assert extract_answer("42") == "42"
    assert extract_answer("line one\nline two") == "line two"  # no declaration: the final line
    assert extract_answer("prose\n" + "x" * 300) is None  # a final paragraph is not a bare answer
    assert extract_answer("Working.\nAnswer: 42\nThat is all.") == "42"  # prose after the answer line
    assert extract_answer("So <answer>7</answer>, as shown.") == "7"
    assert extract_answer("Answer: 7\nLet me double check.\nAnswer: 7") == "7"  # repeated, same answer
    assert extract_answer("Answer: 7\nAnswer: 8") is None  # two different answers
    assert extract_answer("<answer>7</answer>\nAnswer: 8") is None
    assert extract_answer(None) is None  # type: ignore[arg-type]
