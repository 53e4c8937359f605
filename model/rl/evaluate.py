"""Evaluation: pass@1 and pass@k per task family on held-out seeds, and local JSONL benchmarks.

pass@k uses the unbiased estimator of Chen et al. 2021 (Codex): with n samples of which c pass,
pass@k = 1 - C(n-c, k) / C(n, k); here n = k samples per prompt, so pass@1 = c / n and pass@k = [c > 0].

JSONL benchmark records (one per line)::

    {"question": "...", "choices": ["...", "..."], "answer": "B", "verifier": "choice"}
    {"question": "...", "answer": "CCO", "verifier": "smiles"}

verifier kinds: choice (answer = letter or option text), exact, number (1% relative tolerance),
smiles (RDKit canonical equivalence), formula (element counts), math (sympy equivalence). A malformed
record is counted under `invalid_records` with its line number and reason; it never stops the run.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sciforge.model.rl.rollout import rollout
from sciforge.model.rl.tasks import Task, TaskFamily, Verdict, extract_answer, get_family
from sciforge.model.rl.tasks.base import check_number
from sciforge.model.rl.tasks.chem import formula_answer, parse_charged_formula, smiles_answer
from sciforge.model.rl.tasks.choice import LETTERS, choice_letter, format_choices
from sciforge.model.rl.tasks.safe_math import MathRejected, equivalent, parse_math
from sciforge.model.rl.trainer import EVAL_SEED_BASE

NUMBER_REL_TOL = 0.01  # JSONL "number" answers within 1%


def pass_at_k(n: int, c: int, k: int) -> float:
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def parse_task_spec(spec: str) -> tuple[str, int]:
    """"family" or "family@difficulty"."""
    name, _, diff = spec.partition("@")
    try:
        return name.strip(), int(diff) if diff else 0
    except ValueError as err:
        raise ValueError(f"bad task spec {spec!r}: use family or family@difficulty") from err


def _score_all(model: Any, tokenizer: Any, tasks: list[Task], verify: Callable[[Task, str], Verdict], k: int,
               max_new_tokens: int, temperature: float, batch_prompts: int,
               pass_threshold: float) -> tuple[list[int], Counter[str]]:
    passes: list[int] = []
    reasons: Counter[str] = Counter()
    for i in range(0, len(tasks), batch_prompts):
        part = tasks[i : i + batch_prompts]
        batch = rollout(model, tokenizer, part, k, max_new_tokens, temperature, 1.0)
        for g in range(len(part)):
            c = 0
            for j in range(g * k, (g + 1) * k):
                v = verify(batch.tasks[j], batch.texts[j])
                reasons[v.reason] += 1
                c += v.score >= pass_threshold
            passes.append(c)
    return passes, reasons


def _summary(passes: list[int], k: int, reasons: Counter[str]) -> dict[str, Any]:
    n = len(passes)
    return {
        "prompts": n,
        "samples_per_prompt": k,
        "pass@1": sum(pass_at_k(k, c, 1) for c in passes) / n if n else float("nan"),
        f"pass@{k}": sum(pass_at_k(k, c, k) for c in passes) / n if n else float("nan"),
        "reasons": dict(sorted(reasons.items())),
    }


def evaluate_families(model: Any, tokenizer: Any, specs: Sequence[str], seeds: Sequence[int], k: int,
                      max_new_tokens: int = 32, temperature: float = 1.0, batch_prompts: int = 8,
                      reward_model: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in specs:
        name, diff = parse_task_spec(spec)
        fam = get_family(name)
        tasks = [fam.generate(s, diff) for s in seeds]
        verify: Callable[[Task, str], Verdict] = fam.verify
        threshold = float(getattr(fam, "pass_threshold", 1.0))
        if fam.open_ended and reward_model is not None:
            verify = _rm_verifier(fam, reward_model)
        passes, reasons = _score_all(model, tokenizer, tasks, verify, k, max_new_tokens, temperature,
                                     batch_prompts, threshold)
        out[f"{name}@{diff}"] = _summary(passes, k, reasons)
    return out


def _rm_verifier(fam: TaskFamily, rm: Any) -> Callable[[Task, str], Verdict]:
    def verify(task: Task, response: str) -> Verdict:
        ans = fam.extract(response) if isinstance(response, str) else None
        if ans is None:
            return Verdict(0.0, "no_answer")
        return Verdict(rm.score([task.reference], [ans])[0], "rm_score", ans)

    return verify


# ---------------------------------------------------------------------- JSONL benchmarks
def _check_jsonl(task: Task, response: str) -> Verdict:
    kind = task.meta["verifier"]
    ans = extract_answer(response)
    if ans is None:
        return Verdict(0.0, "no_answer")
    want = task.reference
    try:
        if kind == "choice":
            got = choice_letter(ans, task.choices)
            if got is None:
                return Verdict(0.0, "not_a_choice", ans)
            ref = choice_letter(want, task.choices) or want
            return Verdict(float(got == ref), "correct" if got == ref else "wrong_choice", ans)
        if kind == "exact":
            ok = " ".join(ans.lower().split()) == " ".join(want.lower().split())
            return Verdict(float(ok), "correct" if ok else "mismatch", ans)
        if kind == "number":
            return check_number(ans, float(want), NUMBER_REL_TOL, 1e-9)
        if kind == "smiles":
            from rdkit import Chem

            named, want_m = smiles_answer(ans), Chem.MolFromSmiles(want)
            if isinstance(named, str):
                return Verdict(0.0, named, ans)
            got_m = named[1]
            ok = want_m is not None and Chem.MolToSmiles(got_m) == Chem.MolToSmiles(want_m)
            return Verdict(float(ok), "correct" if ok else "different_molecule", ans)
        if kind == "formula":
            got_f = formula_answer(ans)
            if isinstance(got_f, str):
                return Verdict(0.0, got_f, ans)
            ok = got_f == parse_charged_formula(want)
            return Verdict(float(ok), "correct" if ok else "wrong_formula", ans)
        if kind == "math":
            ok = equivalent(parse_math(ans), parse_math(want))
            return Verdict(float(ok), "correct" if ok else "not_equivalent", ans)
    except MathRejected as err:
        return Verdict(0.0, err.reason, ans)
    except Exception as err:  # a verifier failure is a 0 with a reason, never a crash
        return Verdict(0.0, f"verifier_error:{type(err).__name__}", ans)
    return Verdict(0.0, "unknown_verifier", ans)


JSONL_VERIFIERS = ("choice", "exact", "number", "smiles", "formula", "math")


def load_jsonl_benchmark(path: str | Path) -> tuple[list[Task], list[dict[str, Any]]]:
    tasks: list[Task] = []
    invalid: list[dict[str, Any]] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            invalid.append({"line": n, "reason": "not_json"})
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("question"), str) or "answer" not in rec:
            invalid.append({"line": n, "reason": "missing_question_or_answer"})
            continue
        choices = rec.get("choices") or []
        kind = rec.get("verifier") or ("choice" if choices else "exact")
        if kind not in JSONL_VERIFIERS:
            invalid.append({"line": n, "reason": f"unknown_verifier:{kind}"})
            continue
        if kind == "choice" and not (isinstance(choices, list) and 2 <= len(choices) <= len(LETTERS)):
            invalid.append({"line": n, "reason": "choice_needs_2_to_10_choices"})
            continue
        prompt = rec["question"]
        if choices:
            prompt += f" Options: {format_choices([str(c) for c in choices])}. Answer with the letter."
        tasks.append(Task(f"jsonl:{kind}", n, 0, prompt, str(rec["answer"]), tuple(str(c) for c in choices),
                          {"verifier": kind}))
    return tasks, invalid


def evaluate_jsonl(model: Any, tokenizer: Any, path: str | Path, k: int, max_new_tokens: int = 32,
                   temperature: float = 1.0, batch_prompts: int = 8) -> dict[str, Any]:
    tasks, invalid = load_jsonl_benchmark(path)
    passes, reasons = _score_all(model, tokenizer, tasks, _check_jsonl, k, max_new_tokens, temperature,
                                 batch_prompts, 1.0)
    out = _summary(passes, k, reasons)
    out["invalid_records"] = invalid
    return out


def eval_seeds(n: int, base: int = EVAL_SEED_BASE) -> list[int]:
    """Held-out seeds: training prompts use seeds below `EVAL_SEED_BASE`."""
    return list(range(base, base + n))
