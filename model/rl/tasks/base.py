"""The task environment interface: a family generates prompts from (seed, difficulty), extracts the answer
from a model response and verifies it, returning a score in [0, 1] and a reason. Verifiers never raise:
unparseable output, invalid SMILES, timeouts and verifier bugs all score 0 with a reason.

Where the answer is read (`extract_answer`): the declared places are an `<answer>...</answer>` tag and
`Answer: ...` lines; when a response declares none, its final non-empty line (if short). Prose before and
after the declared place is ignored. Declaring two different answers scores 0 (`conflicting_answers`).

No prompt contains its own answer: `TaskFamily.generate` redraws a task while any string a model could
copy from the prompt (the whole prompt, the text after its last colon, each of its words) would score
above 0 (`prompt_leaks`). Multiple-choice families show their options by design; a bare option is
exempt from that check, the whole option list is not."""

from __future__ import annotations

import random
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

# Responses longer than this are not parsed (a looping model can emit megabytes): score 0, `too_long`.
MAX_RESPONSE_CHARS = 4000
# A final line longer than this is prose, not a bare answer (the longest references, balanced equations
# and 300-residue protein answers, are far shorter than a paragraph).
MAX_BARE_ANSWER_CHARS = 200
# The text after the LAST `answer:` of a line (greedy prefix).
ANSWER_RE = re.compile(r".*answer\s*[:：]\s*(.*)", flags=re.IGNORECASE)
ANSWER_TAG_RE = re.compile(r"<answer>(.*?)</answer>", flags=re.IGNORECASE | re.DOTALL)
# Prompt generation: redraws allowed before a family is declared unable to make a leak-free task.
MAX_LEAK_REDRAWS = 64
# A standalone number: not glued to a preceding letter, digit, `]` or `)` (so the digits of C2H6O, x2 and
# the ring closures of c1ccccc1 or [nH]1 are not numbers); thousands separators only in groups of three;
# optional 1.2e-3 / 1.2 x 10^-3 exponent.
NUMBER_RE = re.compile(
    r"(?<![A-Za-z0-9_.%\])])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?<=\d)"
    r"(?:\s*(?:[eE]|[x×*]\s*10\s*\^?)\s*([-+]?\d+))?"
)


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


def _clean(text: str) -> str:
    return text.strip().rstrip(".").strip()


def _declarations(response: str) -> list[str]:
    """Every answer a response declares, empty ones included: `<answer>...</answer>` tags, then `Answer:`
    lines."""
    if not isinstance(response, str):
        return []
    out = [_clean(m) for m in ANSWER_TAG_RE.findall(response)]
    for line in ANSWER_TAG_RE.sub(" ", response).splitlines():
        m = ANSWER_RE.match(line)
        if m:
            out.append(_clean(m.group(1)))
    return out


def declared_answers(response: str) -> list[str]:
    """Every non-empty answer a response declares."""
    return [a for a in _declarations(response) if a]


def conflicting_answers(response: str) -> bool:
    return len({" ".join(a.split()) for a in declared_answers(response)}) > 1


def extract_answer(response: str) -> str | None:
    """The declared answer (tag or `Answer:` line; the same answer may be repeated), else the final
    non-empty line when it is short. None when nothing answer-like is there or the declared answers
    disagree."""
    if not isinstance(response, str):
        return None
    declarations = _declarations(response)
    if declarations:  # an answer place is declared: read it only (an empty one is no answer)
        declared = [a for a in declarations if a]
        return declared[-1] if declared and not conflicting_answers(response) else None
    lines = [ln.strip() for ln in response.strip().splitlines() if ln.strip()]
    if lines and len(lines[-1]) <= MAX_BARE_ANSWER_CHARS:
        return _clean(lines[-1]) or None
    return None


def prompt_copies(prompt: str) -> list[str]:
    """The strings a model can copy out of a prompt: the whole prompt, the text after its last colon, and
    each word (as written and without surrounding punctuation)."""
    out = [prompt.strip()]
    if ":" in prompt:
        out.append(prompt.rsplit(":", 1)[1].strip())
    for tok in prompt.split():
        out.append(tok)
        out.append(tok.strip(".,;:!?\"'"))
        out.append(tok.strip(".,;:!?\"'()"))
    seen: dict[str, None] = {}
    for c in out:
        if c:
            seen.setdefault(c, None)
    return list(seen)


class TaskFamily(ABC):
    """One family of tasks. Subclasses set `name`, implement `make` and `check`."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    max_difficulty: ClassVar[int] = 2
    # Which reward sources score this family by default (see sciforge.model.rl.mor.DEFAULT_MIXTURES).
    open_ended: ClassVar[bool] = False

    # Families that show their options (multiple choice): a bare option copied from the prompt is a guess
    # the task allows, so the leak check skips it (the whole option list still must not score).
    shows_choices: ClassVar[bool] = False

    def generate(self, seed: int, difficulty: int = 0) -> Task:
        if not 0 <= difficulty <= self.max_difficulty:
            raise ValueError(f"{self.name}: difficulty {difficulty} outside [0, {self.max_difficulty}]")
        # str seeds are hashed with SHA-512 by `random.Random`: stable across processes and Python runs.
        base = f"{self.name}:{difficulty}:{seed}"
        for draw in range(MAX_LEAK_REDRAWS):
            rng = random.Random(base if draw == 0 else f"{base}:redraw{draw}")
            prompt, reference, choices, meta = self.make(rng, difficulty)
            task = Task(self.name, seed, difficulty, prompt, reference, tuple(choices), meta)
            if not self.prompt_leaks(task):
                return task
        raise RuntimeError(f"{self.name}: no leak-free task for seed {seed} in {MAX_LEAK_REDRAWS} draws")

    def prompt_leaks(self, task: Task) -> list[str]:
        """Strings copied from the prompt that would score above 0 (empty for a fair task)."""
        if self.open_ended:  # scored against a reference the prompt does not contain, never 0/1
            return []
        options = {c.lower() for c in task.choices} | set("abcdefghij"[: len(task.choices)])
        leaks = []
        for cand in prompt_copies(task.prompt):
            if self.shows_choices and cand.strip("().:").lower() in options:
                continue
            if self.verify(task, f"Answer: {cand}").score > 0:
                leaks.append(cand)
        return leaks

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
                return Verdict(0.0, "conflicting_answers" if conflicting_answers(response) else "no_answer")
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


def _number_value(m: re.Match[str]) -> float | None:
    mant = re.match(r"[-+]?[\d,]*\.?\d*", m.group(0))
    assert mant is not None
    value = float(mant.group(0).replace(",", ""))
    if m.group(1) is not None:
        exp = int(m.group(1))
        if abs(exp) > 300:
            return None
        value *= 10.0**exp
    return value


def numbers_in(text: str) -> list[float]:
    """Every standalone number in `text` (1,234.5 / 1.2e-3 / 1.2 x 10^-3 / unicode minus), in order."""
    t = text.replace("\u2212", "-")
    out = []
    for m in NUMBER_RE.finditer(t):
        v = _number_value(m)
        if v is not None:
            out.append(v)
    return out


def single_number(answer: str) -> float | str:
    """The one number an answer gives, or the reason it gives none (`not_a_number`) or several different
    ones (`ambiguous_answer`: '46 or 78' hedges)."""
    nums = numbers_in(answer)
    if not nums:
        return "not_a_number"
    if len(set(nums)) > 1:
        return "ambiguous_answer"
    return nums[0]


def close_enough(got: float, want: float, rel: float, abs_tol: float) -> bool:
    return abs(got - want) <= max(abs_tol, rel * abs(want))


def check_number(answer: str, want: float, rel: float, abs_tol: float) -> Verdict:
    got = single_number(answer)
    if isinstance(got, str):
        return Verdict(0.0, got, answer)
    if close_enough(got, want, rel, abs_tol):
        return Verdict(1.0, "correct", answer)
    return Verdict(0.0, "wrong_value", answer)


def check_integer(answer: str, want: int) -> Verdict:
    got = single_number(answer)
    if isinstance(got, str):
        return Verdict(0.0, "not_an_integer" if got == "not_a_number" else got, answer)
    if got != int(got):
        return Verdict(0.0, "not_an_integer", answer)
    return Verdict(1.0, "correct", answer) if int(got) == want else Verdict(0.0, "wrong_value", answer)
