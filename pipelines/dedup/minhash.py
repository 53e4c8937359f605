"""Normalization, word n-gram shingles and vectorized MinHash signatures.

The permutation scheme is datasketch's ``affine64`` (datasketch >= 2.0): each 64-bit shingle
hash is pre-mixed once with the MurmurHash3 finalizer, then permutation k maps it to
``a_k * h + b_k mod 2^64`` with odd ``a_k``; ``a, b`` are drawn exactly as datasketch draws
them from ``np.random.RandomState(seed)``. Given the same shingle hashes, our signatures are
bit-identical to ``datasketch.MinHash(num_perm, seed, scheme="affine64")`` (tested), so the
Jaccard estimates are too. What differs is speed: shingles of a whole batch of pages are
hashed and permuted as numpy arrays instead of one Python call per shingle.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

U64 = np.uint64
MAX_HASH = np.iinfo(np.uint64).max
# MurmurHash3 64-bit finalizer constants (Appleby; same as datasketch's _FMIX_CONSTANTS[64]).
_FMIX_M1 = U64(0xFF51AFD7ED558CCD)
_FMIX_M2 = U64(0xC4CEB9FE1A85EC53)
_S33 = U64(33)
# Odd 64-bit multiplier for combining token hashes into an n-gram hash (the golden ratio
# constant of Fibonacci hashing, Knuth TAOCP 6.4); any odd constant keeps order sensitivity.
_NGRAM_MULT = U64(0x9E3779B97F4A7C15)
# Shingles permuted per numpy block: bounds the temporary (block x num_perm x 8 bytes),
# 8192 x 128 x 8 = 8 MiB. Measured on the 20k-page bench input (6M shingles): 0.88-0.90
# CPU-s at 8192-16384, 1.10 at 4096 (per-block overhead), 1.16 at 32768 (cache misses).
_BLOCK = 8192


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer (an avalanching bijection); wraps mod 2^64."""
    h = h ^ (h >> _S33)
    h = h * _FMIX_M1
    h = h ^ (h >> _S33)
    h = h * _FMIX_M2
    return h ^ (h >> _S33)


@dataclass(frozen=True)
class Permutations:
    a: np.ndarray  # (num_perm,) uint64, odd
    b: np.ndarray  # (num_perm,) uint64

    @classmethod
    def make(cls, num_perm: int, seed: int) -> Permutations:
        """Draw (a, b) exactly as datasketch.MinHash(scheme="affine64") does."""
        gen = np.random.RandomState(seed)
        a = gen.randint(0, 1 << 63, num_perm, dtype=np.uint64) * U64(2) + U64(1)
        b = gen.randint(0, 1 << 64, num_perm, dtype=np.uint64)
        return cls(a=a, b=b)

    @property
    def num_perm(self) -> int:
        return len(self.a)


def signatures(shingles: np.ndarray, offsets: np.ndarray, perms: Permutations) -> np.ndarray:
    """MinHash signatures of many sets at once.

    ``shingles``: uint64 hashes of all sets concatenated; set i is
    ``shingles[offsets[i]:offsets[i+1]]``. Returns (n_sets, num_perm) uint64; an empty set
    gets all ``MAX_HASH`` (datasketch's empty MinHash). Works block by block, so memory is
    bounded whatever the size of one set.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    n = len(offsets) - 1
    sig = np.full((n, perms.num_perm), MAX_HASH, dtype=np.uint64)
    total = int(offsets[-1]) if n >= 0 and len(offsets) else 0
    if total == 0:
        return sig
    lengths = np.diff(offsets)
    owner = np.repeat(np.arange(n, dtype=np.int64), lengths)  # set index of every shingle
    mixed = fmix64(np.asarray(shingles, dtype=np.uint64))
    # (num_perm, block) layout: every permutation's row is contiguous, so the per-set minimum
    # (reduceat along axis 1) runs over contiguous memory (~2.5x faster than the transpose).
    a, b = perms.a[:, None], perms.b[:, None]
    buf = np.empty((perms.num_perm, min(_BLOCK, total)), dtype=np.uint64)
    for start in range(0, total, _BLOCK):
        stop = min(total, start + _BLOCK)
        phv = buf[:, : stop - start]
        np.multiply(a, mixed[None, start:stop], out=phv)
        np.add(phv, b, out=phv)
        own = owner[start:stop]
        firsts = np.flatnonzero(np.r_[True, own[1:] != own[:-1]])
        red = np.minimum.reduceat(phv, firsts, axis=1).T
        sets = own[firsts]  # unique, ascending: plain fancy assignment is safe
        sig[sets] = np.minimum(sig[sets], red)
    return sig


def jaccard_estimate(s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """Fraction of equal signature slots (datasketch MinHash.jaccard), row-wise."""
    return np.count_nonzero(np.asarray(s1) == np.asarray(s2), axis=-1) / np.asarray(s1).shape[-1]


# ---------------------------------------------------------------------------------------
# normalization and shingles


def normalize(texts: pa.Array, *, norm_numbers: bool, max_chars: int | None = None) -> pa.Array:
    """NFKC, lowercase, digits -> 0 (optional), every run of non letters/digits -> one space.

    The same simplification datatrove's ``simplify_text`` and text-dedup apply before
    shingling, done with Arrow compute kernels (no Python loop per page). Pure-ASCII pages
    (most of them) take a byte-table path in numpy that gives the same result ~10x faster
    (NFKC is the identity on ASCII and the Unicode classes reduce to [a-z0-9]).
    """
    s = pc.fill_null(texts.cast(pa.large_string()), "")
    if isinstance(s, pa.ChunkedArray):
        s = s.combine_chunks()
    if max_chars is not None:
        s = pc.utf8_slice_codeunits(s, 0, max_chars)
    ascii_rows = pc.string_is_ascii(s).to_numpy(zero_copy_only=False)
    if ascii_rows.all():
        return _normalize_ascii(s, norm_numbers)
    if not ascii_rows.any():
        return _normalize_unicode(s, norm_numbers)
    a, u = np.flatnonzero(ascii_rows), np.flatnonzero(~ascii_rows)
    parts = pa.concat_arrays([_normalize_ascii(s.take(pa.array(a)), norm_numbers),
                              _normalize_unicode(s.take(pa.array(u)), norm_numbers)])
    back = np.empty(len(s), dtype=np.int64)
    back[np.concatenate([a, u])] = np.arange(len(s))
    return parts.take(pa.array(back))


def _normalize_unicode(s: pa.Array, norm_numbers: bool) -> pa.Array:
    s = pc.utf8_normalize(s, "NFKC")
    s = pc.utf8_lower(s)
    if norm_numbers:
        s = pc.replace_substring_regex(s, r"\p{Nd}", "0")
    s = pc.replace_substring_regex(s, r"[^\p{L}\p{N}\p{M}]+", " ")
    return pc.utf8_trim(s, " ")


def _ascii_table(norm_numbers: bool) -> np.ndarray:
    """Byte -> normalized byte: a-z kept, A-Z lowered, digits kept or 0, all else a space."""
    lut = np.full(256, ord(" "), dtype=np.uint8)
    lut[ord("a"): ord("z") + 1] = np.arange(ord("a"), ord("z") + 1)
    lut[ord("A"): ord("Z") + 1] = np.arange(ord("a"), ord("z") + 1)
    lut[ord("0"): ord("9") + 1] = ord("0") if norm_numbers else np.arange(ord("0"), ord("9") + 1)
    return lut


_ASCII_TABLES = {flag: _ascii_table(flag) for flag in (False, True)}


def _normalize_ascii(s: pa.Array, norm_numbers: bool) -> pa.Array:
    """`normalize` of pure-ASCII large strings without nulls: map every byte through a table,
    then drop leading, trailing and repeated spaces (all vectorized over the whole batch).

    Only bytewise numpy passes touch every byte; the few positions that need counting (the
    dropped spaces, each page's trailing space) go through ``searchsorted`` on their own
    indices, not through a cumulative sum over all bytes (~4x faster on 2 MiB batches)."""
    n = len(s)
    offsets = np.frombuffer(s.buffers()[1], dtype=np.int64)[s.offset: s.offset + n + 1]
    lo = int(offsets[0])
    data = s.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8)[lo: int(offsets[-1])] if data is not None else np.zeros(0, np.uint8)
    b = _ASCII_TABLES[norm_numbers][raw]
    rel = offsets - lo
    space = b == ord(" ")
    prev_space = np.empty(len(b), dtype=bool)  # a space after a space or at a page start goes
    prev_space[0:1] = True
    prev_space[1:] = space[:-1]
    prev_space[rel[:-1][rel[:-1] < len(b)]] = True
    keep = ~space
    keep |= ~prev_space  # the first space after a word, trailing ones included (below)
    # A page that ends in a space ends in one run of spaces; its first space is the page's
    # last kept space (no word follows it), unless the page is all spaces (none kept).
    nonempty = rel[1:] > rel[:-1]
    first, end = rel[:-1][nonempty], rel[1:][nonempty]
    tail = space[end - 1]
    gaps = np.flatnonzero(space & keep) if tail.any() else np.zeros(0, np.int64)
    if len(gaps):
        first, end = first[tail], end[tail]
        last = np.searchsorted(gaps, end) - 1
        own = (last >= 0) & (gaps[np.maximum(last, 0)] >= first)  # not a space of an earlier page
        keep[gaps[last[own]]] = False
    dropped = np.flatnonzero(~keep)
    new_offsets = rel - np.searchsorted(dropped, rel)
    out = b[keep]
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(new_offsets.astype(np.int64).tobytes()),
                                            pa.py_buffer(out.tobytes()))


def token_hashes(normalized: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Split normalized texts on spaces; returns (uint64 hash per token, offsets per text).

    Tokens are dictionary-encoded first, so only distinct tokens are hashed (SipHash-2-4
    with a fixed key via pandas: deterministic across processes, unlike ``hash()``).
    """
    fast = _spaced_tokens(normalized)
    if fast is not None:
        tokens, offsets = fast
        if len(tokens) == 0:
            return np.zeros(0, dtype=np.uint64), offsets
        enc = pc.dictionary_encode(tokens)
        # a token carries the space that follows it (`_spaced_tokens`): hash it without
        vocab = pc.utf8_rtrim(enc.dictionary, " ").to_numpy(zero_copy_only=False).astype(object)
        vocab_hash = pd.util.hash_array(vocab, categorize=False).astype(np.uint64)
        return vocab_hash[enc.indices.to_numpy(zero_copy_only=False)], offsets
    lists = pc.split_pattern(normalized, " ")
    # "" splits into [""]: an empty text must have no tokens.
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    empty = pc.equal(pc.utf8_length(normalized), 0).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(lists)
    if empty.any():
        keep = np.repeat(~empty, lengths)
        flat = flat.filter(pa.array(keep))
        lengths = np.where(empty, 0, lengths)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if len(flat) == 0:
        return np.zeros(0, dtype=np.uint64), offsets
    enc = pc.dictionary_encode(flat).combine_chunks() if isinstance(flat, pa.ChunkedArray) \
        else pc.dictionary_encode(flat)
    vocab = enc.dictionary.to_numpy(zero_copy_only=False).astype(object)
    vocab_hash = pd.util.hash_array(vocab, categorize=False).astype(np.uint64)
    idx = enc.indices.to_numpy(zero_copy_only=False)
    return vocab_hash[idx], offsets


def _spaced_tokens(normalized: pa.Array) -> tuple[pa.Array, np.ndarray] | None:
    """The tokens of texts in `normalize`'s form (words joined by single spaces, none leading
    or trailing), as one zero-copy array over the texts' bytes in which every token but a
    text's last carries the space after it, and the token offsets per text; None when a text
    is not in that form (a null, or a text cut at `max_minhash_chars` right after a space),
    for which `token_hashes` splits on spaces instead. The same tokens as
    ``split_pattern(" ")`` without building a list array (~2x faster tokenization)."""
    if not pa.types.is_large_string(normalized.type) or normalized.null_count:
        return None
    n = len(normalized)
    offsets = np.frombuffer(normalized.buffers()[1], dtype=np.int64)[normalized.offset: normalized.offset + n + 1]
    lo, hi = int(offsets[0]), int(offsets[-1])
    data = normalized.buffers()[2]
    if data is None or hi == lo:
        return pa.array([], pa.large_string()), np.zeros(n + 1, dtype=np.int64)
    space = np.frombuffer(data, dtype=np.uint8)[lo:hi] == ord(" ")
    rel = offsets - lo
    nonempty = rel[1:] > rel[:-1]
    first, last = rel[:-1][nonempty], rel[1:][nonempty] - 1
    if space[first].any() or space[last].any() or (space[1:] & space[:-1]).any():
        return None
    # every space lies inside a text with a word on each side: a token starts after it
    start = np.zeros(len(space), dtype=bool)
    start[first] = True
    start[np.flatnonzero(space) + 1] = True
    starts = np.flatnonzero(start)
    tok_offsets = np.empty(len(starts) + 1, dtype=np.int64)
    tok_offsets[:-1] = starts + lo
    tok_offsets[-1] = hi
    tokens = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(tok_offsets.tobytes()), data)
    return tokens, np.searchsorted(starts, rel)


def ngram_hashes(tokens: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash every word n-gram that lies inside one text; a text with 1..n-1 tokens gets one
    shingle of all its tokens (as datasketch/text-dedup examples do). Returns (hashes, offsets)."""
    lengths = np.diff(offsets)
    total = len(tokens)
    owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    starts = np.arange(total, dtype=np.int64)
    valid = starts + n <= offsets[1:][owner] if total else np.zeros(0, dtype=bool)
    m = max(total - n + 1, 0)
    h = tokens[:m].copy()
    for k in range(1, n):
        h *= _NGRAM_MULT
        h ^= tokens[k : k + m]
    pos = starts[:m][valid[:m]]
    hashes = h[valid[:m]]
    counts = np.maximum(lengths - n + 1, 0)
    short = np.flatnonzero((lengths > 0) & (lengths < n))
    if len(short):
        extra = np.empty(len(short), dtype=np.uint64)
        with np.errstate(over="ignore"):  # wrapping mod 2^64 is the intent
            for j, i in enumerate(short):
                acc = U64(tokens[offsets[i]])
                for t in tokens[offsets[i] + 1 : offsets[i + 1]]:
                    acc = acc * _NGRAM_MULT ^ t
                extra[j] = acc
        counts[short] = 1
        pos = np.concatenate([pos, offsets[short]])
        hashes = np.concatenate([hashes, extra])
        order = np.argsort(pos, kind="stable")
        hashes = hashes[order]
    out_offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(counts, out=out_offsets[1:])
    return hashes, out_offsets


def unique_sorted(values: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per segment (``values[offsets[i]:offsets[i+1]]``) the sorted distinct values, for all
    segments at once: the shingle SETS as flat arrays (exact Jaccard without Python sets).

    Each segment is sorted in place by its own ``ndarray.sort`` (one call per page, a few
    microseconds for a page's few hundred shingles): ~15x faster than one ``np.lexsort`` over
    (values, owner) for a 2,000-page batch, since nothing is compared across segments."""
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    v = np.array(values, copy=True)
    for i in np.flatnonzero(lengths > 1):
        v[offsets[i]: offsets[i + 1]].sort()
    owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    keep = np.ones(len(v), dtype=bool)
    keep[1:] = (v[1:] != v[:-1]) | (owner[1:] != owner[:-1])
    out_offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner[keep], minlength=len(lengths)), out=out_offsets[1:])
    return v[keep], out_offsets


def shingle_sets(texts: list[str], n: int, *, norm_numbers: bool = True) -> list[set[int]]:
    """Exact shingle sets (same hashes as the MinHash path): for ground truth and verification."""
    norm = normalize(pa.array(texts, pa.large_string()), norm_numbers=norm_numbers)
    toks, offs = token_hashes(norm)
    hashes, hoffs = ngram_hashes(toks, offs, n)
    return [set(hashes[hoffs[i] : hoffs[i + 1]].tolist()) for i in range(len(texts))]


def exact_jaccard(a: set[int], b: set[int]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def content_hashes(normalized: pa.Array) -> list[str]:
    """128-bit BLAKE2b of each normalized text (hex): the exact-duplicate key. The caller
    passes the FULL normalized text (never cut at `max_minhash_chars`)."""
    return [hashlib.blake2b(s.encode("utf-8"), digest_size=16).hexdigest() for s in normalized.to_pylist()]


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64 bucket keys: band i hashes signature slots [i*rows, (i+1)*rows)."""
    n = sig.shape[0]
    blocks = sig[:, : bands * rows].reshape(n, bands, rows)
    h = np.zeros((n, bands), dtype=np.uint64)
    for j in range(rows):
        h *= _NGRAM_MULT
        h ^= blocks[:, :, j]
        h = fmix64(h)
    return h
