"""Multiple choice (periodic-table facts from RDKit, or any external question) and a copy/format family."""

from __future__ import annotations

import random
import re
from typing import Any

from sciforge.model.rl.tasks.base import Task, TaskFamily, Verdict

LETTERS = "ABCDEFGHIJ"
OPTIONS_PER_DIFFICULTY = (2, 4, 5)
ELEMENTS_PER_DIFFICULTY = (10, 36, 86)  # H..Ne, H..Kr, H..Rn


def element_table(n: int) -> list[tuple[int, str, str]]:
    """(atomic number, symbol, English name) for elements 1..n, from RDKit's periodic table."""
    from rdkit import Chem

    from sciforge.model.rl.tasks.elements import ELEMENT_NAMES

    pt = Chem.GetPeriodicTable()
    return [(z, pt.GetElementSymbol(z), ELEMENT_NAMES[z - 1]) for z in range(1, n + 1)]


def choice_letter(answer: str, choices: tuple[str, ...] | list[str]) -> str | None:
    """The option an answer picks: a letter ("B", "(b)", "B)"), a letter with its own option's text
    ("B) Iron"), or an option's exact text ("Iron"); else None. A second option, a letter with another
    option's text, or the option list copied whole is no pick."""
    a = answer.strip()
    n = len(choices)
    m = re.fullmatch(r"\(?([A-Ja-j])\)?(?:\s*[).:]?\s+|[).:])?(.*)", a, flags=re.DOTALL)
    if m and LETTERS.index(m.group(1).upper()) < n:
        letter = m.group(1).upper()
        rest = m.group(2).strip().rstrip(".").strip().lower()
        if not rest or rest == choices[LETTERS.index(letter)].strip().lower():
            return letter
    low = a.rstrip(".").strip().lower()
    for i, text in enumerate(choices):
        if text and text.strip().lower() == low:
            return LETTERS[i]
    return None


def format_choices(choices: list[str] | tuple[str, ...]) -> str:
    return " ".join(f"{LETTERS[i]}) {c}" for i, c in enumerate(choices))


class MultipleChoice(TaskFamily):
    name = "multiple_choice"
    description = "Multiple-choice questions on element symbols, names and atomic numbers (answer: letter)."
    shows_choices = True

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        table = element_table(ELEMENTS_PER_DIFFICULTY[difficulty])
        k = OPTIONS_PER_DIFFICULTY[difficulty]
        picked = rng.sample(table, k)
        right = rng.randrange(k)
        z, sym, name = picked[right]
        kind = rng.choice(("name_of_symbol", "symbol_of_name", "number_of_name"))
        if kind == "name_of_symbol":
            q, opts = f"Which element has the symbol {sym}?", [p[2] for p in picked]
        elif kind == "symbol_of_name":
            q, opts = f"What is the chemical symbol of {name}?", [p[1] for p in picked]
        else:
            q, opts = f"What is the atomic number of {name}?", [str(p[0]) for p in picked]
        prompt = f"{q} Options: {format_choices(opts)}. Answer with the letter."
        return prompt, LETTERS[right], opts, {"kind": kind}

    def check(self, task: Task, answer: str) -> Verdict:
        letter = choice_letter(answer, task.choices)
        if letter is None:
            return Verdict(0.0, "not_a_choice", answer)
        return Verdict(1.0, "correct", letter) if letter == task.reference else Verdict(0.0, "wrong_choice", letter)

    def format_demo(self, task: Task, rng: random.Random) -> str:
        return f"Answer: {LETTERS[rng.randrange(len(task.choices))]}"


class CopyFormat(TaskFamily):
    """Instruction following at its simplest: rewrite a string in lowercase, exactly. The answer is never
    the string shown (copying the prompt scores 0). Difficulty 0 draws from four letters, so an untrained
    policy that has learned the output format already scores ~1/4 (the RL smoke family)."""

    name = "copy"
    description = "Rewrite a letter / element symbol / SMILES in lowercase, exactly (instruction following)."

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        if difficulty == 0:
            target = rng.choice("ABCD")
        elif difficulty == 1:
            target = rng.choice(element_table(36))[1]
        else:
            from sciforge.model.rl.tasks.chem import molecule_pool

            # SMILES already in lowercase (benzene's c1ccccc1) would be their own answer
            target = rng.choice([m[1] for m in molecule_pool() if m[1].lower() != m[1]])
        return f"Write in lowercase: {target}", target.lower(), [], {"shown": target}

    def check(self, task: Task, answer: str) -> Verdict:
        return Verdict(1.0, "correct", answer) if answer.strip() == task.reference else Verdict(0.0, "mismatch", answer)
