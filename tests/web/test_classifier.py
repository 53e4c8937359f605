"""The science classifier's real-text seed set, feature options and the shipped model's quality (no Spark)."""

from __future__ import annotations

import gzip
import json
import re

import numpy as np
import pytest

from sciforge.pipelines.web.classifier import (
    LABELS,
    REAL_SEED_PATH,
    HashedLinearClassifier,
    LexiconIndex,
    TrainConfig,
    build_training_set,
    featurize,
    lexicon_tokens,
    load_lexicon,
    read_labelled,
    read_real_seed,
    sample_weights,
    seed_split,
    train,
)
from sciforge.pipelines.web.config import DATA_DIR, DEFAULT_MODEL, ClassifierConfig

SCI = ("The electron beam was focused by a magnetic lens and the spin polarization of the photons was measured "
       "with a quantum detector; the energy spectrum follows the Schrodinger equation for a particle in a well.")
SHOP = ("Free shipping on all orders this weekend! Add the sneakers to your cart, pick a colour and size, and "
        "check out with a gift card. Returns are free within thirty days, and our store opens at nine.")


def test_real_seed_is_labelled_split_and_sourced() -> None:
    rows = read_real_seed(REAL_SEED_PATH, ("train", "val", "test"))
    assert len(rows) > 4000 and REAL_SEED_PATH.stat().st_size < 4_000_000
    assert {r["label"] for r in rows} == set(LABELS)
    assert all(r["split"] == seed_split(r["id"]) for r in rows)  # the split is the declared hash rule
    assert len({r["id"] for r in rows}) == len(rows)
    sources = (DATA_DIR / "SOURCES.md").read_text()
    for src in {r["source"] for r in rows}:  # every source has its provenance and licence recorded
        assert f"`{src}`" in sources or re.search(rf"`{src.rsplit('_', 1)[0]}", sources), src
    assert not any("newsgroups" in r["source"] for r in rows)  # 20 Newsgroups is the evaluation set
    splits = {s: sum(r["split"] == s for r in rows) / len(rows) for s in ("train", "val", "test")}
    assert 0.5 < splits["train"] < 0.7 and 0.15 < splits["test"] < 0.25


def test_feature_options_drop_function_words_and_add_lexicon_indicators() -> None:
    idx, _ = featurize("the of and we you it", 18, drop_stop_words=True)
    assert len(idx) == 0
    assert len(featurize("the of and we you it", 18)[0]) > 0  # old models: every token counts
    plain = featurize(SCI, 18, True, 0.0)
    with_lex = featurize(SCI, 18, True, 0.3)
    assert len(with_lex[0]) > len(plain[0]) and np.isclose(np.linalg.norm(plain[1]), 1.0)
    toks = lexicon_tokens("the quantum spin of the electron and the photon energy".split(),
                          LexiconIndex(load_lexicon()))
    assert "__lex_sci_ge3" in toks and "__lex_field_physics" in toks


def test_lexicon_index_counts_multiword_terms() -> None:
    lex = {"physics": {"q": ["quantum field theory", "spin"]}, "other": {"o": ["free shipping"]}}
    h = LexiconIndex(lex).hits("a quantum field theory of spin with free shipping".split())
    assert h[LABELS.index("physics")] == 2 and h[LABELS.index("other")] == 1


def test_feature_options_travel_in_the_model_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    texts = [SCI, SHOP, SCI + " spectrum", SHOP + " sale"]
    m = train(texts, ["physics", "other", "physics", "other"], TrainConfig(max_iter=20, lexicon_weight=0.5))
    m.save(tmp_path / "m.safetensors")
    back = HashedLinearClassifier.load(tmp_path / "m.safetensors")
    assert back.drop_stop_words and back.lexicon_weight == 0.5
    assert np.allclose(back.logits(SCI), m.logits(SCI), atol=1e-2)


def test_shipped_model_is_trained_on_the_real_seed_and_beats_chance_on_its_test_split() -> None:
    m = HashedLinearClassifier.load(DEFAULT_MODEL)
    assert m.meta["real_seed_file"] == REAL_SEED_PATH.name and m.drop_stop_words and m.lexicon_weight > 0
    test = read_real_seed(REAL_SEED_PATH, ("test",))[::3]  # a third of the held-out split keeps this fast
    thr = ClassifierConfig().page_threshold
    pred = [m.predict(r["text"]).science_score >= thr for r in test]
    gold = [r["label"] != "other" for r in test]
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    prec, rec = tp / max(1, sum(pred)), tp / max(1, sum(gold))
    # bench/web_classifier.py measures ~0.9 F1 on the whole split; a broken model or feature path falls far below
    assert prec > 0.75 and rec > 0.75, (prec, rec)
    assert m.predict(SCI).label == "physics" and m.predict(SHOP).label == "other"


def test_sample_weights_balance_sources_within_a_label() -> None:
    y = np.array([LABELS.index(lab) for lab in ["physics"] * 9 + ["other"] * 4])
    groups = ["big"] * 8 + ["small"] + ["o"] * 4
    plain, counts = sample_weights(y, groups, TrainConfig(source_balance=0.0))
    assert np.allclose(plain[:9], plain[0])  # every physics document weighs the same
    assert counts[LABELS.index("physics")] == 9 and np.isclose(plain.sum(), len(y))
    bal, _ = sample_weights(y, groups, TrainConfig(source_balance=1.0, source_balance_labels=LABELS))
    assert np.isclose(bal[:8].sum(), bal[8])  # each source of a label weighs the same
    assert np.isclose(bal[:9].sum(), plain[:9].sum())  # and the label keeps its share
    half, _ = sample_weights(y, groups, TrainConfig(source_balance=0.5, source_balance_labels=LABELS))
    assert np.isclose(half[:8].sum() / half[8], 8 ** 0.5)
    # the default balances the sources of "other" only: physics keeps one weight per document
    assert np.allclose(sample_weights(y, groups, TrainConfig())[0], plain)
    assert np.allclose(sample_weights(y, None, TrainConfig(source_balance=1.0))[0], plain)
    y2 = np.array([LABELS.index(lab) for lab in ["physics"] * 4 + ["other"] * 4])
    w2, _ = sample_weights(y2, ["p"] * 4 + ["big"] * 3 + ["small"], TrainConfig())
    assert np.isclose(w2[4:7].sum(), w2[7]) and np.isclose(w2[4:].sum(), len(y2) * TrainConfig().other_share)


def test_read_labelled_checks_labels_and_keeps_the_train_split(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "posts.jsonl.gz"
    with gzip.open(p, "wt") as f:
        f.write(json.dumps({"text": SCI, "label": "physics", "split": "train"}) + "\n\n")
        f.write(json.dumps({"text": SHOP, "label": "other", "split": "test", "source": "shop"}) + "\n")
        f.write(json.dumps({"text": SHOP, "label": "other"}) + "\n")  # no split: always used
    rows = read_labelled(p)
    assert [r["label"] for r in rows] == ["physics", "other"] and rows[0]["source"] == "posts.jsonl.gz"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": SCI, "label": "astrology"}) + "\n")
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        read_labelled(bad)
    ts = build_training_set(silver=False, real_seed=None, labelled=[p])
    assert ts.counts["labelled_posts.jsonl.gz"] == 2 and ts.groups[-2:] == ["posts.jsonl.gz"] * 2
    assert len(ts.texts) == len(ts.labels) == len(ts.groups) and {"gold", "lexicon"} <= set(ts.groups)


def test_train_classifier_cli_takes_a_labelled_set(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from sciforge.cli.web import app

    p = tmp_path / "mine.jsonl"
    p.write_text("".join(json.dumps({"text": t, "label": lab, "source": src}) + "\n" for t, lab, src in
                         [(SCI, "physics", "a"), (SHOP, "other", "b"), (SHOP + " today", "other", "c")]))
    out = tmp_path / "m.safetensors"
    r = CliRunner().invoke(app, ["train-classifier", "--out", str(out), "--no-real-seed", "--labelled", str(p),
                                 "--silver-per-subfield", "0", "--source-balance", "1", "--lexicon-weight", "0.1"])
    assert r.exit_code == 0, r.output
    m = HashedLinearClassifier.load(out)
    assert m.meta["labelled"] == ["mine.jsonl"] and m.meta["source_balance"] == 1.0
    assert m.lexicon_weight == 0.1 != TrainConfig().lexicon_weight  # the option reaches the model file
    assert m.meta["label_counts"]["other"] >= 2 and m.predict(SCI).label == "physics"
