"""The task environment interface: a family generates prompts from (seed, difficulty), extracts the answer
from a model response and verifies it, returning a score in [0, 1] and a reason. Verifiers never raise:
unparseable output, invalid SMILES, timeouts and verifier bugs all score 0 with a reason."""

from __future__ import annotations

import random
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

# Responses longer than this are not parsed (a looping model can emit megabytes): score 0, `too_long`.
MAX_RESPONSE_CHARS = 4000
ANSWER_RE = re.compile(r"answer\s*[:：]\s*(.*)", flags=re.IGNORECASE)


@dataclass(frozen=True)
class Task:
    family: str
    seed: int
    difficulty: int
    prompt: str
    reference: str
    choices: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def uid(self) -> str:
        return f"{self.family}/{self.difficulty}/{self.seed}"


@dataclass(frozen=True)
class Verdict:
    score: float  # in [0, 1]
    reason: str  # "correct" or why not ("no_answer", "invalid_smiles", "timeout", "wrong_value", ...)
    answer: str | None = None  # the extracted answer

    @property
    def correct(self) -> bool:
        return self.score >= 1.0


def extract_answer(response: str) -> str | None:
    """The text after the last `Answer:` on its line; else the last non-empty line when the response is a
    single short line (a bare answer). None when nothing answer-like is there."""
    if not isinstance(response, str):
        return None
    hits = ANSWER_RE.findall(response)
    if hits:
        ans = hits[-1].strip().rstrip(".").strip()
        return ans or None
    lines = [ln.strip() for ln in response.strip().splitlines() if ln.strip()]
    if len(lines) == 1 and len(lines[0]) <= 200:
        return lines[0].rstrip(".").strip() or None
    return None


class TaskFamily(ABC):
    """One family of tasks. Subclasses set `name`, implement `make` and `check`."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    max_difficulty: ClassVar[int] = 2
    # Which reward sources score this family by default (see model.rl.mor.DEFAULT_MIXTURES).
    open_ended: ClassVar[bool] = False

    def generate(self, seed: int, difficulty: int = 0) -> Task:
        if not 0 <= difficulty <= self.max_difficulty:
            raise ValueError(f"{self.name}: difficulty {difficulty} outside [0, {self.max_difficulty}]")
        # str seeds are hashed with SHA-512 by `random.Random`: stable across processes and Python runs.
        rng = random.Random(f"{self.name}:{difficulty}:{seed}")
        prompt, reference, choices, meta = self.make(rng, difficulty)
        return Task(self.name, seed, difficulty, prompt, reference, tuple(choices), meta)

    @abstractmethod
    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        """(prompt, reference answer, choices, meta) for one task."""

    def extract(self, response: str) -> str | None:
        return extract_answer(response)

    @abstractmethod
    def check(self, task: Task, answer: str) -> Verdict:
        """Score an extracted (non-empty) answer."""

    def verify(self, task: Task, response: str) -> Verdict:
        """Never raises: every failure is a score of 0 with a reason."""
        if not isinstance(response, str):
            return Verdict(0.0, "not_text")
        if len(response) > MAX_RESPONSE_CHARS:
            return Verdict(0.0, "too_long")
        if "\ufffd" in response:
            return Verdict(0.0, "invalid_utf8")
        try:
            answer = self.extract(response)
            if answer is None:
                return Verdict(0.0, "no_answer")
            verdict = self.check(task, answer)
        except Exception as err:  # a verifier bug must not kill an RL run
            return Verdict(0.0, f"verifier_error:{type(err).__name__}")
        score = min(1.0, max(0.0, float(verdict.score)))
        return Verdict(score, verdict.reason, verdict.answer if verdict.answer is not None else answer)

    def solution(self, task: Task) -> str:
        """A correct, well-formatted response (for SFT warm-up data, reward-model pairs and tests)."""
        return f"Answer: {task.reference}"

    def format_demo(self, task: Task, rng: random.Random) -> str:
        """A well-formatted response whose answer is drawn from the family's answer distribution (the
        reference of a random other task), usually wrong: teaches the output FORMAT, not the task."""
        other = self.generate(rng.randrange(10**9), task.difficulty)
        return self.solution(other)


def parse_number(text: str) -> float | None:
    """The first number in `text` (accepts 1,234.5 / 1.2e-3 / 1.2 x 10^-3 / unicode minus)."""
    t = text.replace("\u2212", "-").replace(",", "")
    m = re.search(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:\s*(?:[eE]|[x×*]\s*10\s*\^?)\s*([-+]?\d+))?", t)
    if not m:
        return None
    mant = re.match(r"[-+]?(?:\d+\.?\d*|\.\d+)", m.group(0))
    assert mant is not None
    value = float(mant.group(0))
    if m.group(1) is not None:
        exp = int(m.group(1))
        if abs(exp) > 300:
            return None
        value *= 10.0**exp
    return value


def close_enough(got: float, want: float, rel: float, abs_tol: float) -> bool:
    return abs(got - want) <= max(abs_tol, rel * abs(want))


def check_number(answer: str, want: float, rel: float, abs_tol: float) -> Verdict:
    got = parse_number(answer)
    if got is None:
        return Verdict(0.0, "not_a_number", answer)
    if close_enough(got, want, rel, abs_tol):
        return Verdict(1.0, "correct", answer)
    return Verdict(0.0, "wrong_value", answer)


def check_integer(answer: str, want: int) -> Verdict:
    m = re.fullmatch(r"\s*([-+]?\d+)(?:\.0*)?\s*[A-Za-z ]*", answer)
    if not m:
        return Verdict(0.0, "not_an_integer", answer)
    return Verdict(1.0, "correct", answer) if int(m.group(1)) == want else Verdict(0.0, "wrong_value", answer)
