"""Science classifier: a 3-level taxonomy and a fast linear model over hashed n-grams.

Level 1 is science vs other (P(science) = 1 - P(other)), level 2 one of six fields, level 3 a
subfield named by the lexicon (``data/lexicon.json``). The page model is fastText-style: word
unigrams and bigrams hashed into ``2**n_buckets_log2`` buckets (CRC32, stable across runs and
machines), sublinear tf, L2-normalised, and a softmax regression over the seven labels, trained
with L-BFGS (deterministic) by ``sciforge web train-classifier``.

Labels: the gold seed set shipped in ``data/seed.jsonl`` (hand-written passages, one label each),
the lexicon's own terms as one short document per subfield, a silver set generated from the
lexicon by templates and labelled by :class:`LexiconTeacher` (pipelines/web/silver.py), and
optionally unlabelled text given silver labels by a teacher: :class:`LexiconTeacher` (default) or
:class:`LLMTeacher` (any OpenAI-compatible chat endpoint). The default model
``data/classifier.safetensors`` is rebuilt byte for byte by ``sciforge web train-classifier`` from
what the repository holds (:func:`default_training_set`).
"""

from __future__ import annotations

import dataclasses
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

from pipelines.web.config import DATA_DIR

FIELDS = ("mathematics", "physics", "chemistry", "life_science", "earth_science", "materials_science")
LABELS = FIELDS + ("other",)
LEXICON_PATH = DATA_DIR / "lexicon.json"
SEED_PATH = DATA_DIR / "seed.jsonl"
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
    """Silver labels from an OpenAI-compatible chat endpoint (vLLM, SGLang, OpenAI ...)."""

    PROMPT = ("Classify the scientific field of the text. Answer with exactly one word from: "
              + ", ".join(LABELS) + ". Use 'other' for anything that is not science.\n\nText:\n")

    def __init__(self, endpoint: str, model: str, api_key: str | None = None, timeout_s: float = 60.0,
                 max_chars: int = 4000):
        self.endpoint, self.model, self.api_key = endpoint.rstrip("/"), model, api_key
        self.timeout_s, self.max_chars = timeout_s, max_chars

    def label(self, text: str) -> str:
        from pipelines.web.rewrite import chat_completion

        answer = chat_completion(self.endpoint, self.model, [
            {"role": "user", "content": self.PROMPT + text[: self.max_chars]}],
            api_key=self.api_key, timeout_s=self.timeout_s, temperature=0.0).strip().lower()
        for lab in LABELS:
            if lab in answer.replace(" ", "_"):
                return lab
        return "other"


# ------------------------------------------------------------------------------------- features
def featurize(text: str, n_buckets_log2: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashed unigram+bigram features: (bucket indices, L2-normalised 1+log(tf) values)."""
    tokens = tokenize(text)
    grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    if not grams:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    mask = (1 << n_buckets_log2) - 1
    counts = Counter(zlib.crc32(g.encode()) & mask for g in grams)
    idx = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
    val = np.array([1.0 + math.log(counts[i]) for i in idx], dtype=np.float32)
    val /= np.linalg.norm(val)
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

    # -- inference --------------------------------------------------------------------------
    def logits(self, text: str) -> np.ndarray:
        idx, val = featurize(text, self.n_buckets_log2)
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
    # L2 penalty on the mean loss (scikit-learn's C = 1 / (l2 * n_samples)); chosen among 1e-3..1e-5 on a
    # validation part of the 20 Newsgroups TRAIN split (never its held-out test part): weaker is better.
    l2: float = 1e-5
    max_iter: int = 300
    # Share of the total training weight given to "other" (level 1): 0.5 balances science vs other
    # (0.7 lost all recall on the validation split); the domain step, not the prior, buys precision.
    other_share: float = 0.5


def _design(texts: Sequence[str], n_buckets_log2: int) -> tuple[Any, np.ndarray]:
    from scipy import sparse

    indptr, indices, data = [0], [], []
    for t in texts:
        i, v = featurize(t, n_buckets_log2)
        indices.append(i)
        data.append(v)
        indptr.append(indptr[-1] + len(i))
    cat_i = np.concatenate(indices) if indices else np.zeros(0, np.int64)
    cat_v = np.concatenate(data) if data else np.zeros(0, np.float32)
    used, remap = np.unique(cat_i, return_inverse=True)
    X = sparse.csr_matrix((cat_v.astype(np.float64), remap, np.asarray(indptr)), shape=(len(texts), len(used)))
    return X, used


def train(texts: Sequence[str], labels: Sequence[str], cfg: TrainConfig = TrainConfig(),
          meta: dict[str, Any] | None = None) -> HashedLinearClassifier:
    """Fit the softmax regression with L-BFGS (deterministic for fixed inputs)."""
    from scipy.optimize import minimize

    if len(texts) != len(labels) or not texts:
        raise ValueError("need as many labels as texts, and at least one")
    bad = sorted(set(labels) - set(LABELS))
    if bad:
        raise ValueError(f"unknown labels {bad}; expected {LABELS}")
    X, used = _design(texts, cfg.n_buckets_log2)
    y = np.array([LABELS.index(lab) for lab in labels])
    n, d, k = X.shape[0], X.shape[1], len(LABELS)
    Y = np.zeros((n, k))
    Y[np.arange(n), y] = 1.0
    # sample weights: classes balanced among the science fields; level 1 balanced against "other"
    counts = np.bincount(y, minlength=k).astype(np.float64)
    w_cls = np.where(counts > 0, 1.0 / np.maximum(counts, 1), 0.0)
    n_sci = int((counts[:-1] > 0).sum())
    if n_sci and counts[-1]:
        w_cls[:-1] *= (1 - cfg.other_share) / n_sci  # the six fields share the science part
        w_cls[-1] *= cfg.other_share
    sw = w_cls[y]
    sw *= n / sw.sum()

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
    info = {"train_examples": n, "train_loss": round(float(res.fun), 6), "l2": cfg.l2,
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


def default_training_set(seed_path: str | Path = SEED_PATH, lexicon_path: str | Path = LEXICON_PATH,
                         silver: Any = None) -> tuple[list[str], list[str], dict[str, int]]:
    """What the default model is trained on: gold seed + lexicon documents + the generated silver set.

    ``silver``: a :class:`pipelines.web.silver.SilverConfig`, ``None`` for its defaults, ``False``
    for none. Returns (texts, labels, counts of where they came from).
    """
    from pipelines.web.silver import SilverConfig, generate

    texts, labels = seed_examples(seed_path, lexicon_path)
    counts = {"gold_and_lexicon": len(texts)}
    if silver is not False:
        cfg = silver if silver is not None else SilverConfig()
        st, sl, c = generate(load_lexicon(str(lexicon_path)), LexiconTeacher(str(lexicon_path)), cfg)
        texts += st
        labels += sl
        counts.update({f"silver_{k}": v for k, v in sorted(c.items())})
    return texts, labels, counts
