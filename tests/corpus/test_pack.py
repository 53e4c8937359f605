from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sciforge.pipelines.corpus.config import CorpusConfig
from sciforge.pipelines.corpus.pack import build_shard, mixture_factors, repeat_count, tokenize_pages
from sciforge.pipelines.corpus.reader import ShardedSampler
from sciforge.pipelines.corpus.shards import ShardIndex, pack
from sciforge.pipelines.tokenizer.default import default_tokenizer


def test_mixture_factors_hit_target_shares() -> None:
    natural = {"chemistry": 100, "other": 800, "physics": 100}
    f = mixture_factors(natural, {"chemistry": 1, "physics": 1}, max_repeat=4)
    assert f["other"] == 1.0
    assert f["chemistry"] == pytest.approx(1.0) and f["physics"] == pytest.approx(1.0)  # they split 20% evenly
    f = mixture_factors(natural, {"chemistry": 3, "physics": 1}, max_repeat=4)
    assert f["chemistry"] * 100 == pytest.approx(150) and f["physics"] * 100 == pytest.approx(50)
    assert mixture_factors(natural, {"chemistry": 100, "physics": 0}, max_repeat=1.5)["chemistry"] == 1.5  # capped
    assert mixture_factors(natural, {}, max_repeat=4) == {d: 1.0 for d in natural}


def test_repeat_count_is_deterministic_and_unbiased() -> None:
    ids = [f"doc-{i}" for i in range(4000)]
    a = [repeat_count(1.5, d, 7) for d in ids]
    assert a == [repeat_count(1.5, d, 7) for d in ids]
    assert set(a) == {1, 2} and sum(a) / len(a) == pytest.approx(1.5, abs=0.05)
    assert {repeat_count(0.0, d, 7) for d in ids} == {0}


def test_pack_and_index_roundtrip() -> None:
    docs = [np.array([1, 2, 3, 99], np.uint32), np.array([4, 99], np.uint32), np.array([5, 6, 7, 8, 9, 99], np.uint32)]
    tokens, idx = pack(docs, [0, 1, 0], seq_len=5, pad_id=0, n_domains=2)
    assert tokens.tolist() == [1, 2, 3, 99, 4, 99, 5, 6, 7, 8, 9, 99, 0, 0, 0]
    again = ShardIndex.from_bytes(idx.to_bytes())
    assert again.doc_start.tolist() == [0, 4, 6] and again.doc_domain.tolist() == [0, 1, 0]
    assert again.n_sequences == 3
    assert again.doc_ids(5, 5).tolist() == [1, 2, 2, 2, 2]
    with pytest.raises(ValueError, match="magic"):
        ShardIndex.from_bytes(b"X" * 64)
    with pytest.raises(ValueError, match="expected"):
        ShardIndex.from_bytes(idx.to_bytes()[:-1])


def _pages() -> pa.Table:
    return pa.table({
        "doc_id": ["a", "a", "b", "c", "d"],
        "page": pa.array([1, 0, 0, 0, 0], pa.int32()),
        "source": ["pdf", "pdf", "web", "web", "web"],
        "url": ["x.pdf", "x.pdf", "u", "v", "w"],
        "domain": ["", "", "b.org", "c.org", "d.org"],
        "field": ["chemistry", "chemistry", "", "physics", "physics"],
        "text": ["second page", "Aspirin is CC(=O)Oc1ccccc1C(=O)O.", "plain words", "", "E = mc^2"],
    })


def test_tokenize_then_build_shard_keeps_documents_whole() -> None:
    tok = default_tokenizer()
    cfg = CorpusConfig(seq_len=16)
    res = tokenize_pages(_pages(), tok, cfg, n_buckets=1)
    assert res.counters.input == 5 and res.counters.kept == 4 and res.counters.dropped == {"empty_text": 1}
    assert res.quarantined.column("reason").to_pylist() == ["empty_text"]
    assert set(res.domain_tokens) == {"chemistry", "other", "physics"}
    sep = tok.encode("\n\n")
    sh = build_shard(res.buckets[0], 0, {"chemistry": 1.0, "other": 1.0, "physics": 1.0},
                     ["chemistry", "other", "physics"], cfg, eod_id=tok.eod_id, pad_id=tok.pad_id, separator_ids=sep)
    assert len(sh.tokens) % 16 == 0 and sh.index.n_sequences == len(sh.tokens) // 16
    starts = sh.index.doc_start.tolist() + [int((sh.tokens != tok.pad_id).sum())]
    texts = {tok.decode(sh.tokens[a:b].tolist(), skip_special_tokens=True) for a, b in zip(starts, starts[1:], strict=False)}
    assert texts == {"Aspirin is CC(=O)Oc1ccccc1C(=O)O.\n\nsecond page", "plain words", "E = mc^2"}
    assert sh.modality_tokens["smiles"] > 0
    assert sum(sh.domain_tokens.values()) == len(sh.tokens) - sh.counters.metrics["pad_tokens"]
    # same input, same bytes
    again = build_shard(res.buckets[0], 0, {"chemistry": 1.0, "other": 1.0, "physics": 1.0},
                        ["chemistry", "other", "physics"], cfg, eod_id=tok.eod_id, pad_id=tok.pad_id, separator_ids=sep)
    assert again.tokens.tobytes() == sh.tokens.tobytes()


def test_input_without_text_column_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="PAGE-TEXT CONTRACT"):
        tokenize_pages(pa.table({"doc_id": ["a"]}), default_tokenizer(), CorpusConfig(), 1)


def test_sampler_shards_ranks_and_resumes() -> None:
    n, b, w = 103, 4, 3
    samplers = [ShardedSampler(n, b, r, w, seed=5) for r in range(w)]
    epoch = [np.concatenate([s.indices(t) for s in samplers]) for t in range(samplers[0].steps_per_epoch)]
    flat = np.concatenate(epoch)
    assert len(set(flat.tolist())) == len(flat) == (n // (b * w)) * b * w  # disjoint, once per epoch
    assert ShardedSampler(n, b, 1, w, seed=5).indices(3).tolist() == samplers[1].indices(3).tolist()
    assert samplers[0].indices(samplers[0].steps_per_epoch).tolist() != samplers[0].indices(0).tolist()
    with pytest.raises(ValueError):
        ShardedSampler(3, 4, 0, 1)
    with pytest.raises(ValueError):
        ShardedSampler(10, 1, 2, 2)


def test_config_rejects_bad_options() -> None:
    with pytest.raises(ValueError):
        CorpusConfig(mixture={"chemistry": -1})
    with pytest.raises(ValueError):
        CorpusConfig(seq_len=4096, shard_size=3)  # type: ignore[call-arg]
