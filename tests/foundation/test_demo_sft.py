"""The demo's SFT set: deterministic, answers computed by RDKit, every best-of-N record selectable."""

from __future__ import annotations

from pathlib import Path

from sciforge.fixtures.demo_sft import sft_records, write_sft_demo
from sciforge.model.train.sft import SFTSource, best_of_n, exact_verifier


def test_records_are_deterministic_and_verified(tmp_path: Path) -> None:
    a = write_sft_demo(tmp_path / "a.jsonl", n=40, seed=3).read_bytes()
    b = write_sft_demo(tmp_path / "b.jsonl", n=40, seed=3).read_bytes()
    assert a == b and a != write_sft_demo(tmp_path / "c.jsonl", n=40, seed=4).read_bytes()
    recs = sft_records(40)
    chats = [r for r in recs if "messages" in r]
    bon = [r for r in recs if "candidates" in r]
    assert len(chats) == len(bon) == 20
    for r in bon:  # exactly one candidate is right, and the verifier picks it
        assert sum(exact_verifier(c, r) for c in r["candidates"]) == 1
        assert best_of_n(r, exact_verifier) == f"Answer: {r['reference']}"
    benzene = next(r for r in sft_records(400) if "benzene (SMILES c1ccccc1)?" in str(r)
                   and "molecular formula" in str(r))
    assert "C6H6" in str(benzene)  # computed by RDKit, not written by hand


def test_sft_source_packs_the_demo_set(tmp_path: Path) -> None:
    from sciforge.pipelines.tokenizer.default import default_tokenizer

    src = SFTSource.from_jsonl(write_sft_demo(tmp_path / "sft.jsonl", n=60), default_tokenizer(), seq_len=256)
    c = src.counters.to_dict()
    assert c["input"] == 60 and not c["dropped"] and len(src) > 0
