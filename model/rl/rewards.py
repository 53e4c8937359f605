"""Reward sources. Each maps (tasks, responses) to one `Reward(score, reason)` per sample and never raises.

- `RuleReward`: the task family's verifier (RDKit, sympy, numeric tolerance, atom balance, ...).
- `GenerativeVerifierReward`: a hook for any judge model (CompassVerifier-style) that answers
  "correct" / "incorrect" / "invalid"; `model_judge` turns a SciForge checkpoint into such a judge.
- `ReferenceRMReward`: the POLAR-style reward model, scoring a response relative to the task's reference.
- `FormatReward`: the response stopped on its own and carries an extractable answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sciforge.model.rl.tasks import Task, get_family

JUDGE_LABELS = ("correct", "incorrect", "invalid")
Judge = Callable[[str, str, str], str]  # (question, reference, response) -> one of JUDGE_LABELS


@dataclass(frozen=True)
class Reward:
    score: float
    reason: str


class RewardSource(Protocol):
    name: str

    def __call__(self, tasks: Sequence[Task], responses: Sequence[str], finished: Sequence[bool]) -> list[Reward]:
        ...


class RuleReward:
    name = "rule"

    def __init__(self) -> None:
        self._families: dict[str, Any] = {}

    def family(self, name: str) -> Any:
        if name not in self._families:
            self._families[name] = get_family(name)
        return self._families[name]

    def register(self, family: Any) -> None:
        """Use a configured family instance (e.g. EsolBins.from_csv) instead of the default one."""
        self._families[family.name] = family

    def __call__(self, tasks: Sequence[Task], responses: Sequence[str], finished: Sequence[bool]) -> list[Reward]:
        out = []
        for t, r in zip(tasks, responses, strict=True):
            v = self.family(t.family).verify(t, r)
            out.append(Reward(v.score, v.reason))
        return out


class FormatReward:
    name = "format"

    def __init__(self, rule: RuleReward | None = None) -> None:
        self.rule = rule or RuleReward()

    def __call__(self, tasks: Sequence[Task], responses: Sequence[str], finished: Sequence[bool]) -> list[Reward]:
        out = []
        for t, r, f in zip(tasks, responses, finished, strict=True):
            if not f:
                out.append(Reward(0.0, "no_stop"))
            elif self.rule.family(t.family).extract(r) is None:
                out.append(Reward(0.0, "no_answer"))
            else:
                out.append(Reward(1.0, "well_formed"))
        return out


class GenerativeVerifierReward:
    """correct -> 1, incorrect -> 0, invalid -> 0 (reason `judge_invalid`); anything else -> 0 with a reason."""

    name = "genverifier"

    def __init__(self, judge: Judge) -> None:
        self.judge = judge

    def __call__(self, tasks: Sequence[Task], responses: Sequence[str], finished: Sequence[bool]) -> list[Reward]:
        out = []
        for t, r in zip(tasks, responses, strict=True):
            try:
                label = str(self.judge(t.prompt, t.reference, r)).strip().lower()
            except Exception as err:  # a judge failure scores 0, the run goes on
                out.append(Reward(0.0, f"judge_error:{type(err).__name__}"))
                continue
            if label == "correct":
                out.append(Reward(1.0, "judge_correct"))
            elif label in ("incorrect", "invalid"):
                out.append(Reward(0.0, f"judge_{label}"))
            else:
                out.append(Reward(0.0, "judge_unparseable"))
        return out


def parse_judge_label(text: str) -> str:
    """First of correct / incorrect / invalid in a judge's output ("unparseable" when none)."""
    m = re.search(r"\b(incorrect|correct|invalid)\b", text.lower())
    return m.group(1) if m else "unparseable"


def model_judge(model: Any, tokenizer: Any, max_new_tokens: int = 8) -> Judge:
    """A generative verifier from any SciForge checkpoint (greedy decoding, CompassVerifier-style prompt)."""
    from sciforge.model.generate import generate
    from sciforge.model.rl.rollout import chat_prompt_ids, stop_ids

    def judge(question: str, reference: str, response: str) -> str:
        prompt = (f"Judge the response. Question: {question}\nReference answer: {reference}\n"
                  f"Response: {response[:1000]}\nReply with one word: correct, incorrect or invalid.")
        out = generate(model, [chat_prompt_ids(prompt, tokenizer)], max_new_tokens, temperature=0.0,
                       stop_token_ids=stop_ids(tokenizer))
        return parse_judge_label(tokenizer.decode(out.tokens[0]))

    return judge


class ReferenceRMReward:
    name = "reward_model"

    def __init__(self, model: Any) -> None:
        self.model = model
        self.rule = RuleReward()

    def __call__(self, tasks: Sequence[Task], responses: Sequence[str], finished: Sequence[bool]) -> list[Reward]:
        out: list[Reward | None] = [None] * len(tasks)
        idx, refs, cands = [], [], []
        for i, (t, r) in enumerate(zip(tasks, responses, strict=True)):
            ans = self.rule.family(t.family).extract(r) if isinstance(r, str) else None
            if ans is None:
                out[i] = Reward(0.0, "no_answer")
            else:
                idx.append(i)
                refs.append(t.reference)
                cands.append(ans)
        for i, s in zip(idx, self.model.score(refs, cands), strict=True):
            out[i] = Reward(float(s), "rm_score")
        return [o if o is not None else Reward(0.0, "missing") for o in out]
