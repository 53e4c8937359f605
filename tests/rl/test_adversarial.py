"""Reward hacking, family by family: copying the prompt, answering in prose, answering twice (the same
answer, two different answers, a hedge in one line), empty and huge responses must score as intended."""

from __future__ import annotations

import pytest

from sciforge.model.rl.tasks import FAMILIES, Task, TaskFamily, get_family
from sciforge.model.rl.tasks.base import MAX_RESPONSE_CHARS, prompt_copies
from sciforge.model.rl.tasks.chem import mol_from, smiles_answer
from sciforge.model.rl.tasks.open_ended import PASS_THRESHOLD

SEEDS = range(6)
RULE_FAMILIES = sorted(n for n in FAMILIES if not get_family(n).open_ended)


def _tasks(fam: TaskFamily) -> list[Task]:
    return [fam.generate(seed, d) for d in range(fam.max_difficulty + 1) for seed in SEEDS]


def _answer_line(fam: TaskFamily, task: Task) -> str:
    """The family's correct answer as written after `Answer:`."""
    sol = fam.solution(task)
    assert sol.startswith("Answer: "), sol
    return sol.removeprefix("Answer: ")


def _wrong_answer(fam: TaskFamily, task: Task) -> str:
    """A well-formed answer that is wrong for `task`: the answer of another task of the family."""
    for seed in range(1000, 1200):
        other = fam.generate(seed, task.difficulty)
        text = _answer_line(fam, other)
        if fam.verify(task, f"Answer: {text}").score == 0:
            return text
    raise AssertionError(f"no wrong answer found for {task}")


@pytest.mark.parametrize("name", RULE_FAMILIES)
def test_copying_the_prompt_scores_zero(name: str) -> None:
    fam = get_family(name)
    for task in _tasks(fam):
        assert fam.prompt_leaks(task) == []
        assert fam.verify(task, task.prompt).score == 0, task  # the prompt as the response (final line)
        assert fam.verify(task, f"Answer: {task.prompt}").score == 0, task
        for cand in prompt_copies(task.prompt):
            bare = cand.strip("().:").lower()
            if fam.shows_choices and bare in {c.lower() for c in task.choices} | set("abcdefghij"):
                continue  # one option of a multiple-choice question: a guess, not a copy of the answer
            v = fam.verify(task, f"Answer: {cand}")
            assert v.score == 0, (task.prompt, cand, v)


@pytest.mark.parametrize("name", RULE_FAMILIES)
def test_answer_in_prose_counts(name: str) -> None:
    fam = get_family(name)
    for task in _tasks(fam):
        ans = _answer_line(fam, task)
        for response in (
            f"Let me think about it.\nThe question: {task.prompt}\nAnswer: {ans}\nI am fairly sure.",
            f"Some reasoning first. So the result is <answer>{ans}</answer>, which I checked twice.",
            f"Step 1: read the question.\nStep 2: work it out.\n{ans}",  # no declaration: the final line
        ):
            v = fam.verify(task, response)
            assert v.score == 1.0, (response, v)


@pytest.mark.parametrize("name", RULE_FAMILIES)
def test_answering_twice(name: str) -> None:
    fam = get_family(name)
    for task in _tasks(fam):
        ans, wrong = _answer_line(fam, task), _wrong_answer(fam, task)
        assert fam.verify(task, f"Answer: {ans}\nChecking again.\nAnswer: {ans}").score == 1.0
        for response in (f"Answer: {wrong}\nAnswer: {ans}", f"Answer: {ans}\nAnswer: {wrong}",
                         f"<answer>{wrong}</answer>\nAnswer: {ans}"):
            v = fam.verify(task, response)
            assert v.score == 0 and v.reason == "conflicting_answers", (response, v)
        for hedge in (f"Answer: {wrong} or {ans}", f"Answer: {ans} or {wrong}"):
            v = fam.verify(task, hedge)
            assert v.score == 0, (hedge, v)


@pytest.mark.parametrize("name", RULE_FAMILIES)
def test_empty_and_huge(name: str) -> None:
    fam = get_family(name)
    for task in _tasks(fam):
        ans = _answer_line(fam, task)
        for empty in ("", "   \n\n", "Answer:", "Answer:   \n", "<answer></answer>", "<answer> </answer>"):
            v = fam.verify(task, empty)
            assert v.score == 0 and v.reason == "no_answer", (empty, v)
        huge = "word " * (MAX_RESPONSE_CHARS // 5) + f"\nAnswer: {ans}"
        assert fam.verify(task, huge).score == 0 and fam.verify(task, huge).reason == "too_long"
        # a spray of many different answers, the right one among them, within the length limit
        others = {_answer_line(fam, fam.generate(seed, task.difficulty)) for seed in range(2000, 2030)}
        spray = " ".join(sorted(others | {ans}))[: MAX_RESPONSE_CHARS - 200] + f" {ans}"
        v = fam.verify(task, f"Answer: {spray}")
        assert v.score == 0, (spray[:200], v)


def test_open_ended_copy_twice_empty_huge() -> None:
    fam = get_family("open_ended")
    for seed in range(12):
        task = fam.generate(seed)
        right = fam.verify(task, task.reference).score
        assert right == 1.0
        copied = fam.verify(task, task.prompt).score
        assert copied < PASS_THRESHOLD and copied < right  # the question is not the explanation
        assert fam.verify(task, f"{task.reference} {task.reference}").score < right  # repetition does not pay
        assert fam.verify(task, "").reason == "no_answer" and fam.verify(task, "Answer:").reason == "no_answer"
        assert fam.verify(task, task.reference * 100).reason == "too_long"


def test_prose_word_i_is_not_iodine() -> None:
    """'Answer: I think it is [2H]C(Cl)(Cl)Cl': the SMILES is the answer, the pronoun is not iodine."""
    from rdkit import Chem

    ref = Chem.MolToSmiles(Chem.MolFromSmiles("[2H]C(Cl)(Cl)Cl"))
    answer = f"I think it is {ref}"
    mol = mol_from(answer)
    assert mol is not None and Chem.MolToSmiles(mol) == ref
    assert smiles_answer("I")[0] == "I"  # alone, "I" is still iodine
    assert smiles_answer("CCO or CCC") == "ambiguous_answer"
    fam = get_family("smiles_canonical")
    task = Task("smiles_canonical", 0, 0, "p", ref)
    assert fam.verify(task, f"Answer: {answer}").score == 1.0
    from sciforge.model.rl.evaluate import _check_jsonl

    jtask = Task("jsonl", 0, 0, "p", ref, meta={"verifier": "smiles"})
    assert _check_jsonl(jtask, f"Answer: {answer}").score == 1.0
    assert _check_jsonl(jtask, "Answer: CCO or ClC(Cl)Cl").reason == "ambiguous_answer"
    formula = Task("mol_formula", 0, 0, "p", "CHCl3")
    assert get_family("mol_formula").verify(formula, "Answer: I think it is CHCl3").score == 1.0
    assert get_family("mol_formula").verify(formula, "Answer: CHCl3 or CH2Cl2").reason == "ambiguous_answer"
