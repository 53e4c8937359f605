"""Per-page dedup features for one Arrow batch of pages (the map side of the job).

Input: a batch following the PAGE-TEXT CONTRACT (at least ``text``). Output, row-aligned:
``status`` (ok | empty | invalid_utf8), ``n_words``, ``norm_chars`` (length of the normalized
text, the "longest" of the representative rule), ``content_hash`` (exact-duplicate key),
``minhash`` (num_perm little-endian uint64 as bytes), ``bands`` (one int64 bucket key per band),
``minhash_truncated``; with ``shingle_sets=True`` also ``shingles`` (the sorted distinct
shingle hashes as int64: the exact-Jaccard input of the Spark job's edge verification).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.dedup.config import DedupConfig
from pipelines.dedup.lsh import optimal_params
from pipelines.dedup.minhash import (
    Permutations,
    band_hashes,
    content_hashes,
    ngram_hashes,
    normalize,
    signatures,
    token_hashes,
    unique_sorted,
)

# Contract columns every input page carries (see FOUNDATION_API.md, PAGE-TEXT CONTRACT).
PAGE_COLUMNS = ("doc_id", "page", "source", "url", "domain", "field", "text")
PAGE_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("page", pa.int32()), ("source", pa.string()), ("url", pa.string()),
    ("domain", pa.string()), ("field", pa.string()), ("text", pa.string()),
])

STATUS_OK = "ok"
EMPTY = "empty"  # no letters or digits at all after normalization
INVALID_UTF8 = "invalid_utf8"

FEATURE_SCHEMA = pa.schema([
    ("status", pa.string()),
    ("n_words", pa.int64()),
    ("norm_chars", pa.int64()),
    ("content_hash", pa.string()),
    ("minhash", pa.binary()),
    ("bands", pa.list_(pa.int64())),
    ("minhash_truncated", pa.bool_()),
])


@dataclass(frozen=True)
class Featurizer:
    """Picklable: holds the config and the permutations (built once per task)."""

    cfg: DedupConfig

    @property
    def bands_rows(self) -> tuple[int, int]:
        c = self.cfg
        if c.bands is not None and c.rows is not None:
            return c.bands, c.rows
        return optimal_params(c.threshold, c.num_perm, c.false_positive_weight, c.false_negative_weight)

    def __call__(self, texts: pa.Array | pa.ChunkedArray, *, shingle_sets: bool = False) -> pa.Table:
        return page_features(texts, self.cfg, self.bands_rows, _perms(self.cfg.num_perm, self.cfg.seed),
                             shingle_sets=shingle_sets)

    def verification_values(self, texts: pa.Array | pa.ChunkedArray) -> pa.ListArray:
        """What the edge check compares, one list<int64> per text: the sorted distinct shingle
        hashes (``verify="exact"``, the ``shingles`` column of ``shingle_sets=True``) or the
        signature (``verify="estimate"``, the ``minhash`` column as `minhash_lists`). Computed
        only for the texts given (a job's candidate pages), not for the whole input."""
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        if self.cfg.verify == "estimate":
            return minhash_lists(self(texts).column("minhash"), self.cfg.num_perm)
        shingles, offsets = _shingles(_utf8_texts(texts)[0], self.cfg)[2:]
        values, offs = unique_sorted(shingles, offsets)
        return pa.ListArray.from_arrays(pa.array(offs.astype(np.int32)), pa.array(values.view(np.int64)))


_PERM_CACHE: dict[tuple[int, int], Permutations] = {}


def _perms(num_perm: int, seed: int) -> Permutations:
    key = (num_perm, seed)
    if key not in _PERM_CACHE:
        _PERM_CACHE[key] = Permutations.make(num_perm, seed)
    return _PERM_CACHE[key]


def _utf8_texts(texts: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Texts as a valid large_string array plus a mask of rows that were not valid UTF-8
    (those become empty strings here and are quarantined as ``invalid_utf8``)."""
    n = len(texts)
    bad = np.zeros(n, dtype=bool)
    if pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type):
        try:
            texts.validate(full=True)
            return texts.cast(pa.large_string()), bad
        except pa.ArrowInvalid:
            texts = texts.cast(pa.large_binary())
    if not (pa.types.is_binary(texts.type) or pa.types.is_large_binary(texts.type)):
        raise TypeError(f"`text` must be a string or binary column, got {texts.type}")
    out: list[str | None] = []
    for i, v in enumerate(texts.to_pylist()):
        if v is None:
            out.append(None)
            continue
        try:
            out.append(v.decode("utf-8"))
        except UnicodeDecodeError:
            bad[i] = True
            out.append("")
    return pa.array(out, pa.large_string()), bad


def _shingles(texts: pa.Array, cfg: DedupConfig) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray]:
    """(normalized texts, token offsets, shingle hashes, shingle offsets) of valid UTF-8 texts."""
    norm = normalize(texts, norm_numbers=cfg.norm_numbers, max_chars=cfg.max_minhash_chars)
    toks, offsets = token_hashes(norm)
    shingles, soffsets = ngram_hashes(toks, offsets, cfg.ngram)
    return norm, offsets, shingles, soffsets


def page_features(texts: pa.Array | pa.ChunkedArray, cfg: DedupConfig, bands_rows: tuple[int, int],
                  perms: Permutations, *, shingle_sets: bool = False) -> pa.Table:
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    bands, rows = bands_rows
    texts, bad = _utf8_texts(texts)
    raw_chars = pc.fill_null(pc.utf8_length(texts), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    truncated = raw_chars > cfg.max_minhash_chars
    norm, offsets, shingles, soffsets = _shingles(texts, cfg)
    n_words = np.diff(offsets)
    sig = signatures(shingles, soffsets, perms)
    bucket = band_hashes(sig, bands, rows).view(np.int64)
    norm_chars = pc.utf8_length(norm).to_numpy(zero_copy_only=False).astype(np.int64)
    status = np.where(bad, INVALID_UTF8, np.where(n_words == 0, EMPTY, STATUS_OK))
    n = len(texts)
    sig_bytes = sig.astype("<u8", copy=False).tobytes()
    width = perms.num_perm * 8
    minhash = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), n, [None, pa.py_buffer(sig_bytes)]).cast(pa.binary())
    band_list = pa.ListArray.from_arrays(
        pa.array(np.arange(0, (n + 1) * bands, bands, dtype=np.int32)), pa.array(bucket.reshape(-1)))
    cols = {
        "status": pa.array(status.astype(object), pa.string()),
        "n_words": pa.array(n_words, pa.int64()),
        "norm_chars": pa.array(norm_chars, pa.int64()),
        "content_hash": pa.array(content_hashes(norm, raw_chars, truncated, texts), pa.string()),
        "minhash": minhash,
        "bands": band_list,
        "minhash_truncated": pa.array(truncated, pa.bool_()),
    }
    schema = FEATURE_SCHEMA
    if shingle_sets:
        values, offs = unique_sorted(shingles, soffsets)
        cols["shingles"] = pa.ListArray.from_arrays(pa.array(offs.astype(np.int32)), pa.array(values.view(np.int64)))
        schema = schema.append(pa.field("shingles", pa.list_(pa.int64())))
    return pa.table(cols, schema=schema)


def minhash_lists(minhash: pa.Array | pa.ChunkedArray, num_perm: int) -> pa.ListArray:
    """The ``minhash`` column as list<int64> (one slot per permutation), for engines that
    compare signatures column-wise (the Spark job's estimate verification)."""
    sig = decode_minhash(minhash, num_perm)
    n = sig.shape[0]
    return pa.ListArray.from_arrays(pa.array(np.arange(0, (n + 1) * num_perm, num_perm, dtype=np.int32)),
                                    pa.array(sig.reshape(-1).view(np.int64)))


def decode_minhash(blobs: list[bytes] | pa.Array, num_perm: int) -> np.ndarray:
    """(n, num_perm) uint64 from the ``minhash`` column."""
    if isinstance(blobs, pa.Array | pa.ChunkedArray):
        blobs = blobs.to_pylist()
    if not blobs:
        return np.zeros((0, num_perm), dtype=np.uint64)
    return np.frombuffer(b"".join(blobs), dtype="<u8").reshape(len(blobs), num_perm).astype(np.uint64)
