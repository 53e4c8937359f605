"""SFT data: a chat template, loss on assistant turns only, packing with boundaries, best-of-N selection.

Template (ChatML, the format of Qwen / Intern-S1 chat models)::

    <|im_start|>{role}\n{content}<|im_end|>\n

The role header is never a target; an assistant turn's content and its closing `<|im_end|>\n` are
(so the model learns to stop). Conversations are packed whole into fixed rows, first-fit in file order;
each gets its own document id, so attention and positions never cross a conversation boundary.

Best-of-N (Intern-S1 treats SFT as offline RL): a record may carry `candidates` for the last assistant
turn instead of the answer; a verifier scores each one against `reference` and the best passing one is
kept (records where none passes are dropped as `no_verified_candidate`). Verifiers are plain functions
`(candidate, record) -> score`; register more in `VERIFIERS`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sciforge.pipelines.corpus.reader import IGNORE_INDEX
from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.tokenizer.tokenizer import IM_END, IM_START

ROLES = ("system", "user", "assistant")
TURN_START = IM_START  # "<|im_start|>", a special token of sciforge tokenizers
TURN_END = IM_END  # "<|im_end|>"
Verifier = Callable[[str, dict[str, Any]], float]


# ---------------------------------------------------------------------- verifiers
def final_answer(text: str, lower: bool = True) -> str:
    """The text after the last "Answer:" (or the last non-empty line), normalised for comparison."""
    m = re.findall(r"answer\s*[:：]\s*(.+)", text, flags=re.IGNORECASE)
    ans = m[-1] if m else next((ln for ln in reversed(text.strip().splitlines()) if ln.strip()), "")
    ans = re.sub(r"\s+", " ", ans.strip().rstrip("."))
    return ans.lower() if lower else ans


def exact_verifier(candidate: str, record: dict[str, Any]) -> float:
    return float(final_answer(candidate) == final_answer(str(record["reference"])))


def smiles_verifier(candidate: str, record: dict[str, Any]) -> float:
    """1 when the candidate's final answer is a SMILES for the same molecule as the reference (RDKit)."""
    from rdkit import Chem

    from sciforge.model.rl.tasks.chem import mol_from

    answer = final_answer(candidate, lower=False)  # SMILES are case-sensitive (aromatic atoms)
    got = mol_from(answer)  # the one molecule the answer names ("I think it is CCO": not iodine)
    want = Chem.MolFromSmiles(str(record["reference"]).strip())
    if got is None or want is None:
        return 0.0
    return float(Chem.MolToSmiles(got) == Chem.MolToSmiles(want))


def length_verifier(candidate: str, record: dict[str, Any]) -> float:
    """Correct answers score higher when shorter (prefers concise reasoning among verified ones)."""
    return exact_verifier(candidate, record) * (1.0 / (1.0 + len(candidate) / 1000.0))


VERIFIERS: dict[str, Verifier] = {"exact": exact_verifier, "smiles": smiles_verifier, "length": length_verifier}


def best_of_n(record: dict[str, Any], verifier: Verifier, threshold: float = 0.5) -> str | None:
    """The highest-scoring candidate with score >= threshold (first one on ties), or None."""
    best, best_score = None, threshold
    for cand in record["candidates"]:
        score = verifier(cand, record)
        if score >= best_score and (best is None or score > best_score):
            best, best_score = cand, score
    return best


def to_messages(record: dict[str, Any], verifier: Verifier, counters: StageCounters) -> list[dict] | None:
    if "messages" in record:
        return list(record["messages"])
    if "candidates" in record:
        prompt = record["prompt"]
        msgs = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        chosen = best_of_n(record, verifier)
        if chosen is None:
            counters.drop("no_verified_candidate")
            return None
        counters.add("best_of_n_candidates", len(record["candidates"]))
        return [*msgs, {"role": "assistant", "content": chosen}]
    counters.drop("no_messages")
    return None


# ---------------------------------------------------------------------- template + packing
def _marker(tokenizer: Any, marker: str) -> list[int]:
    """The id of a turn marker: its special token when the tokenizer has one (sciforge tokenizers do),
    else the marker spelled as text (any other tokenizer with an ``encode``)."""
    special = getattr(tokenizer, "special_ids", None) or {}
    return [int(special[marker])] if marker in special else list(tokenizer.encode(marker))


def turn_header(role: str, tokenizer: Any) -> list[int]:
    """``<|im_start|>{role}\\n`` as ids (also the prompt suffix that asks the model for a turn)."""
    return _marker(tokenizer, TURN_START) + list(tokenizer.encode(f"{role}\n"))


def encode_chat(messages: Sequence[dict[str, Any]], tokenizer: Any) -> tuple[list[int], list[int]]:
    """Token ids and labels (-100 except on assistant content + its end marker)."""
    ids: list[int] = []
    labels: list[int] = []
    for m in messages:
        role = m.get("role")
        if role not in ROLES:
            raise ValueError(f"unknown chat role {role!r}; expected one of {ROLES}")
        header = turn_header(role, tokenizer)
        body = list(tokenizer.encode(str(m["content"]))) + _marker(tokenizer, TURN_END) + list(tokenizer.encode("\n"))
        ids += header + body
        labels += [IGNORE_INDEX] * len(header) + (body if role == "assistant" else [IGNORE_INDEX] * len(body))
    return ids, labels


@dataclass
class PackedRows:
    input_ids: np.ndarray  # (rows, seq_len) int64
    labels: np.ndarray
    doc_ids: np.ndarray
    counters: StageCounters = field(default_factory=StageCounters)


def pack(convs: Sequence[tuple[list[int], list[int]]], seq_len: int, pad_id: int,
         counters: StageCounters | None = None) -> PackedRows:
    """First-fit packing of whole conversations; longer ones are cut to seq_len (`truncated`)."""
    counters = counters or StageCounters()
    rows: list[list[tuple[list[int], list[int]]]] = []
    free: list[int] = []
    for ids, labels in convs:
        if len(ids) > seq_len:
            counters.add("truncated", 1)
            ids, labels = ids[:seq_len], labels[:seq_len]
        if all(x == IGNORE_INDEX for x in labels[1:]):
            counters.drop("no_assistant_target")
            continue
        slot = next((r for r, f in enumerate(free) if f >= len(ids)), None)
        if slot is None:
            rows.append([])
            free.append(seq_len)
            slot = len(rows) - 1
        rows[slot].append((ids, labels))
        free[slot] -= len(ids)
        counters.kept += 1
    n = len(rows)
    input_ids = np.full((n, seq_len), pad_id, dtype=np.int64)
    out_labels = np.full((n, seq_len), IGNORE_INDEX, dtype=np.int64)
    doc_ids = np.zeros((n, seq_len), dtype=np.int64)
    for r, convs_in_row in enumerate(rows):
        pos = 0
        for d, (ids, labels) in enumerate(convs_in_row):
            input_ids[r, pos:pos + len(ids)] = ids
            out_labels[r, pos:pos + len(ids)] = labels
            doc_ids[r, pos:pos + len(ids)] = d
            pos += len(ids)
        doc_ids[r, pos:] = len(convs_in_row)  # padding is its own document
    counters.add("rows", n)
    return PackedRows(input_ids, out_labels, doc_ids, counters)


class SFTSource:
    """Packed SFT rows in memory (SFT sets are small next to pre-training)."""

    def __init__(self, rows: PackedRows, tokenizer: Any, seq_len: int) -> None:
        if len(rows.input_ids) == 0:
            raise ValueError(f"no trainable conversations (counters: {rows.counters.to_dict()})")
        self.rows, self._tokenizer, self.seq_len = rows, tokenizer, seq_len
        self.counters = rows.counters

    @classmethod
    def from_records(cls, records: Sequence[dict[str, Any]], tokenizer: Any, seq_len: int,
                     verifier: str | Verifier = "exact") -> SFTSource:
        verify = VERIFIERS[verifier] if isinstance(verifier, str) else verifier
        counters = StageCounters()
        convs = []
        for rec in records:
            counters.input += 1
            msgs = to_messages(rec, verify, counters)
            if msgs is not None:
                convs.append(encode_chat(msgs, tokenizer))
        return cls(pack(convs, seq_len, int(tokenizer.pad_id), counters), tokenizer, seq_len)

    @classmethod
    def from_jsonl(cls, path: str | Path, tokenizer: Any, seq_len: int, verifier: str = "exact") -> SFTSource:
        records = []
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{n}: not JSON ({err})") from err
        return cls.from_records(records, tokenizer, seq_len, verifier)

    def __len__(self) -> int:
        return len(self.rows.input_ids)

    def collate(self, rows: Sequence[int]) -> dict[str, Any]:
        idx = list(rows)
        return {"input_ids": torch.from_numpy(self.rows.input_ids[idx]),
                "labels": torch.from_numpy(self.rows.labels[idx]),
                "doc_ids": torch.from_numpy(self.rows.doc_ids[idx])}

    def tokenizer(self) -> Any:
        return self._tokenizer
