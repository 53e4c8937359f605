"""MinHash core: bit-identical to datasketch, accurate estimates, shingles per page."""

from __future__ import annotations

import random
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from datasketch import MinHash
from datasketch.hashfunc import sha1_hash64

from sciforge.pipelines.dedup.minhash import (
    Permutations,
    band_hashes,
    exact_jaccard,
    jaccard_estimate,
    ngram_hashes,
    normalize,
    shingle_sets,
    signatures,
    token_hashes,
    unique_sorted,
)


@pytest.mark.parametrize("num_perm,seed", [(128, 1), (64, 7)])
def test_signatures_bit_identical_to_datasketch_affine64(num_perm: int, seed: int) -> None:
    rng = random.Random(seed)
    sets = [[f"s{rng.randrange(20000)}".encode() for _ in range(k)] for k in (0, 1, 3, 250, 9000)]
    hashes = [np.array([sha1_hash64(x) for x in s], dtype=np.uint64) for s in sets]
    offsets = np.r_[0, np.cumsum([len(h) for h in hashes])]
    sig = signatures(np.concatenate(hashes), offsets, Permutations.make(num_perm, seed))
    for s, row in zip(sets, sig, strict=True):
        m = MinHash(num_perm=num_perm, seed=seed, scheme="affine64")
        m.update_batch(s)
        assert np.array_equal(m.hashvalues, row)


def test_estimate_tracks_exact_jaccard() -> None:
    rng = np.random.default_rng(3)
    perms = Permutations.make(256, 1)
    errors = []
    for target in (0.2, 0.5, 0.8, 0.95):
        for _ in range(10):
            base = rng.integers(0, 2**63, 400, dtype=np.uint64)
            # |A & B| / |A | B| = target with A, B sharing k of 400 elements each
            k = int(round(2 * 400 * target / (1 + target)))
            other = np.concatenate([base[:k], rng.integers(0, 2**63, 400 - k, dtype=np.uint64)])
            exact = exact_jaccard(set(base.tolist()), set(other.tolist()))
            sig = signatures(np.concatenate([base, other]), np.array([0, 400, 800]), perms)
            errors.append(abs(float(jaccard_estimate(sig[0], sig[1])) - exact))
    # std of the estimator is sqrt(J(1-J)/256) <= 0.031: the mean error must be well below it
    assert np.mean(errors) < 0.03
    assert max(errors) < 0.12


def test_normalize_case_punctuation_digits() -> None:
    out = normalize(pa.array(["Hello,   WORLD!! Page 12", "ﬁne\u00a0print", None, " -- "]), norm_numbers=True)
    assert out.to_pylist() == ["hello world page 00", "fine print", "", ""]


def test_shingles_do_not_cross_pages_and_short_pages_get_one() -> None:
    texts = ["a b c d e f g", "one", "", "x y", "a b c d e f g"]
    toks, offs = token_hashes(normalize(pa.array(texts), norm_numbers=True))
    assert np.diff(offs).tolist() == [7, 1, 0, 2, 7]
    hashes, hoffs = ngram_hashes(toks, offs, 5)
    assert np.diff(hoffs).tolist() == [3, 1, 0, 1, 3]
    assert np.array_equal(hashes[hoffs[0]:hoffs[1]], hashes[hoffs[4]:hoffs[5]])
    alone, aoffs = ngram_hashes(*token_hashes(normalize(pa.array(["x y"]), norm_numbers=True)), 5)
    assert np.array_equal(alone, hashes[hoffs[3]:hoffs[4]])


def test_shingle_sets_order_sensitive() -> None:
    a, b, c = shingle_sets(["the cat sat on the mat", "the mat sat on the cat", "The cat, sat on THE mat."], 2)
    assert a == c and a != b


def test_band_hashes_localize_differences() -> None:
    sig = np.arange(2 * 12, dtype=np.uint64).reshape(2, 12)
    sig[1] = sig[0]
    sig[1, 5] += 1  # band 1 of (4 bands x 3 rows)
    h = band_hashes(sig, 4, 3)
    assert (h[0] == h[1]).tolist() == [True, False, True, True]


def test_ascii_fast_path_equals_the_unicode_kernels() -> None:
    """`normalize` sends pure-ASCII pages through a numpy byte table: same output as the
    Arrow Unicode kernels, on a batch mixing ASCII, non-ASCII, empty and null pages."""
    import pyarrow.compute as pc

    from sciforge.pipelines.dedup.minhash import _normalize_unicode

    rng = random.Random(3)
    alphabet = "abcXYZ019 \t\n.,;:!?-_()[]{}'\"/\\@#$%^&*+=<>|~`\x00\x1f\x7f"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 60))) for _ in range(300)]
    texts += ["", "   ", "  a  ", "A1b2--C3 ", "Ünïcode straße ① 42 ＡＢＣ", "mixed ASCII then é", None]
    arr = pa.array(texts, pa.large_string())
    for flag in (True, False):
        want = _normalize_unicode(pc.fill_null(arr, ""), flag).to_pylist()
        assert normalize(arr, norm_numbers=flag).to_pylist() == want
        assert normalize(arr.slice(7, 50), norm_numbers=flag).to_pylist() == want[7:57]
        ascii_only = pa.array([t for t in texts[:300]], pa.large_string())
        assert normalize(ascii_only, norm_numbers=flag).to_pylist() == want[:300]


def test_unique_sorted_gives_each_segments_sorted_distinct_values() -> None:
    rng = np.random.default_rng(5)
    segs = [rng.integers(0, 50, k).astype(np.uint64) for k in (0, 1, 7, 300, 0, 2)]
    segs.append(np.array([2**64 - 1, 0, 2**63, 2**64 - 1], dtype=np.uint64))  # full uint64 range
    offsets = np.r_[0, np.cumsum([len(s) for s in segs])]
    values, offs = unique_sorted(np.concatenate(segs), offsets)
    got = [values[offs[i]:offs[i + 1]].tolist() for i in range(len(segs))]
    assert got == [sorted(set(s.tolist())) for s in segs]


def _split_token_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Reference for `token_hashes`: Python's split on single spaces, SipHash of each token."""
    toks = [t.split(" ") if t else [] for t in texts]
    flat = np.array([w for ts in toks for w in ts], dtype=object)
    hashes = pd.util.hash_array(flat, categorize=False).astype(np.uint64) if len(flat) else np.zeros(0, np.uint64)
    return hashes, np.r_[0, np.cumsum([len(ts) for ts in toks])].astype(np.int64)


@pytest.mark.parametrize("seed", range(4))
def test_token_hashes_equal_a_split_on_spaces(seed: int) -> None:
    """Normalized texts (single spaces, fast path over the bytes) and texts cut right after a
    space, with empty and sliced inputs (the split path), give the same tokens as str.split."""
    rng = random.Random(seed)
    raw = ["".join(rng.choice("ab é9.,  -") for _ in range(rng.choice([0, 1, 3, 8, 30]))) for _ in range(60)]
    norm = normalize(pa.array(raw, pa.large_string()), norm_numbers=False)
    cut = pc.utf8_slice_codeunits(norm, 0, 4)  # "ab c" -> "ab c", "a b cd" -> "a b " (trailing space)
    for arr in (norm, norm.slice(7, 20), cut, pa.array(["", "", "x"], pa.large_string())):
        got, offs = token_hashes(arr)
        want, woffs = _split_token_hashes(arr.to_pylist())
        assert np.array_equal(offs, woffs)
        assert np.array_equal(got, want)


def test_normalize_ascii_equals_the_regex_definition() -> None:
    """The byte-table path for ASCII pages: lowercase, every run of characters other than
    [a-z0-9] -> one space, none leading or trailing (digits -> 0 when asked)."""
    rng = random.Random(5)
    texts = ["".join(rng.choice("aZ9 .\n\t-!") for _ in range(rng.choice([0, 1, 2, 5, 40]))) for _ in range(400)]
    for zero in (False, True):
        want = [re.sub(r"[^a-z0-9]+", " ", t.lower()).strip(" ") for t in texts]
        if zero:
            want = [re.sub(r"[0-9]", "0", t) for t in want]
        arr = pa.array(texts, pa.large_string())
        assert normalize(arr, norm_numbers=zero).to_pylist() == want
        assert normalize(arr.slice(13, 200), norm_numbers=zero).to_pylist() == want[13:213]
