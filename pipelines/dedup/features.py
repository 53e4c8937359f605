"""Per-page dedup features for one Arrow batch of pages (the map side of the job).

Input: a batch following the page contract (pipelines/pages.py; at least ``text``). Output, row-aligned:
``status`` (ok | empty | invalid_utf8), ``n_words``, ``norm_chars`` (length of the normalized
text, the "longest" of the representative rule), ``content_hash`` (exact-duplicate key),
``minhash`` (num_perm little-endian uint64 as bytes), ``bands`` (one int64 bucket key per band),
``minhash_truncated``; with ``containment="on"`` also ``samples`` (the page's sampled
shingle hashes, `sampled_shingles`: the containment candidates' keys); with ``shingle_sets=True`` also ``shingles`` (the sorted distinct
shingle hashes as int64: the exact-Jaccard input of the Spark job's edge verification).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sciforge.pipelines.dedup.config import DedupConfig
from sciforge.pipelines.dedup.lsh import optimal_params
from sciforge.pipelines.dedup.minhash import (
    Permutations,
    band_hashes,
    content_hashes,
    fmix64,
    ngram_hashes,
    normalize,
    signatures,
    token_hashes,
    unique_sorted,
)

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
SAMPLES_FIELD = pa.field("samples", pa.list_(pa.int64()))
# Text bytes featurized per pass: every step allocates a few arrays per text byte
# (normalization's byte tables, cumulative counts, token and shingle hashes), so a pass over
# a whole 20k-page day (36 MB of text) streams ~1 GB of temporaries through memory, while
# 2 MiB slices keep them near the L2 cache (4 MiB here). Measured on the 20k-page bench
# input (bench/dedup_throughput.py, features of all pages in one call): 6.0 CPU-s unsliced,
# 3.1-3.7 CPU-s at 0.25-8 MiB slices. Every feature is per page, so slicing changes no value.
FEATURE_BATCH_BYTES = 2 << 20


def feature_schema(cfg: DedupConfig) -> pa.Schema:
    """`FEATURE_SCHEMA`, plus ``samples`` when the containment mode is on."""
    return FEATURE_SCHEMA.append(SAMPLES_FIELD) if cfg.containment == "on" else FEATURE_SCHEMA


def sampled_shingles(shingles: np.ndarray, offsets: np.ndarray, mod: int) -> pa.ListArray:
    """Per page, its distinct shingle hashes h with fmix64(h) % ``mod`` == 0, sorted (as
    int64): a sample that is the same in every page (Broder's mod-m sample), so a passage
    copied into another page has its samples there too."""
    values, offs = unique_sorted(shingles, offsets)
    keep = fmix64(values) % np.uint64(mod) == 0
    cum = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(keep, out=cum[1:])
    return pa.ListArray.from_arrays(pa.array(cum[offs].astype(np.int32)), pa.array(values[keep].view(np.int64)))


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
        """The features of ``texts``, computed `FEATURE_BATCH_BYTES` of text at a time."""
        br, perms = self.bands_rows, _perms(self.cfg.num_perm, self.cfg.seed)
        parts = [page_features(t, self.cfg, br, perms, shingle_sets=shingle_sets) for t in byte_slices(texts)]
        return parts[0] if len(parts) == 1 else pa.concat_tables(parts).combine_chunks()

    def verification_values(self, texts: pa.Array | pa.ChunkedArray) -> pa.ListArray:
        """What the edge check compares, one list<int64> per text: the sorted distinct shingle
        hashes (``verify="exact"``, the ``shingles`` column of ``shingle_sets=True``) or the
        signature (``verify="estimate"``, the ``minhash`` column as `minhash_lists`). Computed
        only for the texts given (a job's candidate pages), not for the whole input. The
        shingle sets cover the FULL text (not cut at `max_minhash_chars`, which only bounds
        the MinHash cost): two huge pages sharing only a prefix collide in LSH but fail here,
        in both engines."""
        if self.cfg.verify == "estimate":
            return minhash_lists(self(texts).column("minhash").combine_chunks(), self.cfg.num_perm)
        parts = []
        for t in byte_slices(texts):  # as `__call__`: a slice's temporaries stay in cache
            shingles, offsets = _shingles(_utf8_texts(t)[0], self.cfg, max_chars=None)[2:]
            values, offs = unique_sorted(shingles, offsets)
            parts.append(pa.ListArray.from_arrays(pa.array(offs.astype(np.int32)), pa.array(values.view(np.int64))))
        return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


    def containment_values(self, texts: pa.Array | pa.ChunkedArray) -> pa.ListArray:
        """What the containment check compares: the sorted distinct shingle hashes of the
        full text with its numbers KEPT, whatever `numbers` says (that policy is decided per
        page, by its digit share, and an excerpt's share differs from its source's: a prose
        excerpt of a number-dense page would have its digits zeroed and its source not)."""
        return Featurizer(containment_shingle_config(self.cfg)).verification_values(texts)


def byte_slices(texts: pa.Array | pa.ChunkedArray, max_bytes: int | None = None) -> list[pa.Array]:
    """``texts`` as consecutive slices of at most ``max_bytes`` (default `FEATURE_BATCH_BYTES`)
    of text each (a longer text is a slice of its own); at least one slice, empty if ``texts`` is."""
    max_bytes = max_bytes or FEATURE_BATCH_BYTES
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    n = len(texts)
    if n == 0 or texts.nbytes <= max_bytes:
        return [texts]
    ends = np.cumsum(pc.fill_null(pc.binary_length(texts), 0).to_numpy(zero_copy_only=False).astype(np.int64))
    out, start = [], 0
    while start < n:
        base = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, base + max_bytes, side="right")), start + 1)
        out.append(texts.slice(start, stop - start))
        start = stop
    return out


def containment_shingle_config(cfg: DedupConfig) -> DedupConfig:
    """The shingling of the containment mode (samples and check): numbers kept."""
    return cfg.model_copy(update={"numbers": "keep", "verify": "exact"})


def exact_shingle_sets(texts: list[str | None], cfg: DedupConfig) -> list[set[int]]:
    """The shingle sets `verify="exact"` compares (full text, numbers policy applied), as
    Python sets: for ground truth in tests and benchmarks."""
    vals = Featurizer(cfg.model_copy(update={"verify": "exact"})).verification_values(
        pa.array(texts, pa.large_string()))
    offs, flat = vals.offsets.to_numpy(), vals.values.to_numpy().view(np.uint64)  # as shingle_sets
    return [set(flat[offs[i]: offs[i + 1]].tolist()) for i in range(len(texts))]


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


_MINHASH_CHARS = object()  # default of `_shingles`: cut at cfg.max_minhash_chars


def printable_text(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The ``text`` column as it is published (valid UTF-8 ``string``): a page that is not
    valid UTF-8 (quarantined as ``invalid_utf8`` by its features) keeps its bytes decoded
    with U+FFFD for each undecodable sequence, so writing it never fails; valid rows are
    unchanged."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type):
        try:
            texts.validate(full=True)
            return texts.cast(pa.string())
        except pa.ArrowInvalid:
            texts = texts.cast(pa.large_binary())
    if not (pa.types.is_binary(texts.type) or pa.types.is_large_binary(texts.type)):
        raise TypeError(f"`text` must be a string or binary column, got {texts.type}")
    return pa.array([None if v is None else v.decode("utf-8", errors="replace") for v in texts.to_pylist()],
                    pa.string())


def digit_share(norm: pa.Array) -> np.ndarray:
    """Per normalized text: ASCII digits / non-space bytes (0 for an empty text)."""
    n = len(norm)
    offsets = np.frombuffer(norm.buffers()[1], dtype=np.int64)[norm.offset: norm.offset + n + 1]
    lo, hi = int(offsets[0]), int(offsets[-1])
    data = norm.buffers()[2]
    b = np.frombuffer(data, dtype=np.uint8)[lo:hi] if data is not None else np.zeros(0, np.uint8)
    rel = offsets - lo
    # counts per page from the positions of the digits and spaces (few), not a cumulative
    # sum over every byte
    digits = np.diff(np.searchsorted(np.flatnonzero((b >= 48) & (b <= 57)), rel))
    chars = np.diff(rel) - np.diff(np.searchsorted(np.flatnonzero(b == 32), rel))
    return np.divide(digits, chars, out=np.zeros(n), where=chars > 0)


def zero_digits(norm: pa.Array, rows: np.ndarray) -> pa.Array:
    """Every decimal digit -> 0 in the ``rows`` (mask) of normalized large strings."""
    n = len(norm)
    offsets = np.frombuffer(norm.buffers()[1], dtype=np.int64)[norm.offset: norm.offset + n + 1]
    lo, hi = int(offsets[0]), int(offsets[-1])
    data = norm.buffers()[2]
    b = (np.frombuffer(data, dtype=np.uint8)[lo:hi] if data is not None else np.zeros(0, np.uint8)).copy()
    sel = np.repeat(rows, np.diff(offsets)) & (b >= 48) & (b <= 57)
    b[sel] = 48
    out = pa.LargeStringArray.from_buffers(n, pa.py_buffer((offsets - lo).astype(np.int64).tobytes()),
                                           pa.py_buffer(b.tobytes()))
    other = rows & ~pc.string_is_ascii(out).to_numpy(zero_copy_only=False)
    if other.any():  # non-ASCII decimal digits (Arabic-Indic, full-width after NFKC: none)
        idx = np.flatnonzero(other)
        fixed = pc.replace_substring_regex(out.take(pa.array(idx)), r"\p{Nd}", "0")
        mask = np.zeros(n, dtype=bool)
        mask[idx] = True
        pos = np.cumsum(mask) - 1
        out = pc.if_else(pa.array(mask), fixed.take(pa.array(np.where(mask, pos, 0))), out)
    return out


def zero_number_rows(norm: pa.Array, cfg: DedupConfig) -> np.ndarray:
    """Rows whose digits become 0 before shingling (`DedupConfig.numbers`)."""
    if cfg.numbers == "keep":
        return np.zeros(len(norm), dtype=bool)
    if cfg.numbers == "zero":
        return np.ones(len(norm), dtype=bool)
    return digit_share(norm) <= cfg.prose_max_digit_share


def _shingles(texts: pa.Array, cfg: DedupConfig, max_chars: Any = _MINHASH_CHARS
              ) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray]:
    """(normalized full texts with their numbers, token offsets, shingle hashes, shingle
    offsets) of valid UTF-8 texts. The shingles follow the numbers policy (`cfg.numbers`,
    decided on the full text) and are cut at ``cfg.max_minhash_chars`` normalized characters
    unless ``max_chars`` says otherwise (None: the full text); the token offsets are those of
    the shingled text."""
    cut = cfg.max_minhash_chars if max_chars is _MINHASH_CHARS else max_chars
    norm = normalize(texts, norm_numbers=False)
    zero = zero_number_rows(norm, cfg)
    sh = zero_digits(norm, zero) if zero.any() else norm
    if cut is not None:
        sh = pc.utf8_slice_codeunits(sh, 0, cut)
    toks, offsets = token_hashes(sh)
    shingles, soffsets = ngram_hashes(toks, offsets, cfg.ngram)
    return norm, offsets, shingles, soffsets


def page_features(texts: pa.Array | pa.ChunkedArray, cfg: DedupConfig, bands_rows: tuple[int, int],
                  perms: Permutations, *, shingle_sets: bool = False) -> pa.Table:
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    bands, rows = bands_rows
    texts, bad = _utf8_texts(texts)
    norm, offsets, shingles, soffsets = _shingles(texts, cfg)
    n_words = np.diff(offsets)
    sig = signatures(shingles, soffsets, perms)
    bucket = band_hashes(sig, bands, rows).view(np.int64)
    norm_chars = pc.utf8_length(norm).to_numpy(zero_copy_only=False).astype(np.int64)
    truncated = norm_chars > cfg.max_minhash_chars
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
        # the exact-duplicate key: the FULL normalized text, numbers kept (pages that differ
        # only in their values are not exact duplicates, whatever `numbers` says)
        "content_hash": pa.array(content_hashes(norm), pa.string()),
        "minhash": minhash,
        "bands": band_list,
        "minhash_truncated": pa.array(truncated, pa.bool_()),
    }
    schema = feature_schema(cfg)
    if cfg.containment == "on":  # of the MinHash input (the first max_minhash_chars), numbers kept
        csh, csoffs = (shingles, soffsets) if cfg.numbers == "keep" else \
            _shingles(texts, containment_shingle_config(cfg))[2:]
        cols["samples"] = sampled_shingles(csh, csoffs, cfg.containment_sample)
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
