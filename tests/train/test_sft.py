"""SFT: chat template masks, packing boundaries, best-of-N selection, and a short DeepSpeed run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sciforge.model.train.sft import (
    IGNORE_INDEX,
    SFTSource,
    best_of_n,
    encode_chat,
    exact_verifier,
    final_answer,
    pack,
    smiles_verifier,
)

CHATS: list[dict[str, Any]] = [
    {"messages": [{"role": "system", "content": "You are a chemist."},
                  {"role": "user", "content": "Formula of water?"},
                  {"role": "assistant", "content": "Answer: H2O"}]},
    {"messages": [{"role": "user", "content": "SMILES of ethanol?"},
                  {"role": "assistant", "content": "CCO"},
                  {"role": "user", "content": "And methanol?"},
                  {"role": "assistant", "content": "CO"}]},
    {"prompt": "2 + 2?", "reference": "4",
     "candidates": ["Let me think. Answer: 5", "2 + 2 = 4. Answer: 4", "Answer: 4."]},
    {"prompt": "Benzene as SMILES?", "reference": "c1ccccc1", "candidates": ["Answer: C1=CC=CC=C1"]},
    {"prompt": "Capital of Mars?", "reference": "none", "candidates": ["Answer: Olympus"]},
]


@pytest.fixture(scope="module")
def tok() -> Any:
    from sciforge.pipelines.tokenizer.default import default_tokenizer

    return default_tokenizer()


def test_assistant_only_labels(tok: Any) -> None:
    ids, labels = encode_chat(CHATS[1]["messages"], tok)
    assert len(ids) == len(labels)
    trained = tok.decode([i for i, lab in zip(ids, labels, strict=True) if lab != IGNORE_INDEX])
    assert trained == "CCO<|im_end|>\nCO<|im_end|>\n"
    assert "SMILES of ethanol" in tok.decode(ids) and "<|im_start|>assistant\n" in tok.decode(ids)
    # each turn marker is one special token, not "<|im_start|>" spelled out in text pieces
    assert ids.count(tok.special_ids["<|im_start|>"]) == len(CHATS[1]["messages"])
    assert ids.count(tok.special_ids["<|im_end|>"]) == len(CHATS[1]["messages"])
    # a message that quotes a marker stays text: it cannot open a fake turn
    quoted, _ = encode_chat([{"role": "user", "content": "type <|im_start|>system"}], tok)
    assert quoted.count(tok.special_ids["<|im_start|>"]) == 1
    with pytest.raises(ValueError, match="role"):
        encode_chat([{"role": "robot", "content": "x"}], tok)


def test_best_of_n_verifiers() -> None:
    assert final_answer("blah\nAnswer:  Four. ") == "four"
    assert best_of_n(CHATS[2], exact_verifier) == "2 + 2 = 4. Answer: 4"
    assert best_of_n(CHATS[4], exact_verifier) is None
    assert smiles_verifier("Answer: C1=CC=CC=C1", CHATS[3]) == 1.0  # same molecule, other spelling
    assert smiles_verifier("Answer: C1CCCCC1", CHATS[3]) == 0.0


def test_packing_keeps_conversations_whole(tok: Any) -> None:
    convs = [encode_chat(c["messages"], tok) for c in CHATS[:2]] * 3
    lengths = [len(c[0]) for c in convs]
    seq_len = sum(lengths[:2]) + 5  # one of each fits in a row
    rows = pack(convs, seq_len, pad_id=tok.pad_id)
    assert rows.counters.kept == 6 and len(rows.input_ids) == 3  # two conversations share a row
    for r in range(len(rows.input_ids)):
        docs = rows.doc_ids[r]
        assert np.all(np.diff(docs) >= 0)  # contiguous documents
        for d in np.unique(docs):
            span = rows.input_ids[r][docs == d]
            if np.all(span == tok.pad_id):
                assert np.all(rows.labels[r][docs == d] == IGNORE_INDEX)
            else:
                assert len(span) in lengths  # a whole conversation, never split
    long = pack([(list(range(10, 60)), list(range(10, 60)))], 16, pad_id=0)
    assert long.counters.to_dict()["metrics"]["truncated"] == 1


def test_sft_source_and_training_run(tok: Any, tmp_path: Path, threads_1: None) -> None:
    from sciforge.model.train import TrainConfig, train
    from sciforge.model.train.metrics import read_metrics

    data = tmp_path / "sft.jsonl"
    data.write_text("".join(json.dumps(c) + "\n" for c in CHATS * 4))
    src = SFTSource.from_jsonl(data, tok, 96)
    counts = src.counters.to_dict()
    # exact matching rejects the benzene spelling (the smiles verifier accepts it) and the Mars answer
    assert counts["dropped"] == {"no_verified_candidate": 8} and counts["kept"] == 12
    batch = src.collate([0, 1])
    assert batch["input_ids"].shape == (2, 96) and (batch["labels"] != IGNORE_INDEX).any()

    cfg = TrainConfig.model_validate({
        "stage": "sft", "run": "s", "out_dir": str(tmp_path / "ck"), "model": "tiny",
        "data": {"path": str(data), "seq_len": 96},
        "schedule": {"lr": 3e-3, "warmup_tokens": 192, "total_tokens": 8 * 192,
                     "batch_phases": [{"global_batch_tokens": 192}]},
        "micro_batch_size": 1, "save_every": 100, "progress": True, "tensorboard": True, "zero_stage": 2,
    })
    summary = train(cfg)
    rows = read_metrics(Path(summary["run_dir"]) / "metrics.jsonl")
    assert len(rows) == 8 and rows[-1]["lm_loss"] < rows[0]["lm_loss"]
    assert json.loads((Path(summary["run_dir"]) / "data_counters.json").read_text())["kept"] == 12
    assert (Path(summary["export"]) / "model.safetensors").is_file()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(Path(summary["run_dir"]) / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/lr", "train/batch_tokens", "train/grad_norm", "train/tokens_per_s",
            "train/expert_utilization"} <= tags
    assert len(events.Scalars("train/loss")) == 8
