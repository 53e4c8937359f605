"""Per-page features: bad input is flagged, never fatal."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sciforge.pipelines.dedup import features
from sciforge.pipelines.dedup.config import DedupConfig
from sciforge.pipelines.dedup.features import EMPTY, INVALID_UTF8, STATUS_OK, Featurizer, decode_minhash


def _invalid_utf8_string_array() -> pa.Array:
    good, bad = b"valid text here", b"caf\xe9 \xff\xfe broken"
    data = good + bad
    offsets = np.array([0, len(good), len(data)], dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)])


def test_statuses_and_columns() -> None:
    f = Featurizer(DedupConfig())
    t = f(pa.array(["Some words here.", "", None, " ... ", "one"]))
    assert t["status"].to_pylist() == [STATUS_OK, EMPTY, EMPTY, EMPTY, STATUS_OK]
    assert t["n_words"].to_pylist() == [3, 0, 0, 0, 1]
    b, r = f.bands_rows
    assert all(len(x) == b for x in t["bands"].to_pylist())
    assert decode_minhash(t["minhash"].combine_chunks(), 128).shape == (5, 128)


def test_invalid_utf8_in_string_and_binary_columns() -> None:
    f = Featurizer(DedupConfig())
    t = f(_invalid_utf8_string_array())
    assert t["status"].to_pylist() == [STATUS_OK, INVALID_UTF8]
    t2 = f(pa.array([b"fine bytes", b"\xff\xfe"], pa.binary()))
    assert t2["status"].to_pylist() == [STATUS_OK, INVALID_UTF8]


def test_exact_hash_ignores_case_and_punctuation_but_keeps_numbers() -> None:
    t = Featurizer(DedupConfig())(pa.array(["Copyright 2024, Press.", "COPYRIGHT 2024 press", "Copyright 1999 press",
                                             "Copyright press"]))
    h = t["content_hash"].to_pylist()
    assert h[0] == h[1] and len(set(h)) == 3


def test_huge_page_is_truncated_for_minhash_only() -> None:
    cfg = DedupConfig(max_minhash_chars=1000)
    prefix = "alpha beta gamma delta " * 100  # 2300 chars
    f = Featurizer(cfg)
    t = f(pa.array([prefix + "x", prefix + "y"]))
    assert t["minhash_truncated"].to_pylist() == [True, True]
    assert t["minhash"][0] == t["minhash"][1]  # same first 1000 chars
    assert t["content_hash"][0] != t["content_hash"][1]  # but not exact duplicates
    # the exact check compares the full shingle sets: the tails differ there
    full = f.verification_values(pa.array([prefix + "x", prefix + "y"])).to_pylist()
    assert full[0] != full[1] and len(full[0]) == len(full[1]) > 0


def test_numbers_policy_zeroes_digits_of_prose_pages_only() -> None:
    from sciforge.pipelines.dedup.features import digit_share, zero_digits, zero_number_rows
    from sciforge.pipelines.dedup.minhash import normalize

    prose = "copyright 2024 open science press all rights reserved page 12"
    table = "0 153 2 871 3 442 4 918 5 337"
    norm = normalize(pa.array([prose, table, "", "٣٤ abc"], pa.large_string()), norm_numbers=False)
    share = digit_share(norm)
    assert 0 < share[0] < 0.25 < share[1] and share[2] == 0
    rows = zero_number_rows(norm, DedupConfig())
    assert rows.tolist() == [True, False, True, True]  # the share counts ASCII digits only
    out = zero_digits(norm, np.array([True, False, False, True])).to_pylist()
    assert out[0] == "copyright 0000 open science press all rights reserved page 00"
    assert out[1] == table and out[3] == "00 abc"
    assert zero_number_rows(norm, DedupConfig(numbers="keep")).tolist() == [False] * 4
    assert zero_number_rows(norm, DedupConfig(numbers="zero")).tolist() == [True] * 4


def test_deterministic() -> None:
    texts = pa.array([f"page {i} about lattice {i % 7} and enzyme {i % 3}" for i in range(50)])
    a, b = Featurizer(DedupConfig())(texts), Featurizer(DedupConfig())(texts)
    assert a.equals(b)


def test_shingle_sets_column_matches_python_sets_and_minhash_lists() -> None:
    from sciforge.pipelines.dedup.features import exact_shingle_sets, minhash_lists
    from sciforge.pipelines.dedup.minhash import shingle_sets

    texts = ["the cat sat on the mat the cat sat on the mat", "one", "", "a b c d e f g h a b c d e"]
    t = Featurizer(DedupConfig())(pa.array(texts), shingle_sets=True)
    got = t["shingles"].to_pylist()
    want = shingle_sets(texts, 5)
    assert exact_shingle_sets(texts, DedupConfig()) == want  # no digits: every policy agrees
    assert [sorted(np.array(g, dtype=np.int64).view(np.uint64).tolist()) for g in got] == \
        [sorted(w) for w in want]
    unsigned = [np.array(g, dtype=np.int64).view(np.uint64).tolist() for g in got]
    assert all(u == sorted(u) and len(u) == len(set(u)) for u in unsigned)  # sorted (as uint64), distinct
    lists = minhash_lists(t["minhash"].combine_chunks(), 128).to_pylist()
    sig = decode_minhash(t["minhash"].combine_chunks(), 128)
    assert [np.array(x, dtype=np.int64).view(np.uint64).tolist() for x in lists] == sig.tolist()


def test_verification_values_match_the_scan_columns() -> None:
    """The job recomputes the edge-check input of candidate pages only: it must equal what
    the full feature pass gives for the same texts (shingle sets, or signatures)."""
    texts = pa.array(["The cat sat on the mat near the door today.", "", "two words",
                      "Copyright 2024 Press. All rights reserved; reproduced by permission."])
    exact = Featurizer(DedupConfig())
    assert exact.verification_values(texts).equals(exact(texts, shingle_sets=True).column("shingles").combine_chunks())
    est = Featurizer(DedupConfig(verify="estimate"))
    sig = decode_minhash(est(texts).column("minhash").combine_chunks(), 128)
    assert est.verification_values(texts).to_pylist() == sig.view(np.int64).tolist()


def test_running_numbers_in_a_template_page_under_each_policy() -> None:
    """A 46-word template page whose year and page number sit mid-text: with digits kept the
    two copies fall below 0.8 (J 0.68); zeroed on prose pages they are identical shingle sets."""
    from sciforge.pipelines.dedup.features import exact_shingle_sets
    from sciforge.pipelines.dedup.minhash import exact_jaccard

    tpl = ("Printed in {year} by Open Science Press. All rights reserved. No part of this publication may be "
           "reproduced, stored in a retrieval system or transmitted, page {page} of the front matter, in any "
           "form or by any means without the prior written permission of the publisher.")
    texts = [tpl.format(year=2001, page=3), tpl.format(year=2002, page=4)]
    keep = exact_shingle_sets(texts, DedupConfig(numbers="keep"))
    prose = exact_shingle_sets(texts, DedupConfig())
    assert round(exact_jaccard(*keep), 2) == 0.68
    assert exact_jaccard(*prose) == 1.0


def test_features_sliced_by_bytes_equal_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Featurizer` works `FEATURE_BATCH_BYTES` of text at a time: every value per page,
    whatever the slicing (here slices of a few pages, one page longer than a slice)."""
    texts = pa.array([f"Page {i}: the same words, again and again, {'x ' * (i % 7)}end." for i in range(40)]
                     + ["", None, "long " * 200, "Ünïcödé straße café 2024", "one"], pa.large_string())
    cfg = DedupConfig(containment="on")
    whole = Featurizer(cfg)(texts, shingle_sets=True)
    vals = Featurizer(cfg).verification_values(texts)
    monkeypatch.setattr(features, "FEATURE_BATCH_BYTES", 200)
    assert len(features.byte_slices(texts)) > 10
    assert Featurizer(cfg)(texts, shingle_sets=True).equals(whole)
    assert Featurizer(cfg).verification_values(texts).equals(vals)
    assert Featurizer(cfg)(texts.slice(3, 30)).equals(whole.slice(3, 30).drop_columns(["shingles"]))


def test_byte_slices_cover_the_input_in_order() -> None:
    texts = pa.chunked_array([pa.array(["aa", "bbbb", None]), pa.array(["c" * 50, "", "dd"])])
    parts = features.byte_slices(texts, 5)
    assert [p.to_pylist() for p in parts] == [["aa"], ["bbbb", None], ["c" * 50], ["", "dd"]]
    assert [p.to_pylist() for p in features.byte_slices(pa.array([], pa.string()), 5)] == [[]]
