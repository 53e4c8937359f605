"""Shared pieces of the dedup benchmarks: the 20 Newsgroups corpus with planted near
duplicates, exact-Jaccard ground truth, and pair/cluster metrics."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from sciforge.pipelines.dedup.config import DedupConfig
from sciforge.pipelines.dedup.features import zero_digits, zero_number_rows
from sciforge.pipelines.dedup.minhash import normalize

DEFAULT_DATA = str(Path(__file__).resolve().parent.parent.parent / "shared" / "data")
NG_FILE = "domain/20newsgroups_train.jsonl.gz"
MIN_WORDS = 30  # posts shorter than this are mostly signatures/one-liners
NGRAM = 5


def load_20ng(data_dir: str, limit: int | None = None) -> list[str]:
    """20 Newsgroups train posts with the mail/news headers stripped (text after the first blank line)."""
    path = Path(data_dir) / NG_FILE
    if not path.exists():
        raise SystemExit(f"{path} not found: pass --data pointing at the shared data folder")
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            body = text.split("\n\n", 1)[1] if "\n\n" in text else text
            if len(body.split()) >= MIN_WORDS:
                out.append(body)
            if limit and len(out) >= limit:
                break
    return out


def edit(rng: random.Random, text: str, frac: float, vocab: list[str]) -> str:
    """A near duplicate: replace, delete or insert `frac` of the words (mixed edits)."""
    toks = text.split()
    n_edits = max(1, round(len(toks) * frac))
    for _ in range(n_edits):
        op = rng.random()
        i = rng.randrange(len(toks))
        if op < 0.5:
            toks[i] = rng.choice(vocab)
        elif op < 0.75 and len(toks) > 5:
            del toks[i]
        else:
            toks.insert(i, rng.choice(vocab))
    return " ".join(toks)


@dataclass
class Corpus:
    texts: list[str]
    planted: list[tuple[int, int]]  # (original, copy) index pairs


def build_corpus(data_dir: str, *, n_planted: int, seed: int = 0, limit: int | None = None,
                 max_edit: float = 0.06) -> Corpus:
    """Real posts as distractors, plus `n_planted` edited copies of random posts: edit
    fractions uniform in (0, max_edit] give exact 5-gram Jaccard spread over ~0.5..1."""
    rng = random.Random(seed)
    base = load_20ng(data_dir, limit)
    vocab = [w for t in rng.sample(base, min(500, len(base))) for w in t.split()]
    texts = list(base)
    planted = []
    for i in rng.sample(range(len(base)), n_planted):
        texts.append(edit(rng, base[i], rng.uniform(0.0, max_edit), vocab))
        planted.append((i, len(texts) - 1))
    return Corpus(texts, planted)


def write_pages(storage, texts: list[str], version: str, part_rows: int = 5000):  # type: ignore[no-untyped-def]
    """Publish ``texts`` as a clean/web_pages dataset (one page per text, the page contract's columns) and
    return its DatasetRef: the input every dedup bench hands to `run_dedup`."""
    from sciforge.pipelines.datasets import DatasetRef, write_dataset
    from sciforge.pipelines.pages import PAGE_SCHEMA

    rows = [{"doc_id": f"{i:06d}", "page": 0, "source": "web", "url": f"https://ng/{i}", "domain": "ng",
             "field": "", "text": t} for i, t in enumerate(texts)]
    table = pa.Table.from_pylist(rows, schema=PAGE_SCHEMA)
    ref = DatasetRef("clean", "web_pages", version)
    write_dataset(storage, ref, [table.slice(i, part_rows) for i in range(0, len(rows), part_rows)],
                  schema=PAGE_SCHEMA, logical_date="2026-01-01")
    return ref


def normalized_tokens(texts: list[str], cfg: DedupConfig | None = None) -> list[list[str]]:
    """The pipeline's normalization of the shingled text (NFKC, lowercase, punctuation ->
    space, digits per the numbers policy `DedupConfig.numbers`), as words."""
    cfg = cfg or DedupConfig()
    norm = normalize(pa.array(texts, pa.large_string()), norm_numbers=False)
    zero = zero_number_rows(norm, cfg)
    return [s.split() for s in (zero_digits(norm, zero) if zero.any() else norm).to_pylist()]


def shingle_strings(tokens: list[str], n: int = NGRAM) -> set[str]:
    if not tokens:
        return set()
    if len(tokens) < n:
        return {" ".join(tokens)}
    return {" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def exact_pairs(shingles: list[set[str]], min_jaccard: float, block: int = 1000) -> dict[tuple[int, int], float]:
    """Every pair (i < j) with exact Jaccard >= min_jaccard, by sparse co-occurrence counts."""
    vocab: dict[str, int] = {}
    indptr, indices = [0], []
    for s in shingles:
        indices.extend(vocab.setdefault(x, len(vocab)) for x in s)
        indptr.append(len(indices))
    a = sp.csr_matrix((np.ones(len(indices), dtype=np.int32), np.array(indices), np.array(indptr)),
                      shape=(len(shingles), len(vocab)))
    sizes = np.diff(a.indptr)
    at = a.T.tocsr()
    out: dict[tuple[int, int], float] = {}
    for start in range(0, a.shape[0], block):
        inter = (a[start:start + block] @ at).tocoo()
        i = inter.row + start
        j = inter.col
        keep = i < j
        i, j, c = i[keep], j[keep], inter.data[keep]
        jac = c / (sizes[i] + sizes[j] - c)
        sel = jac >= min_jaccard
        out.update({(int(x), int(y)): float(v) for x, y, v in zip(i[sel], j[sel], jac[sel], strict=True)})
    return out


def prf(predicted: set[tuple[int, int]], truth: set[tuple[int, int]]) -> tuple[float, float, float]:
    tp = len(predicted & truth)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(truth) if truth else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def cluster_pairs(labels: Iterable[object]) -> set[tuple[int, int]]:
    """All co-member pairs (i < j) of a clustering given as one label per item."""
    groups: dict[object, list[int]] = {}
    for i, lab in enumerate(labels):
        groups.setdefault(lab, []).append(i)
    out = set()
    for members in groups.values():
        if len(members) > 1:
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    out.add((members[x], members[y]))
    return out


def components(n: int, pairs: Iterable[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(n)]
