"""Science classifier: a 3-level taxonomy and a fast linear model over hashed n-grams.

Level 1 is science vs other (P(science) = 1 - P(other)), level 2 one of six fields, level 3 a
subfield named by the lexicon (``data/lexicon.json``). The page model is fastText-style: word
unigrams and bigrams hashed into ``2**n_buckets_log2`` buckets (CRC32, stable across runs and
machines), sublinear tf, L2-normalised, and a softmax regression over the seven labels, trained
with L-BFGS (deterministic) by ``sciforge web train-classifier``. Two feature options (stored in the
model file, so older models keep their behaviour): function words (``data/stopwords.txt``) are left
out of the n-grams, because they mark register (forum post vs paper) rather than topic; and a few
lexicon features (how many taxonomy terms a page holds and how dense they are, cumulative
indicators with a fixed value) are added, because term density transfers across registers where
individual n-grams do not.

Labels: the REAL-TEXT seed set ``data/real_seed.jsonl.gz`` (openly licensed arXiv abstracts,
textbook sections, NIH consumer-health pages, reviews, speeches and books, labelled by their source:
``data/SOURCES.md``, its ``train`` split; the sources of "other" weigh the same, whatever their size:
``TrainConfig.source_balance``), any further labelled sets (``train-classifier --labelled``), the gold seed set ``data/seed.jsonl`` (hand-written passages), the lexicon's own
terms as one short document per subfield, a silver set generated from the lexicon by templates and
labelled by :class:`LexiconTeacher` (pipelines/web/silver.py), and optionally unlabelled text given
silver labels by a teacher: :class:`LexiconTeacher` (default) or :class:`LLMTeacher` (any
OpenAI-compatible chat endpoint). The default model ``data/classifier.safetensors`` is rebuilt byte
for byte by ``sciforge web train-classifier`` from what the repository holds
(:func:`default_training_set`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from sciforge.pipelines.pages import FIELDS, LABELS
from sciforge.pipelines.web.config import DATA_DIR

LEXICON_PATH = DATA_DIR / "lexicon.json"
SEED_PATH = DATA_DIR / "seed.jsonl"
REAL_SEED_PATH = DATA_DIR / "real_seed.jsonl.gz"
STOP_WORDS_PATH = DATA_DIR / "stopwords.txt"
FORMAT = "sciforge.web.classifier/1"
_TOKEN = re.compile(r"[a-z][a-z0-9\-']*|\d+")
MAX_TOKENS = 2000  # a page's first 2000 tokens carry its topic; bounds cost on huge pages


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())[:MAX_TOKENS]


# ------------------------------------------------------------------------------------- lexicon
@lru_cache(maxsize=4)
def load_lexicon(path: str = str(LEXICON_PATH)) -> dict[str, dict[str, list[str]]]:
    data = json.loads(Path(path).read_text())
    lex = {k: v for k, v in data.items() if not k.startswith("_")}
    unknown = set(lex) - set(LABELS)
    if unknown:
        raise ValueError(f"{path}: unknown labels {sorted(unknown)}; expected {LABELS}")
    return lex


def _term_counts(tokens: list[str], terms: Iterable[str]) -> int:
    """Occurrences of single- and multi-word terms in the token list."""
    uni = Counter(tokens)
    joined = " " + " ".join(tokens) + " "
    n = 0
    for t in terms:
        n += uni[t] if " " not in t else joined.count(f" {t} ")
    return n


class LexiconTeacher:
    """Silver labels from term counts: the label whose lexicon terms occur most per 100 tokens.

    A text needs ``min_hits`` science-term hits and a science-term density of ``min_density``
    to be labelled science; otherwise "other". Names the level-3 subfield too.
    """

    # 3 hits / 1.5 per 100 tokens: a passing mention ("the theory", "a cell phone") is not a topic.
    def __init__(self, lexicon_path: str = str(LEXICON_PATH), min_hits: int = 3, min_density: float = 1.5):
        self.lexicon = load_lexicon(lexicon_path)
        self.min_hits = min_hits
        self.min_density = min_density

    def subfield_scores(self, tokens: list[str], label: str) -> dict[str, int]:
        return {s: _term_counts(tokens, terms) for s, terms in self.lexicon.get(label, {}).items()}

    def label(self, text: str) -> str:
        tokens = tokenize(text)
        if not tokens:
            return "other"
        scores = {lab: sum(self.subfield_scores(tokens, lab).values()) for lab in LABELS}
        best = max(FIELDS, key=lambda f: (scores[f], -FIELDS.index(f)))
        hits = scores[best]
        if hits < self.min_hits or 100 * hits / len(tokens) < self.min_density or hits <= scores["other"]:
            return "other"
        return best

    def subfield(self, text: str, label: str) -> str:
        if label not in FIELDS:
            return ""
        scores = self.subfield_scores(tokenize(text), label)
        best = max(sorted(scores), key=lambda s: scores[s]) if scores else ""
        return best if best and scores[best] > 0 else ""


class LLMTeacher:
    """Silver labels from an OpenAI-compatible chat endpoint (vLLM, SGLang, OpenAI ...), through
    pipelines/llm.py (retries, timeouts; answers cached under ``data_root`` when given). A text
    the endpoint fails on raises :class:`~sciforge.pipelines.llm.LLMError`: a silver label is never guessed."""

    PROMPT = ("Classify the scientific field of the text. Answer with exactly one word from: "
              + ", ".join(LABELS) + ". Use 'other' for anything that is not science.\n\nText:\n")

    def __init__(self, endpoint: str, model: str, api_key: str | None = None, timeout_s: float = 60.0,
                 max_chars: int = 4000, data_root: str | None = None):
        from sciforge.pipelines.llm import LLMClient, LLMConfig, open_client

        self.max_chars = max_chars
        cfg = LLMConfig(endpoint=endpoint, model=model, timeout_s=timeout_s, cache=data_root is not None)
        self.client: LLMClient = open_client(cfg, data_root, api_key=api_key)

    def label(self, text: str) -> str:
        from sciforge.pipelines.llm import LLMError

        comp = self.client.complete([{"role": "user", "content": self.PROMPT + text[: self.max_chars]}])
        if not comp.ok:
            raise LLMError(f"silver label failed: {comp.error}")
        answer = (comp.text or "").strip().lower()
        for lab in LABELS:
            if lab in answer.replace(" ", "_"):
                return lab
        return "other"


# ------------------------------------------------------------------------------------- features
@lru_cache(maxsize=2)
def load_stop_words(path: str = str(STOP_WORDS_PATH)) -> frozenset[str]:
    return frozenset(w for ln in Path(path).read_text().splitlines() if not ln.startswith("#") for w in ln.split())


class LexiconIndex:
    """Fast term hits per label: unigram terms by dict lookup, multi-word terms by their first token."""

    def __init__(self, lexicon: dict[str, dict[str, list[str]]]):
        self.uni: dict[str, list[int]] = {}
        self.multi: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for li, lab in enumerate(LABELS):
            for terms in lexicon.get(lab, {}).values():
                for t in terms:
                    parts = tuple(t.split())
                    if len(parts) == 1:
                        self.uni.setdefault(parts[0], []).append(li)
                    elif parts:
                        self.multi.setdefault(parts[0], []).append((parts, li))

    def hits(self, tokens: list[str]) -> list[int]:
        """Term occurrences per label (in LABELS order); a term listed under several subfields counts once each."""
        h = [0] * len(LABELS)
        for i, tok in enumerate(tokens):
            for li in self.uni.get(tok, ()):
                h[li] += 1
            for parts, li in self.multi.get(tok, ()):
                if tuple(tokens[i:i + len(parts)]) == parts:
                    h[li] += 1
        return h


@lru_cache(maxsize=2)
def lexicon_index(path: str = str(LEXICON_PATH)) -> LexiconIndex:
    return LexiconIndex(load_lexicon(path))


# Cumulative indicators ("at least k science terms", "at least x terms per 100 tokens"): a linear model
# learns a monotone step function of each; the steps are roughly geometric (Fibonacci / doubling).
LEX_SCI_STEPS = (1, 2, 3, 5, 8, 13, 21)
LEX_DENSITY_STEPS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
LEX_OTHER_STEPS = (1, 2, 3, 5, 8)


def lexicon_tokens(tokens: list[str], index: LexiconIndex) -> list[str]:
    if not tokens:
        return []
    h = index.hits(tokens)
    sci = sum(h[:-1])
    density = 100.0 * sci / len(tokens)
    out = [f"__lex_sci_ge{k}" for k in LEX_SCI_STEPS if sci >= k]
    out += [f"__lex_density_ge{x}" for x in LEX_DENSITY_STEPS if density >= x]
    out += [f"__lex_other_ge{k}" for k in LEX_OTHER_STEPS if h[-1] >= k]
    if sci:
        out.append(f"__lex_field_{FIELDS[max(range(len(FIELDS)), key=lambda i: (h[i], -i))]}")
    return out


def featurize(text: str, n_buckets_log2: int, drop_stop_words: bool = False,
              lexicon_weight: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Hashed unigram+bigram features: (bucket indices, L2-normalised 1+log(tf) values), plus, when
    ``lexicon_weight`` > 0, the lexicon indicators of :func:`lexicon_tokens` at that fixed value."""
    raw = tokenize(text)
    if drop_stop_words:
        stop = load_stop_words()
        tokens = [t for t in raw if t not in stop and not t.isdigit()]
    else:
        tokens = raw
    grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    mask = (1 << n_buckets_log2) - 1
    counts = Counter(zlib.crc32(g.encode()) & mask for g in grams)
    val_of = {i: 1.0 + math.log(c) for i, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in val_of.values())) or 1.0
    val_of = {i: v / norm for i, v in val_of.items()}
    if lexicon_weight > 0:
        for t in lexicon_tokens(raw, lexicon_index()):
            b = zlib.crc32(t.encode()) & mask
            val_of[b] = val_of.get(b, 0.0) + lexicon_weight
    if not val_of:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    idx = np.fromiter(sorted(val_of), dtype=np.int64, count=len(val_of))
    val = np.array([val_of[i] for i in idx], dtype=np.float32)
    return idx, val


@dataclass
class Prediction:
    label: str  # best field when P(science) >= 0.5, else "other"
    field: str  # best science field (level 2), whatever P(science) is
    science_score: float  # level 1: P(science) = 1 - P(other)
    probs: dict[str, float] = dataclasses.field(default_factory=dict)


class HashedLinearClassifier:
    """Softmax regression over hashed n-grams; stores only the rows of buckets seen in training."""

    def __init__(self, rows: np.ndarray, weights: np.ndarray, bias: np.ndarray, n_buckets_log2: int,
                 meta: dict[str, Any] | None = None):
        self.rows = rows.astype(np.int64)
        self.weights = weights.astype(np.float32)  # (len(rows), n_labels)
        self.bias = bias.astype(np.float32)
        self.n_buckets_log2 = n_buckets_log2
        self.meta = meta or {}
        self._lookup = {int(r): i for i, r in enumerate(self.rows)}
        # feature options travel in the model file (absent in models older than them: off)
        self.drop_stop_words = bool(self.meta.get("drop_stop_words", False))
        self.lexicon_weight = float(self.meta.get("lexicon_weight", 0.0))

    # -- inference --------------------------------------------------------------------------
    def logits(self, text: str) -> np.ndarray:
        idx, val = featurize(text, self.n_buckets_log2, self.drop_stop_words, self.lexicon_weight)
        z = self.bias.astype(np.float64).copy()
        pos = [self._lookup.get(int(i), -1) for i in idx]
        sel = [(p, v) for p, v in zip(pos, val, strict=True) if p >= 0]
        if sel:
            ps, vs = zip(*sel, strict=True)
            z += np.asarray(vs, np.float64) @ self.weights[list(ps)].astype(np.float64)
        return z

    def predict(self, text: str) -> Prediction:
        z = self.logits(text)
        p = np.exp(z - z.max())
        p /= p.sum()
        probs = {lab: float(round(p[i], 6)) for i, lab in enumerate(LABELS)}
        sci = float(round(1.0 - probs["other"], 6))
        best_field = max(FIELDS, key=lambda f: probs[f])
        # level 1 decides first (science vs other), then level 2 picks the field
        label = best_field if sci >= 0.5 else "other"
        return Prediction(label=label, field=best_field, science_score=sci, probs=probs)

    # -- persistence (safetensors + JSON metadata) ------------------------------------------
    def save(self, path: str | Path) -> None:
        from safetensors.numpy import save_file

        info = {"labels": list(LABELS), "n_buckets_log2": self.n_buckets_log2, **self.meta}
        # one metadata key: safetensors stores metadata in a hash map, so several keys come out in a
        # random order and the file would not be byte-identical across runs
        meta = {"sciforge": json.dumps({"format": FORMAT, **info}, sort_keys=True)}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # weights in float16 (a linear model loses nothing that matters; halves the shipped file),
        # bucket ids in int32 (n_buckets_log2 <= 31); load() widens both
        if self.n_buckets_log2 > 31:
            raise ValueError("n_buckets_log2 must be <= 31")
        save_file({"rows": self.rows.astype(np.int32), "weights": self.weights.astype(np.float16),
                   "bias": self.bias}, str(path), metadata=meta)

    @classmethod
    def load(cls, path: str | Path) -> HashedLinearClassifier:
        from safetensors import safe_open

        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"classifier model {p} not found: build it with `sciforge web train-classifier`")
        with safe_open(str(p), framework="numpy") as f:
            meta = json.loads((f.metadata() or {}).get("sciforge", "{}"))
            if meta.pop("format", None) != FORMAT:
                raise ValueError(f"{p}: not a {FORMAT} model")
            if meta.pop("labels", None) != list(LABELS):
                raise ValueError(f"{p}: its labels differ from {LABELS}")
            t = {k: f.get_tensor(k) for k in ("rows", "weights", "bias")}
        n = int(meta.pop("n_buckets_log2"))
        return cls(t["rows"], t["weights"], t["bias"], n, meta)


@lru_cache(maxsize=4)
def load_classifier(path: str) -> HashedLinearClassifier:
    """Cached per process (Spark python workers load the model once)."""
    return HashedLinearClassifier.load(path)


# ------------------------------------------------------------------------------------- training
@dataclass(frozen=True)
class TrainConfig:
    # 2**18 buckets: fastText's default is 2M buckets for large corpora; stored sparsely, so only
    # buckets seen in training cost bytes. Collisions at this size are rare for a small vocabulary.
    n_buckets_log2: int = 18
    # L2 penalty on the mean loss (scikit-learn's C = 1 / (l2 * n_samples)); chosen among 1e-3..1e-5 on the
    # validation splits (real seed "val" and a third of the 20 Newsgroups TRAIN split, never a test split):
    # with the real-text seed 1e-4 transfers best to Usenet posts (1e-5 overfits register, 1e-3 collapses).
    l2: float = 1e-4
    max_iter: int = 300
    # Share of the total training weight given to "other" (level 1): chosen among 0.3 / 0.5 on the same
    # validation splits (0.3: Usenet F1 0.56 vs 0.53, seed F1 equal); the domain step buys precision.
    other_share: float = 0.3
    # Feature options (see the module docstring); stored in the model's metadata.
    drop_stop_words: bool = True
    # Value of each lexicon indicator next to the L2-normalised n-grams (indicators always come from the
    # shipped data/lexicon.json, whatever lexicon the silver set was made from); 0.3 / 0.6 / 1.0 gave the same
    # validation F1 (within 0.005), 0 (none) cost 0.2 F1 on Usenet posts. They trade in-domain fit for transfer:
    # trained IN-domain (bench --d-options, 20NG train -> test) 0.3 gives F1 0.706, 0 gives 0.790, 0 without the
    # silver documents 0.805 (a scikit-learn TF-IDF word 1-2 gram + LogisticRegression reference: 0.828; on the
    # same hashed features, 20NG only and no indicators, this trainer and scikit-learn's both give 0.80). The
    # shipped model sees no in-domain text, so it keeps them (0.1 was no better on the validation splits).
    lexicon_weight: float = 0.3
    # Rows (hash buckets) whose largest |weight| is below this are dropped after fitting: a feature value
    # is at most 1 (L2-normalised), so such a row moves a logit by < 0.01; on the shipped model this
    # drops about half the rows (the file stays under 2 MB) and changes no validation decision.
    prune_below: float = 0.01
    # Source balance inside a label (needs ``groups`` in :func:`train`): a source (group) of n documents gets a
    # total weight proportional to n ** (1 - source_balance) among its label's sources. 0: every document counts
    # the same (a big source dominates its label); 1: every source counts the same. On for "other" only: its
    # hardest sources are small (arXiv quantitative finance and economics abstracts, maths in the register of a
    # paper) and were the main false positives. Validation splits (seed val | 20NG train+val, purity / recall
    # after the domain step at page threshold 0.65, bench/web_classifier.py's purity lift over 20 corpora): off
    # 0.473 / 0.938 | 0.525 / 0.291; "other" only 0.590 / 0.942 | 0.614 / 0.280; every label 0.661 / 0.933 |
    # 0.641 / 0.242 (balancing the science side too shrinks the silver forum-register documents' share: it cost
    # Usenet recall).
    source_balance: float = 1.0
    source_balance_labels: tuple[str, ...] = ("other",)


def _design(texts: Sequence[str], cfg: TrainConfig) -> tuple[Any, np.ndarray]:
    from scipy import sparse

    indptr, indices, data = [0], [], []
    for t in texts:
        i, v = featurize(t, cfg.n_buckets_log2, cfg.drop_stop_words, cfg.lexicon_weight)
        indices.append(i)
        data.append(v)
        indptr.append(indptr[-1] + len(i))
    cat_i = np.concatenate(indices) if indices else np.zeros(0, np.int64)
    cat_v = np.concatenate(data) if data else np.zeros(0, np.float32)
    used, remap = np.unique(cat_i, return_inverse=True)
    X = sparse.csr_matrix((cat_v.astype(np.float64), remap, np.asarray(indptr)), shape=(len(texts), len(used)))
    return X, used


def sample_weights(y: np.ndarray, groups: Sequence[str] | None, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """(weight per example, count per label) for label indices ``y``: the six science fields share
    ``1 - other_share`` of the total weight equally, "other" gets ``other_share``; with ``groups`` and
    ``source_balance`` > 0 a label's weight is split among its sources by n_g ** (1 - source_balance). The
    weights sum to the number of examples."""
    n, k = len(y), len(LABELS)
    counts = np.bincount(y, minlength=k).astype(np.float64)
    w_cls = np.where(counts > 0, 1.0 / np.maximum(counts, 1), 0.0)
    n_sci = int((counts[:-1] > 0).sum())
    if n_sci and counts[-1]:
        w_cls[:-1] *= (1 - cfg.other_share) / n_sci  # the six fields share the science part
        w_cls[-1] *= cfg.other_share
    sw = w_cls[y]
    if groups is not None and cfg.source_balance > 0:
        if len(groups) != n:
            raise ValueError("need one group per text")
        # within a label, source g's n_g documents share a weight proportional to n_g ** (1 - source_balance),
        # and the label's total weight stays what the class balance above gave it
        pair = Counter(zip(y.tolist(), groups, strict=True))
        per_label: Counter[int] = Counter()
        for (lab, _), c in pair.items():
            per_label[lab] += c ** (1 - cfg.source_balance)
        balanced = {LABELS.index(lab) for lab in cfg.source_balance_labels}
        sw = sw * np.array([counts[lab] * c_g ** (1 - cfg.source_balance) / (c_g * per_label[lab])
                            if lab in balanced else 1.0
                            for lab, g in zip(y.tolist(), groups, strict=True)
                            for c_g in (pair[(lab, g)],)])
    sw *= n / sw.sum()
    return sw, counts


def train(texts: Sequence[str], labels: Sequence[str], cfg: TrainConfig = TrainConfig(),
          meta: dict[str, Any] | None = None, groups: Sequence[str] | None = None) -> HashedLinearClassifier:
    """Fit the softmax regression with L-BFGS (deterministic for fixed inputs).

    ``groups``: the source of each text (e.g. the real seed's ``source``), used for
    ``cfg.source_balance``; ``None``: one group."""
    from scipy.optimize import minimize

    if len(texts) != len(labels) or not texts:
        raise ValueError("need as many labels as texts, and at least one")
    bad = sorted(set(labels) - set(LABELS))
    if bad:
        raise ValueError(f"unknown labels {bad}; expected {LABELS}")
    X, used = _design(texts, cfg)
    y = np.array([LABELS.index(lab) for lab in labels])
    n, d, k = X.shape[0], X.shape[1], len(LABELS)
    Y = np.zeros((n, k))
    Y[np.arange(n), y] = 1.0
    sw, counts = sample_weights(y, groups, cfg)

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W = theta[: d * k].reshape(d, k)
        b = theta[d * k:]
        Z = X @ W + b
        Z -= Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
        ll = -(sw * np.log(np.maximum((P * Y).sum(axis=1), 1e-300))).sum() / n
        G = (P - Y) * sw[:, None] / n
        gW = X.T @ G + cfg.l2 * W
        gb = G.sum(axis=0)
        return ll + 0.5 * cfg.l2 * float((W * W).sum()), np.concatenate([gW.ravel(), gb])

    theta0 = np.zeros(d * k + k)
    res = minimize(loss_grad, theta0, jac=True, method="L-BFGS-B",
                   options={"maxiter": cfg.max_iter, "gtol": 1e-7})
    W = res.x[: d * k].reshape(d, k)
    b = res.x[d * k:]
    keep = np.abs(W).max(axis=1) >= cfg.prune_below
    W, used = W[keep], used[keep]
    info = {"train_examples": n, "rows_pruned": int((~keep).sum()), "train_loss": round(float(res.fun), 6),
            "l2": cfg.l2,
            "other_share": cfg.other_share, "drop_stop_words": cfg.drop_stop_words,
            "lexicon_weight": cfg.lexicon_weight,
            **({"source_balance": cfg.source_balance, "source_balance_labels": list(cfg.source_balance_labels)}
               if groups is not None and cfg.source_balance > 0 else {}),
            "label_counts": {lab: int(c) for lab, c in zip(LABELS, counts, strict=True)},
            **(meta or {})}
    return HashedLinearClassifier(used, W.astype(np.float32), b.astype(np.float32), cfg.n_buckets_log2, info)


def seed_examples(seed_path: str | Path = SEED_PATH, lexicon_path: str | Path = LEXICON_PATH
                  ) -> tuple[list[str], list[str]]:
    """The gold seed passages plus one document per lexicon subfield (its terms)."""
    texts, labels = [], []
    for line in Path(seed_path).read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            texts.append(row["text"])
            labels.append(row["label"])
    for lab, subs in load_lexicon(str(lexicon_path)).items():
        for terms in subs.values():
            texts.append(" . ".join(terms))
            labels.append(lab)
    return texts, labels


def seed_split(doc_id: str) -> str:
    """The split of a real-seed document: ``test`` / ``val`` / ``train`` at 20 / 20 / 60% by a SHA-256 of its id."""
    h = int(hashlib.sha256(doc_id.encode()).hexdigest(), 16) % 5
    return "test" if h == 0 else "val" if h == 1 else "train"


def read_real_seed(path: str | Path = REAL_SEED_PATH, splits: Sequence[str] = ("train",)) -> list[dict[str, str]]:
    """Rows of the real-text seed set (``data/real_seed.jsonl.gz``, built by ``fixtures/build_real_seed.py``)
    in the given splits: ``id, label, source, group, split, text``."""
    import gzip

    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["split"] in splits:
                if r["label"] not in LABELS:
                    raise ValueError(f"{path}: row {r['id']} has unknown label {r['label']!r}")
                rows.append(r)
    return rows


def read_labelled(path: str | Path, splits: Sequence[str] = ("train",)) -> list[dict[str, str]]:
    """Rows of a labelled JSONL(.gz) file: ``text`` and ``label`` (one of :data:`LABELS`), optional ``source``
    (the group for ``TrainConfig.source_balance``; default: the file name) and ``split`` (when present, only
    rows in ``splits`` are read). The real seed set has this format; so can any other labelled set, e.g. the
    sci.* vs other posts of 20 Newsgroups (bench/web_classifier.py writes one)."""
    import gzip

    p = Path(path)
    opener: Any = gzip.open if p.suffix == ".gz" else open
    rows = []
    with opener(p, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            r = json.loads(line)
            if not isinstance(r.get("text"), str) or r.get("label") not in LABELS:
                raise ValueError(f"{p}:{n}: need a string `text` and a `label` in {LABELS}, got "
                                 f"label {r.get('label')!r}")
            if "split" in r and r["split"] not in splits:
                continue
            r.setdefault("source", p.name)
            rows.append(r)
    return rows


@dataclass
class TrainingSet:
    texts: list[str]
    labels: list[str]
    groups: list[str]  # where each text comes from (a real-seed source, "gold", "lexicon", "silver", ...)
    counts: dict[str, int]  # examples per origin


def build_training_set(seed_path: str | Path = SEED_PATH, lexicon_path: str | Path = LEXICON_PATH,
                       silver: Any = None, real_seed: str | Path | None = REAL_SEED_PATH,
                       labelled: Sequence[str | Path] = ()) -> TrainingSet:
    """What a model is trained on: gold seed + lexicon documents + the real-text seed's ``train`` split + any
    ``labelled`` files (their ``train`` split when they have one) + the generated silver set.

    ``silver``: a :class:`sciforge.pipelines.web.silver.SilverConfig`, ``None`` for its defaults, ``False`` for none;
    ``real_seed``: ``None`` for none. With the defaults this is the shipped model's training set."""
    from sciforge.pipelines.web.silver import SilverConfig, generate

    gold = [json.loads(ln) for ln in Path(seed_path).read_text().splitlines() if ln.strip()]
    texts, labels = seed_examples(seed_path, lexicon_path)
    groups = ["gold"] * len(gold) + ["lexicon"] * (len(texts) - len(gold))
    counts = {"gold_and_lexicon": len(texts)}
    files = ([real_seed] if real_seed is not None else []) + list(labelled)
    for k, f in enumerate(files):
        rows = read_labelled(f, ("train",))
        texts += [r["text"] for r in rows]
        labels += [r["label"] for r in rows]
        groups += [r["source"] for r in rows]
        counts["real_seed_train" if k == 0 and real_seed is not None else f"labelled_{Path(f).name}"] = len(rows)
    if silver is not False:
        cfg = silver if silver is not None else SilverConfig()
        st, sl, c = generate(load_lexicon(str(lexicon_path)), LexiconTeacher(str(lexicon_path)), cfg)
        texts += st
        labels += sl
        groups += ["silver"] * len(st)
        counts.update({f"silver_{k}": v for k, v in sorted(c.items())})
    return TrainingSet(texts, labels, groups, counts)


def default_training_set(seed_path: str | Path = SEED_PATH, lexicon_path: str | Path = LEXICON_PATH,
                         silver: Any = None, real_seed: str | Path | None = REAL_SEED_PATH
                         ) -> tuple[list[str], list[str], dict[str, int]]:
    """(texts, labels, counts) of :func:`build_training_set` (kept for callers of the older API)."""
    ts = build_training_set(seed_path, lexicon_path, silver, real_seed)
    return ts.texts, ts.labels, ts.counts
