"""The on-disk token shard format: ``shard-NNNNN.bin`` + ``shard-NNNNN.idx``.

``.bin``: little-endian ``uint32`` token ids, a whole number of ``seq_len`` sequences (the tail of the
last sequence is ``<|pad|>``). Memory-map it with ``numpy.memmap(path, "<u4")``.

``.idx``: a 64-byte header then two arrays describing the documents packed into the shard::

    magic  b"SFCIDX01"      8 bytes
    seq_len, n_tokens, n_docs, n_domains   4 x uint64 (little-endian)
    reserved                24 bytes (zeros)
    doc_start  uint64[n_docs]   offset of each document's first token (ascending; 0 first)
    doc_domain uint16[n_docs]   index into the snapshot's domain list (corpus.json)

A document's tokens run from its start to the next start (or ``n_tokens``) and end with
``<|endoftext|>``; a document longer than a sequence simply continues into the next one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

MAGIC = b"SFCIDX01"
HEADER = struct.Struct("<8s4Q24x")
TOKEN_DTYPE = np.dtype("<u4")


@dataclass(frozen=True)
class ShardIndex:
    seq_len: int
    n_tokens: int
    doc_start: np.ndarray  # uint64
    doc_domain: np.ndarray  # uint16
    n_domains: int

    @property
    def n_sequences(self) -> int:
        return self.n_tokens // self.seq_len

    def to_bytes(self) -> bytes:
        head = HEADER.pack(MAGIC, self.seq_len, self.n_tokens, len(self.doc_start), self.n_domains)
        return (head + np.ascontiguousarray(self.doc_start, "<u8").tobytes()
                + np.ascontiguousarray(self.doc_domain, "<u2").tobytes())

    @classmethod
    def from_bytes(cls, blob: bytes) -> ShardIndex:
        if len(blob) < HEADER.size:
            raise ValueError("index file too short")
        magic, seq_len, n_tokens, n_docs, n_domains = HEADER.unpack_from(blob)
        if magic != MAGIC:
            raise ValueError(f"not a sciforge corpus index (magic {magic!r})")
        need = HEADER.size + n_docs * 10
        if len(blob) != need:
            raise ValueError(f"index file has {len(blob)} bytes, expected {need}")
        starts = np.frombuffer(blob, "<u8", n_docs, HEADER.size)
        domains = np.frombuffer(blob, "<u2", n_docs, HEADER.size + 8 * n_docs)
        return cls(seq_len, n_tokens, starts, domains, n_domains)

    def doc_ids(self, first_token: int, length: int) -> np.ndarray:
        """Document number (shard-wide) of every token in ``[first_token, first_token + length)``."""
        pos = np.arange(first_token, first_token + length, dtype=np.uint64)
        return np.searchsorted(self.doc_start, pos, side="right").astype(np.int64) - 1


def pack(docs: list[np.ndarray], domains: list[int], seq_len: int, pad_id: int,
         n_domains: int) -> tuple[np.ndarray, ShardIndex]:
    """Concatenate documents (each already ending with EOD) and pad to whole sequences."""
    lengths = np.fromiter((len(d) for d in docs), dtype=np.uint64, count=len(docs))
    starts = np.zeros(len(docs), dtype=np.uint64)
    if len(docs) > 1:
        starts[1:] = np.cumsum(lengths[:-1])
    total = int(lengths.sum())
    n_tokens = -(-total // seq_len) * seq_len
    tokens = np.full(n_tokens, pad_id, dtype=TOKEN_DTYPE)
    if docs:
        tokens[:total] = np.concatenate(docs).astype(TOKEN_DTYPE, copy=False)
    return tokens, ShardIndex(seq_len, n_tokens, starts, np.asarray(domains, dtype=np.uint16), n_domains)
