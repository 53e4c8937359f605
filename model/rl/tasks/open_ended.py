"""Open-ended scientific explanations: no rule can verify them, so the reward model scores the response
against the reference answer (POLAR-style, `sciforge.model.rl.reward_model`). The family's own `check` is a lexical
proxy (token F1 against the reference) used only where no reward model is configured."""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

from sciforge.model.rl.tasks.base import Task, TaskFamily, Verdict

# (question, reference answer) pairs written for this project.
QA: tuple[tuple[str, str], ...] = (
    ("Why does ice float on water?",
     "Ice is less dense than liquid water because hydrogen bonds hold its molecules in an open hexagonal lattice."),
    ("What does a catalyst do in a chemical reaction?",
     "A catalyst lowers the activation energy and speeds up the reaction without being consumed."),
    ("Why is the sky blue?",
     "Air molecules scatter short blue wavelengths of sunlight more strongly than red ones (Rayleigh scattering)."),
    ("What is the role of ATP in cells?",
     "ATP stores chemical energy in its phosphate bonds and releases it to power cellular work."),
    ("Why do noble gases rarely react?",
     "Noble gases have full valence electron shells, so gaining or losing electrons costs much energy."),
    ("What is an isotope?",
     "Isotopes are atoms of the same element with the same number of protons but different numbers of neutrons."),
    ("Why does salt lower the freezing point of water?",
     "Dissolved ions disrupt ice formation, a colligative effect that depends on the number of solute particles."),
    ("What does DNA polymerase do?",
     "DNA polymerase copies DNA by adding nucleotides complementary to the template strand."),
    ("What is a buffer solution?",
     "A buffer is a weak acid with its conjugate base that resists changes in pH when acid or base is added."),
    ("Why does a metal conduct electricity?",
     "Metals have delocalized electrons that move freely through the lattice and carry charge."),
    ("What is entropy?",
     "Entropy measures the number of microscopic arrangements of a system; isolated systems tend toward higher entropy."),
    ("What is photosynthesis?",
     "Photosynthesis uses light energy to turn carbon dioxide and water into glucose and oxygen in chloroplasts."),
    ("Why is carbon able to form so many compounds?",
     "Carbon forms four stable covalent bonds and long chains and rings with itself."),
    ("What is an enzyme's active site?",
     "The active site is the pocket of an enzyme where the substrate binds and the reaction is catalysed."),
    ("What is the difference between an acid and a base?",
     "An acid donates protons and a base accepts protons, in the Bronsted-Lowry definition."),
    ("What causes the seasons on Earth?",
     "The tilt of Earth's axis changes the angle and duration of sunlight over the year."),
    ("Why do proteins denature when heated?",
     "Heat breaks the weak hydrogen bonds and interactions that hold the folded structure, so the protein unfolds."),
    ("What is a chiral molecule?",
     "A chiral molecule is not superimposable on its mirror image, usually because of a carbon with four different groups."),
    ("What is oxidation?",
     "Oxidation is the loss of electrons by an atom or molecule, paired with a reduction elsewhere."),
    ("Why does pressure rise when a gas is heated in a closed container?",
     "Faster molecules hit the walls more often and harder, so the pressure rises with temperature."),
    ("What does a mass spectrometer measure?",
     "A mass spectrometer measures the mass-to-charge ratio of ions to identify molecules."),
    ("What is a mutation?",
     "A mutation is a change in the DNA sequence, such as a substitution, insertion or deletion."),
    ("What is electronegativity?",
     "Electronegativity is the tendency of an atom to attract shared electrons in a bond."),
    ("Why is water a good solvent?",
     "Water is polar and forms hydrogen bonds, so it surrounds and separates ions and polar molecules."),
)
PASS_THRESHOLD = 0.5  # a reward-model score >= 0.5 counts as a pass in evaluation


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def token_f1(a: str, b: str) -> float:
    wa, wb = Counter(words(a)), Counter(words(b))
    common = sum((wa & wb).values())
    if not common:
        return 0.0
    p, r = common / sum(wa.values()), common / sum(wb.values())
    return 2 * p * r / (p + r)


class OpenEnded(TaskFamily):
    name = "open_ended"
    description = "Explain a scientific concept in one or two sentences (scored by the reward model)."
    max_difficulty = 0
    open_ended = True
    pass_threshold = PASS_THRESHOLD

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        q, ref = rng.choice(QA)
        return f"{q} Explain briefly.", ref, [], {"question": q}

    def extract(self, response: str) -> str | None:
        text = re.sub(r"^\s*answer\s*[:：]\s*", "", response.strip(), flags=re.IGNORECASE)
        return text if words(text) else None

    def solution(self, task: Task) -> str:
        return task.reference

    def check(self, task: Task, answer: str) -> Verdict:
        score = token_f1(answer, task.reference)
        return Verdict(score, "overlap", answer)
