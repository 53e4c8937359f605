"""Partial copies: does dedup link a short page copied in part from a longer one to its source?

A planted set built from real text (20 Newsgroups train posts, headers and quoted lines
stripped): source posts of >= `--min-source-words` words; from distinct sources, short pages
of five kinds:
  verbatim  a contiguous excerpt of 30-150 words (cut and paste)
  light     an excerpt with 1-3% of its words replaced, deleted or inserted
  heavy     an excerpt with 15-30% of its words edited and two sentences swapped
  embedded  an excerpt followed by the writer's own words (a post not in the set): the
            copied share is 55-95% of the page
  control   a 30-150-word passage of another post (same newsgroups: the same topics), in no
            source; controls that are nonetheless >= 0.5 contained in a source (20NG posts
            quote each other) are left out and counted
plus `--background` other posts. Every page goes through the same run of each method:
  ours, Jaccard       the local engine, containment off (a copy is linked when it is a
                      near/exact duplicate whose representative is its source)
  ours, containment   the local engine, containment on at each threshold
  datasketch          MinHashLSHEnsemble (threshold, 128 permutations, 16 partitions) over
                      every page's MinHash of the same shingle sets; each page queried
                      with its own size: every returned key other than itself is a link
Recall per kind = copies linked to their own source / copies of that kind. Precision over the
links made from copies and controls (sources and background pages are not judged): `prec`
counts a link as correct when it joins a copy to its own source; `prec_exact` when the page's
exact containment (numbers-kept 5-gram sets) in the link's target is at least the threshold
(20NG posts repost and quote each other: a copy can be in two sources, a control in a post).

    python bench/dedup_containment.py --data /work/shared/data
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_common import DEFAULT_DATA, NG_FILE, edit  # noqa: E402

from sciforge.pipelines.dedup.config import DedupConfig  # noqa: E402
from sciforge.pipelines.dedup.features import exact_shingle_sets  # noqa: E402
from sciforge.pipelines.dedup.local import dedup_tables  # noqa: E402
from sciforge.pipelines.pages import PAGE_SCHEMA  # noqa: E402

Contained = Callable[[str, str], float]

KINDS = ("verbatim", "light", "heavy", "embedded")


def load_posts(data_dir: str) -> list[tuple[str, str]]:
    """(newsgroup, body) of every post: headers and quoted lines ('>', '|') dropped, posts
    with the same body kept once."""
    path = Path(data_dir) / NG_FILE
    if not path.exists():
        raise SystemExit(f"{path} not found: pass --data pointing at the shared data folder")
    seen, out = set(), []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            text = rec["text"]
            body = text.split("\n\n", 1)[1] if "\n\n" in text else text
            body = "\n".join(x for x in body.splitlines() if not re.match(r"\s*(>|\|)", x)
                             and not re.search(r"writes:\s*$|wrote:\s*$", x))
            key = " ".join(body.lower().split())
            if key and key not in seen:
                seen.add(key)
                out.append((rec["newsgroup"], body))
    return out


def excerpt(rng: random.Random, text: str, lo: int, hi: int) -> str:
    toks = text.split()
    n = min(rng.randrange(lo, hi + 1), len(toks))
    s = rng.randrange(0, len(toks) - n + 1)
    return " ".join(toks[s: s + n])


def heavy(rng: random.Random, text: str, vocab: list[str]) -> str:
    out = edit(rng, text, rng.uniform(0.15, 0.30), vocab)
    sents = re.split(r"(?<=[.!?])\s+", out)
    if len(sents) >= 3:
        i = rng.randrange(len(sents) - 1)
        sents[i], sents[i + 1] = sents[i + 1], sents[i]
    return " ".join(sents)


def build(data_dir: str, n_per_kind: int, n_controls: int, n_background: int, min_source_words: int,
          seed: int) -> tuple[list[dict], dict[str, str], dict[str, str], int]:
    """Rows (PAGE-TEXT CONTRACT), the source key of each copy, the kind of each judged page,
    and the number of controls left out as real copies."""
    rng = random.Random(seed)
    posts = load_posts(data_dir)
    rng.shuffle(posts)
    long_ix = [i for i, (_, b) in enumerate(posts) if len(b.split()) >= min_source_words]
    need = n_per_kind * len(KINDS)
    if len(long_ix) < need:
        raise SystemExit(f"only {len(long_ix)} posts of >= {min_source_words} words for {need} sources")
    src_ix = long_ix[:need]
    used = set(src_ix)
    rest = [i for i in range(len(posts)) if i not in used and len(posts[i][1].split()) >= 30]
    ctl_ix, own_ix = rest[:n_controls], rest[n_controls: n_controls + n_per_kind]
    bg_ix = rest[n_controls + n_per_kind: n_controls + n_per_kind + n_background]
    vocab = [w for i in rng.sample(rest, min(500, len(rest))) for w in posts[i][1].split()]

    def row(doc: str, text: str) -> dict:
        return {"doc_id": doc, "page": 0, "source": "web", "url": f"https://{doc}.example.org/",
                "domain": f"{doc}.example.org", "field": "", "text": text}

    rows, source_of, kind_of = [], {}, {}
    for j, i in enumerate(src_ix):
        kind = KINDS[j // n_per_kind]
        src = posts[i][1]
        rows.append(row(f"src{j:05d}", src))
        cut = excerpt(rng, src, 30, 150)
        if kind == "light":
            cut = edit(rng, cut, rng.uniform(0.01, 0.03), vocab)
        elif kind == "heavy":
            cut = heavy(rng, cut, vocab)
        elif kind == "embedded":
            share = rng.uniform(0.55, 0.95)
            own = posts[own_ix[j % len(own_ix)]][1].split()
            n_own = max(1, round(len(cut.split()) * (1 - share) / share))
            cut = f"{cut} {' '.join(own[:n_own])}"
        doc = f"{kind}{j:05d}"
        rows.append(row(doc, cut))
        source_of[f"web:{doc}#0"] = f"web:src{j:05d}#0"
        kind_of[f"web:{doc}#0"] = kind
    controls = [row(f"ctl{k:05d}", excerpt(rng, posts[i][1], 30, 150)) for k, i in enumerate(ctl_ix)]
    # a control that a source really contains (20NG posts quote each other) is not a control
    keep = DedupConfig(numbers="keep")
    src_sets = exact_shingle_sets([r["text"] for r in rows if r["doc_id"].startswith("src")], keep)
    index: dict[int, list[int]] = defaultdict(list)
    for s, sh in enumerate(src_sets):
        for h in sh:
            index[h].append(s)
    dropped = 0
    for r, sh in zip(controls, exact_shingle_sets([r["text"] for r in controls], keep), strict=True):
        shared = Counter(s for h in sh for s in index.get(h, ()))
        if sh and shared and max(shared.values()) / len(sh) >= 0.5:
            dropped += 1
            continue
        rows.append(r)
        kind_of[f"web:{r['doc_id']}#0"] = "control"
    rows += [row(f"bg{k:05d}", posts[i][1]) for k, i in enumerate(bg_ix)]
    return rows, source_of, kind_of, dropped


def score(links: dict[str, set[str]], source_of: dict[str, str], kind_of: dict[str, str],
          contained: Contained, threshold: float) -> dict[str, float]:
    """Per-kind recall, precision over links from judged pages (planted: the link is the
    copy's own source; exact: the page's exact containment in the link's target is at least
    ``threshold``, the copies real 20NG posts hold too), their counts."""
    out: dict[str, float] = {}
    made = correct = exact = 0
    for key, kind in kind_of.items():
        got = links.get(key, set())
        made += len(got)
        correct += int(kind != "control" and source_of[key] in got)
        exact += sum(contained(key, t) >= threshold for t in got)
    for kind in KINDS:
        keys = [k for k, v in kind_of.items() if v == kind]
        out[kind] = sum(source_of[k] in links.get(k, set()) for k in keys) / max(1, len(keys))
    vl = [k for k, v in kind_of.items() if v in ("verbatim", "light")]
    out["verbatim+light"] = sum(source_of[k] in links.get(k, set()) for k in vl) / max(1, len(vl))
    out["control_links"] = sum(len(links.get(k, ())) for k, v in kind_of.items() if v == "control")
    out["precision"] = correct / made if made else 1.0
    out["exact_precision"] = exact / made if made else 1.0
    out["links"] = made
    return out


def ours_links(table: pa.Table, cfg: DedupConfig) -> tuple[dict[str, set[str]], float]:
    t0 = time.perf_counter()
    res = dedup_tables(table, cfg)
    dt = time.perf_counter() - t0
    links: dict[str, set[str]] = {}
    for r in res.quarantined.select(["source", "doc_id", "page", "reason", "representative"]).to_pylist():
        key = f"{r['source']}:{r['doc_id']}#{r['page']}"
        if r["representative"] and r["representative"] != key:
            links[key] = {r["representative"]}
    return links, dt


def datasketch_links(keys: list[str], sets: list[set[int]], threshold: float, num_perm: int,
                     num_part: int) -> tuple[dict[str, set[str]], float]:
    """MinHashLSHEnsemble over every page (the MinHashes built outside the timed region)."""
    from datasketch import MinHash, MinHashLSHEnsemble

    mhs = []
    for s in sets:
        m = MinHash(num_perm=num_perm)
        m.update_batch([int(h).to_bytes(8, "little") for h in s])
        mhs.append(m)
    t0 = time.perf_counter()
    ens = MinHashLSHEnsemble(threshold=threshold, num_perm=num_perm, num_part=num_part)
    ens.index([(k, m, len(s)) for k, m, s in zip(keys, mhs, sets, strict=True) if s])
    links = {}
    for k, m, s in zip(keys, mhs, sets, strict=True):
        if s:
            got = set(ens.query(m, len(s))) - {k}
            if got:
                links[k] = got
    return links, time.perf_counter() - t0


def fmt(name: str, m: dict[str, float], secs: float) -> str:
    return (f"{name:<34} " + " ".join(f"{m[k]:>9.3f}" for k in (*KINDS, "verbatim+light", "precision",
                                                                   "exact_precision"))
            + f" {int(m['links']):>6} {int(m['control_links']):>5} {secs:>7.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--per-kind", type=int, default=150)
    ap.add_argument("--controls", type=int, default=600)
    ap.add_argument("--background", type=int, default=2000)
    ap.add_argument("--min-source-words", type=int, default=250)
    ap.add_argument("--thresholds", default="0.5,0.6,0.7,0.8,0.9")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rows, source_of, kind_of, dropped = build(a.data, a.per_kind, a.controls, a.background,
                                              a.min_source_words, a.seed)
    table = pa.Table.from_pylist(rows, schema=PAGE_SCHEMA)
    keys = [f"web:{r['doc_id']}#0" for r in rows]
    # the containment check's shingles (numbers kept: `Featurizer.containment_values`)
    sets = exact_shingle_sets([r["text"] for r in rows], DedupConfig(numbers="keep"))
    pos = {k: i for i, k in enumerate(keys)}
    true_c = {k: len(sets[i] & sets[pos[source_of[k]]]) / max(1, len(sets[i]))
              for i, k in enumerate(keys) if k in source_of}
    print(f"{len(rows)} pages: {a.per_kind} sources and copies per kind, "
          f"{sum(v == 'control' for v in kind_of.values())} controls ({dropped} left out: >= 0.5 contained "
          f"in a source), {a.background} background posts; seed {a.seed}")
    for kind in KINDS:
        c = np.array([v for k, v in true_c.items() if kind_of[k] == kind])
        print(f"  {kind:<9} exact containment in its source: median {np.median(c):.3f}, "
              f">= 0.8: {np.mean(c >= 0.8):.3f}, >= 0.5: {np.mean(c >= 0.5):.3f}")
    def contained(a: str, b: str) -> float:
        sa, sb = sets[pos[a]], sets[pos[b]]
        return len(sa & sb) / len(sa) if sa else 0.0

    print(f"\n{'method':<34} " + " ".join(f"{k:>9}" for k in (*KINDS, "verb+light", "prec", "prec_exact"))
          + f" {'links':>6} {'ctl':>5} {'secs':>7}")
    links, dt = ours_links(table, DedupConfig())
    print(fmt("ours, Jaccard 0.8 (containment off)", score(links, source_of, kind_of, contained, 0.0), dt))
    for t in (float(x) for x in a.thresholds.split(",")):
        links, dt = ours_links(table, DedupConfig(containment="on", containment_threshold=t))
        print(fmt(f"ours, containment {t}", score(links, source_of, kind_of, contained, t), dt))
        links, dt = datasketch_links(keys, sets, t, 128, 16)
        print(fmt(f"datasketch LSHEnsemble {t}", score(links, source_of, kind_of, contained, t), dt))


if __name__ == "__main__":
    main()
