"""Task families (the RL environments). `get_family(name)` / `FAMILIES` / `make_tasks(...)`."""

from __future__ import annotations

from collections.abc import Sequence

from sciforge.model.rl.tasks.base import Task, TaskFamily, Verdict, extract_answer
from sciforge.model.rl.tasks.chem import (
    BalanceEquation,
    EsolBins,
    HBondDonors,
    MolecularFormula,
    MolecularWeight,
    RingCount,
    SmilesCanonical,
)
from sciforge.model.rl.tasks.choice import CopyFormat, MultipleChoice
from sciforge.model.rl.tasks.numeric import Algebra, Arithmetic, UnitConversion
from sciforge.model.rl.tasks.open_ended import OpenEnded
from sciforge.model.rl.tasks.protein import ProteinProperties

FAMILIES: dict[str, type[TaskFamily]] = {
    f.name: f
    for f in (SmilesCanonical, MolecularWeight, MolecularFormula, RingCount, HBondDonors, EsolBins,
              BalanceEquation, Arithmetic, Algebra, UnitConversion, ProteinProperties, MultipleChoice,
              CopyFormat, OpenEnded)
}


def get_family(name: str) -> TaskFamily:
    if name not in FAMILIES:
        raise ValueError(f"unknown task family {name!r}; known: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]()


def make_tasks(family: TaskFamily, seeds: Sequence[int], difficulty: int) -> list[Task]:
    return [family.generate(s, difficulty) for s in seeds]


__all__ = ["FAMILIES", "Task", "TaskFamily", "Verdict", "extract_answer", "get_family", "make_tasks"]
