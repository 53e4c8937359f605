"""Science classification and purity lift: the shipped page model vs the lexicon teacher, in one run.

    .venv/bin/python bench/web_classifier.py [--data ../shared/data] [--calibrate] [--skip-trained] [--combined]
                                             [--source-folds 3]

Test sets (never used for training or for choosing a threshold):
* 20 Newsgroups, the issue's protocol: the sci.* groups vs the rest, headers and quotes stripped, split by a
  hash of the post id into train 60% / val 20% / test 20% (``domain/20newsgroups_train.jsonl.gz``). Figures
  are on the test 20%.
* Our own held-out set: the ``test`` split of ``pipelines/web/data/real_seed.jsonl.gz`` (20% by a hash of the
  document id; the shipped model trains on ``train``).

Models, each at its own page threshold:
(a) the SHIPPED default model at ``ClassifierConfig.page_threshold``: zero-shot on Usenet (it never saw a post);
(b) the lexicon teacher (baseline: ratios are (a) / (b));
(c) optionally ``--baseline-model`` (e.g. an earlier shipped model) at ``--baseline-threshold``;
(d) unless ``--skip-trained``: IN-DOMAIN, a model trained by the project's own trainer
    (``sciforge web train-classifier --no-real-seed --labelled <20NG train split>``, run as a child process: the
    code path of the shipped model, gold seed, lexicon and silver documents included) on the 20NG train split
    (sci.* groups mapped to fields), its threshold chosen by the declared rule on the 20NG val split;
    two recipes are trained, the shipped one and ``D_NGRAM_OPTIONS`` (n-grams only: no template silver documents,
    no lexicon indicators, which carry the shipped model across registers but cost F1 in-domain), and the one
    with the better purity/recall on the 20NG VAL split is (d); both are printed. ``--d-options`` trains only
    the recipe given;
(e) with ``--combined``: the shipped recipe plus the 20NG train split (``train-classifier --labelled ...``),
    threshold by the rule on seed val + 20NG val;
(f) with ``--source-folds K``: the own held-out set scored by the shipped recipe trained WITHOUT the test row's
    source (K folds of sources): a stronger held-out test than the shipped split, where every source has rows in
    both train and test.

``--calibrate`` prints the declared threshold rule for (a) (:func:`calibrate`, validation splits only): the
lowest 0.05-grid page threshold at which the purity after the domain step reaches the issue's 50% on the real
seed's ``val`` split and on the 20 Newsgroups train+val splits (validation data for (a), which never trains on
Usenet), i.e. the goal first, then the most recall.

Purity lift: a mixed corpus at ``--science-share`` (2%, Intern-S1's starting point) cut into
pseudo-domains of ``--pages-per-domain`` pages: every non-science group (newsgroup / seed source) is
cut into pure domains; the sampled science pages go half into pure science domains and half into
MIXED domains of ``--mixed-purity`` (30%) science filled with non-science pages, so the domain rule
(keep / rewrite band / drop, pipelines/web/domains.py) is tested on domains that are neither pure
science nor pure other. Repeated over ``--repeats`` seeds (20: at 2% the own held-out set gives ~13 science
pages per corpus); reports purity before -> after, science recall overall and per domain kind, for the
page-level rule alone and with the domain step.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._goals import Goals, add_check_flag  # noqa: E402
from sciforge.pipelines.web.classifier import (  # noqa: E402
    LABELS,
    REAL_SEED_PATH,
    HashedLinearClassifier,
    LexiconTeacher,
    read_real_seed,
)
from sciforge.pipelines.web.config import DEFAULT_MODEL, ClassifierConfig, DomainConfig  # noqa: E402
from sciforge.pipelines.web.domains import domain_stats, route_page, stats_row  # noqa: E402

GROUP_FIELD = {"sci.crypt": "mathematics", "sci.electronics": "physics", "sci.space": "physics",
               "sci.med": "life_science"}
GRID = [round(0.05 * i, 2) for i in range(2, 19)]


def strip_post(text: str) -> str:
    """Drop the header block and quoted lines (like scikit-learn's remove=('headers', 'quotes'))."""
    _, _, body = text.partition("\n\n")
    lines = [ln for ln in body.split("\n") if not ln.lstrip().startswith((">", "|"))
             and "writes:" not in ln and "wrote:" not in ln]
    return "\n".join(lines).strip()


def load(path: Path) -> list[dict]:
    rows = []
    with gzip.open(path, "rt") as f:
        for line in f:
            r = json.loads(line)
            r["body"] = strip_post(r["text"])
            if len(r["body"].split()) >= 5:
                rows.append(r)
    return rows


def prf(y_true: Sequence[bool], y_pred: Sequence[bool]) -> tuple[float, float, float]:
    tp = sum(t and p for t, p in zip(y_true, y_pred, strict=True))
    fp = sum(p and not t for t, p in zip(y_true, y_pred, strict=True))
    fn = sum(t and not p for t, p in zip(y_true, y_pred, strict=True))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return prec, rec, 2 * prec * rec / (prec + rec) if prec + rec else 0.0


# ------------------------------------------------------------------------------------------ purity lift
def mixed_domains(is_sci: Sequence[bool], group: Sequence[str], share: float, ppd: int, mixed_purity: float,
                  seed: int) -> list[tuple[str, list[int]]]:
    """Pseudo-domains ("pure_sci" | "mixed" | "pure_other", page indices) at ``share`` science overall."""
    rng = random.Random(seed)
    sci = [i for i, s in enumerate(is_sci) if s]
    oth = [i for i, s in enumerate(is_sci) if not s]
    rng.shuffle(oth)
    n_sci = min(len(sci), max(2, round(share * len(oth) / (1 - share))))
    chosen = rng.sample(sci, n_sci)
    n_mixed_sci = n_sci // 2
    per_mixed = max(1, round(ppd * mixed_purity))
    domains: list[tuple[str, list[int]]] = []
    mixed_sci, pure_sci = chosen[:n_mixed_sci], chosen[n_mixed_sci:]
    for k in range(0, len(mixed_sci), per_mixed):  # mixed: science pages + non-science filler
        part = mixed_sci[k:k + per_mixed]
        fill = [oth.pop() for _ in range(round(len(part) * (1 - mixed_purity) / mixed_purity))]
        domains.append(("mixed", part + fill))
    by_group: dict[str, list[int]] = {}
    for i in sorted(pure_sci, key=lambda i: (group[i], i)):
        by_group.setdefault(group[i], []).append(i)
    for i in sorted(oth, key=lambda i: (group[i], i)):
        by_group.setdefault(group[i], []).append(i)
    for g in sorted(by_group):
        idx = by_group[g]
        for k in range(0, len(idx), ppd):
            site = idx[k:k + ppd]
            kind = "pure_sci" if is_sci[site[0]] else "pure_other"
            domains.append((kind, site))
    return domains


def purity_lift(is_sci: Sequence[bool], group: Sequence[str], texts: Sequence[str], scores: Sequence[float],
                a: argparse.Namespace, threshold: float, dcfg: DomainConfig | None = None) -> dict[str, float]:
    """Mean over ``a.repeats`` seeds of the domain-step (``dcfg``, default: the shipped DomainConfig) and page-only
    figures."""
    dcfg, ccfg = dcfg or DomainConfig(), ClassifierConfig(page_threshold=threshold)
    runs: list[dict[str, float]] = []
    for rep in range(a.repeats):
        doms = mixed_domains(is_sci, group, a.science_share, a.pages_per_domain, a.mixed_purity, a.seed + rep)
        pages = [i for _, d in doms for i in d]
        kept_sci = kept = page_kept = page_kept_sci = 0
        sci_by_kind: Counter[str] = Counter()
        kept_by_kind: Counter[str] = Counter()
        decisions: Counter[str] = Counter()
        for n, (kind, site) in enumerate(doms):
            st = domain_stats(f"d{n}", len(site), len(site), [scores[i] for i in site], ["physics"] * len(site),
                              [texts[i] for i in site], dcfg, ccfg)
            decision = stats_row(st, dcfg)["decision"]
            decisions[f"{kind}:{decision}"] += 1
            for i in site:
                sci_by_kind[kind] += is_sci[i]
                if route_page(decision, scores[i], dcfg, ccfg).action != "drop":
                    kept += 1
                    kept_sci += is_sci[i]
                    kept_by_kind[kind] += is_sci[i]
                if scores[i] >= threshold:
                    page_kept += 1
                    page_kept_sci += is_sci[i]
        n_sci = sum(is_sci[i] for i in pages)
        runs.append({
            "pages": len(pages), "domains": len(doms), "before": n_sci / len(pages),
            "after": kept_sci / max(1, kept), "recall": kept_sci / max(1, n_sci), "kept": kept,
            "recall_pure_sci": kept_by_kind["pure_sci"] / max(1, sci_by_kind["pure_sci"]),
            "recall_mixed": kept_by_kind["mixed"] / max(1, sci_by_kind["mixed"]),
            "page_only_after": page_kept_sci / max(1, page_kept), "page_only_recall": page_kept_sci / max(1, n_sci),
            "mixed_kept_or_rewritten": (decisions["mixed:keep"] + decisions["mixed:rewrite"])
            / max(1, sum(v for k, v in decisions.items() if k.startswith("mixed:"))),
        })
    out = {k: statistics.mean(r[k] for r in runs) for k in runs[0]}
    out["after_min"] = min(r["after"] for r in runs)
    out["recall_min"] = min(r["recall"] for r in runs)
    return out


def print_lift(name: str, pl: dict[str, float], base: dict[str, float] | None) -> None:
    ratio = f", {pl['after'] / max(base['after'], 1e-9):.2f}x lexicon's purity" if base else ""
    print(f"  {name:36s} purity {pl['before']:.1%} -> {pl['after']:.1%} (min {pl['after_min']:.1%}; lift "
          f"{pl['after'] / max(pl['before'], 1e-9):.1f}x{ratio}), science recall {pl['recall']:.3f} (min "
          f"{pl['recall_min']:.3f}; pure-science domains {pl['recall_pure_sci']:.3f}, mixed {pl['recall_mixed']:.3f}; "
          f"mixed domains kept/rewritten {pl['mixed_kept_or_rewritten']:.0%}); page rule alone: purity "
          f"{pl['page_only_after']:.1%} recall {pl['page_only_recall']:.3f}")


# ------------------------------------------------------------------------------------------ calibration
Labelled = tuple[list[str], list[bool], list[str]]  # texts, is-science, group (source / newsgroup)


# The goal: purity after the domain step of at least this, at the highest science recall possible.
PURITY_GOAL = 0.5
# ... with at least this science recall (the README's stated goal, checked by --check).
RECALL_GOAL = 0.8


def calibrate(model: HashedLinearClassifier, sets: dict[str, Labelled], a: argparse.Namespace) -> float:
    """The declared threshold rule, on validation data only: the LOWEST 0.05-grid page threshold at which the
    purity after the domain step (mean over ``a.repeats`` corpora) reaches the issue's goal, ``PURITY_GOAL``,
    on every validation set: the goal first, then as much science recall as the goal allows. When no threshold
    reaches it, the one that maximises the harmonic mean of purity and recall averaged over the sets."""
    scored = [(t, y, g, [model.predict(x).science_score for x in t]) for t, y, g in sets.values()]
    table = {}
    for thr in GRID:
        lifts = [purity_lift(y, g, t, s, a, thr) for t, y, g, s in scored]
        hm = [2 * pl["after"] * pl["recall"] / max(1e-9, pl["after"] + pl["recall"]) for pl in lifts]
        f1 = [prf(y, [x >= thr for x in s])[2] for _, y, _, s in scored]
        table[thr] = (lifts, hm, f1)
    meets = [thr for thr in GRID if all(pl["after"] >= PURITY_GOAL for pl in table[thr][0])]
    best = meets[0] if meets else max(GRID, key=lambda t: (round(statistics.mean(table[t][1]), 6), t))
    print(f"  calibration on validation splits ({' | '.join(sets)}): threshold: purity / recall after the domain "
          "step [page F1]")
    for thr, (lifts, _, f1) in table.items():
        print(f"    {thr:.2f}: " + " | ".join(f"{pl['after']:.3f} / {pl['recall']:.3f}" for pl in lifts)
              + f"   [{' | '.join(f'{f:.3f}' for f in f1)}]" + ("  <- meets the goal" if thr in meets else ""))
    why = (f"the lowest threshold with purity >= {PURITY_GOAL} on every set" if meets
           else "no threshold meets the purity goal: the best mean H(purity, recall)")
    print(f"  => declared rule picks page_threshold {best} ({why})")
    return best


# ------------------------------------------------------------------------------------------ trained models
# (d)'s second recipe: with in-domain labels the teacher's signals are not needed (measured on
# 20NG val/test: lexicon indicators cost ~0.07 F1 in-domain, template silver documents ~0.015).
D_NGRAM_OPTIONS = "--silver-per-subfield 0 --lexicon-weight 0"


def ng_split(post_id: str) -> str:
    """20 Newsgroups split by a SHA-256 of the post id: ``test`` 20% / ``val`` 20% / ``train`` 60%."""
    h = int(hashlib.sha256(post_id.encode()).hexdigest(), 16) % 5
    return "test" if h == 0 else "val" if h == 1 else "train"


def write_labelled(rows: list[dict], path: Path) -> Path:
    """20 Newsgroups posts as a labelled set in the real seed's format (``train-classifier --labelled``)."""
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({"id": r["id"], "text": r["body"], "label": GROUP_FIELD.get(r["newsgroup"], "other"),
                                "source": f"20ng_{r['newsgroup']}", "split": "train"}) + "\n")
    return path


def train_with_cli(out: Path, options: list[str]) -> HashedLinearClassifier:
    """``sciforge web train-classifier --out OUT OPTIONS`` in a child process: the project's own trainer, the
    code path that builds the shipped model (one BLAS thread, as the shipped model is built)."""
    cmd = [sys.executable, "-m", "sciforge", "web", "train-classifier", "--out", str(out), *options]
    print(f"  $ sciforge web train-classifier --out {out.name} " + " ".join(
        Path(o).name if "/" in o else o for o in options))
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    print(f"  trained in {time.perf_counter() - t0:.0f} s")
    return HashedLinearClassifier.load(out)


def source_fold(source: str, k: int) -> int:
    return int(hashlib.sha256(source.encode()).hexdigest(), 16) % k


def source_held_out_scores(real_seed: str, test: list[dict], k: int, tmp: Path) -> list[float]:
    """P(science) of every ``test`` row from a model that never saw its SOURCE: the sources are cut into ``k``
    folds by a hash of their name; for each fold the shipped recipe (``train-classifier --real-seed``) is trained
    on the real seed without the fold's sources and scores the fold's test rows. A stronger test than the
    shipped split, where every source has rows in train and test."""
    rows = read_real_seed(real_seed, ("train", "val", "test"))
    out: dict[str, float] = {}
    for fold in range(k):
        held = sorted({r["source"] for r in rows if source_fold(r["source"], k) == fold})
        path = tmp / f"seed_without_fold{fold}.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as f:
            for r in rows:
                if r["source"] not in held:
                    f.write(json.dumps(r) + "\n")
        print(f"  fold {fold + 1}/{k}: held out {', '.join(held)}")
        m = train_with_cli(tmp / f"fold{fold}.safetensors", ["--real-seed", str(path)])
        out.update({r["id"]: m.predict(r["text"]).science_score for r in test if r["source"] in held})
    return [out[r["id"]] for r in test]


# ------------------------------------------------------------------------------------------ main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--real-seed", default=str(REAL_SEED_PATH), help="our own labelled set (its test split)")
    ap.add_argument("--science-share", type=float, default=0.02)
    ap.add_argument("--pages-per-domain", type=int, default=20)
    ap.add_argument("--mixed-purity", type=float, default=0.3, help="science share of the mixed domains")
    ap.add_argument("--repeats", type=int, default=20,
                    help="purity-lift corpora drawn with seeds seed..seed+n-1 (the own held-out set has ~13 science "
                         "pages per corpus at 2%%: one corpus is noisy)")
    ap.add_argument("--seed", type=int, default=20250815)
    ap.add_argument("--model", default=str(DEFAULT_MODEL), help="the page model to evaluate as (a)")
    ap.add_argument("--threshold", type=float, default=None,
                    help="page threshold of --model (default: ClassifierConfig.page_threshold)")
    ap.add_argument("--baseline-model", default=None, help="another model file to print next to (a)")
    ap.add_argument("--baseline-threshold", type=float, default=0.65,
                    help="page threshold of --baseline-model (0.65: the declared default of the shipped model)")
    ap.add_argument("--calibrate", action="store_true", help="print the declared threshold rule's choice for (a)")
    ap.add_argument("--skip-trained", action="store_true",
                    help="skip (d) and (e), the models trained by train-classifier on 20 Newsgroups (minutes)")
    ap.add_argument("--d-options", default="",
                    help="train (d) with only these train-classifier options (default: two recipes, the shipped one "
                         f"and \"{D_NGRAM_OPTIONS}\", chosen on the 20NG val split)")
    ap.add_argument("--combined", action="store_true",
                    help="also (e): real seed + 20 Newsgroups train split, trained by train-classifier")
    ap.add_argument("--source-folds", type=int, default=0,
                    help="also (f) on the own held-out set: each test row scored by the shipped recipe trained "
                         "without the row's source (K folds of sources, K trainings); 0: off")
    add_check_flag(ap)
    a = ap.parse_args()
    goals = Goals("web_classifier")
    thr = ClassifierConfig().page_threshold if a.threshold is None else a.threshold
    teacher = LexiconTeacher()
    models: dict[str, tuple[HashedLinearClassifier, float]] = {
        "(a) shipped model (zero-shot)": (HashedLinearClassifier.load(a.model), thr)}
    if a.baseline_model:
        models[f"(c) {Path(a.baseline_model).name}"] = (HashedLinearClassifier.load(a.baseline_model),
                                                         a.baseline_threshold)

    rows = load(Path(a.data) / "domain" / "20newsgroups_train.jsonl.gz")
    ng = {k: [r for r in rows if ng_split(r["id"]) == k] for k in ("train", "val", "test")}
    seed_test = read_real_seed(a.real_seed, ("test",))
    seed_val = read_real_seed(a.real_seed, ("val",))

    def posts(rs: list[dict]) -> Labelled:
        return [r["body"] for r in rs], [bool(r["is_sci"]) for r in rs], [r["newsgroup"] for r in rs]

    def docs(rs: list[dict]) -> Labelled:
        return [r["text"] for r in rs], [r["label"] != "other" for r in rs], [r["source"] for r in rs]

    print(f"20 Newsgroups: {len(ng['train'])} train / {len(ng['val'])} val / {len(ng['test'])} test posts, "
          f"{sum(r['is_sci'] for r in ng['test'])} science in test; own held-out set: {len(seed_test)} documents "
          f"({sum(r['label'] != 'other' for r in seed_test)} science) from {len({r['source'] for r in seed_test})} "
          f"sources; (a) at page threshold {thr}")
    if a.calibrate:  # (a) never trains on 20 Newsgroups: its train and val splits are both validation data
        print("(a) shipped model:")
        calibrate(models["(a) shipped model (zero-shot)"][0],
                  {"seed val": docs(seed_val), "20NG train+val": posts(ng["train"] + ng["val"])}, a)

    if not a.skip_trained:
        with tempfile.TemporaryDirectory() as tmp:
            ng_file = write_labelled(ng["train"], Path(tmp) / "20ng_train.jsonl.gz")
            recipes = {"n-grams only": shlex.split(D_NGRAM_OPTIONS), "shipped recipe": []}
            if a.d_options:
                recipes = {"options " + a.d_options: shlex.split(a.d_options)}
            print("(d) in-domain: trained by our trainer on the 20 Newsgroups train split (60%), no real seed; "
                  f"recipes {list(recipes)}; each recipe's threshold by the declared rule on the 20NG val split, "
                  "then the recipe with the better validation H(purity, recall) is (d)")
            val = posts(ng["val"])
            trained = []
            for i, (recipe, opts) in enumerate(recipes.items()):
                print(f"  recipe {recipe}:")
                m = train_with_cli(Path(tmp) / f"d{i}.safetensors", ["--no-real-seed", "--labelled", str(ng_file),
                                                                     *opts])
                t_m = calibrate(m, {"20NG val": val}, a)
                pl = purity_lift(val[1], val[2], val[0], [m.predict(x).science_score for x in val[0]], a, t_m)
                hm = 2 * pl["after"] * pl["recall"] / max(1e-9, pl["after"] + pl["recall"])
                print(f"  recipe {recipe}: validation purity {pl['after']:.3f} / recall {pl['recall']:.3f} "
                      f"(H {hm:.3f}) at {t_m}")
                trained.append((hm, recipe, m, t_m))
            trained.sort(key=lambda x: -x[0])
            for rank, (_, recipe, m, t_m) in enumerate(trained):
                tag = "(d) trained on 20NG train" if rank == 0 else "(d-) not chosen on val"
                models[f"{tag}, {recipe}"] = (m, t_m)
            if a.combined:
                print("(e) the shipped recipe + the 20NG train split; threshold by the rule on seed val + 20NG val")
                m = train_with_cli(Path(tmp) / "e.safetensors", ["--labelled", str(ng_file)])
                models["(e) real seed + 20NG train"] = (
                    m, calibrate(m, {"seed val": docs(seed_val), "20NG val": posts(ng["val"])}, a))

    sets = {"20 Newsgroups test": posts(ng["test"]), "own held-out (real seed test)": docs(seed_test)}
    lex = "(b) lexicon teacher (baseline)"
    held_out_sources: list[float] | None = None
    if a.source_folds:
        print(f"(f) own held-out set, whole sources held out ({a.source_folds} folds), page threshold {thr}:")
        with tempfile.TemporaryDirectory() as tmp:
            held_out_sources = source_held_out_scores(a.real_seed, seed_test, a.source_folds, Path(tmp))
    for set_name, (texts, y, groups) in sets.items():
        print(f"\n== {set_name}: {len(texts)} pages, {sum(y)} science")
        scores: dict[str, list[float]] = {}
        speed: dict[str, float] = {}
        score_thr: dict[str, float] = {}
        for name, (m, t_m) in models.items():
            t0 = time.perf_counter()
            scores[name] = [m.predict(t).science_score for t in texts]
            speed[name] = len(texts) / (time.perf_counter() - t0)
            score_thr[name] = t_m
        if held_out_sources is not None and set_name.startswith("own"):
            name = "(f) shipped recipe, source held out"
            scores[name], speed[name], score_thr[name] = held_out_sources, float("nan"), thr
        t0 = time.perf_counter()
        scores[lex] = [float(teacher.label(t) != "other") for t in texts]  # 0/1 scores
        speed[lex] = len(texts) / (time.perf_counter() - t0)
        score_thr[lex] = 0.5
        print(f"{'classifier (page threshold)':44s} {'P':>6s} {'R':>6s} {'F1':>6s} {'docs/s':>7s}")
        res = {}
        for name, s in scores.items():
            res[name] = prf(y, [x >= score_thr[name] for x in s])
            p_, r_, f_ = res[name]
            print(f"{name + f' ({score_thr[name]})':44s} {p_:6.3f} {r_:6.3f} {f_:6.3f} {speed[name]:7.0f}")
        for name in res:
            if name != lex:
                print(f"ratio F1 {name} / lexicon baseline: {res[name][2] / max(res[lex][2], 1e-9):.2f}x")
        if set_name.startswith("own"):
            sci = [i for i, yy in enumerate(y) if yy]
            shipped = models["(a) shipped model (zero-shot)"][0]
            acc = sum(shipped.predict(texts[i]).field == seed_test[i]["label"] for i in sci) / max(1, len(sci))
            lex_acc = sum(teacher.label(texts[i]) == seed_test[i]["label"] for i in sci) / max(1, len(sci))
            print(f"field (level 2) accuracy on the science documents: shipped {acc:.3f}, lexicon {lex_acc:.3f}")
        print(f"purity lift (science ~{a.science_share:.0%}, {a.pages_per_domain} pages per pseudo-domain, half the "
              f"science in mixed domains of {a.mixed_purity:.0%}, mean of {a.repeats} corpora):")
        lifts = {name: purity_lift(y, groups, texts, s, a, score_thr[name]) for name, s in scores.items()}
        for name, pl in lifts.items():
            print_lift(name, pl, None if name == lex else lifts[lex])
        # the stated goal: the shipped model on our own held-out set, the model trained on 20NG train on 20NG
        goal_model = ("(a) shipped model (zero-shot)" if set_name.startswith("own")
                      else next((n for n in lifts if n.startswith("(d) trained on 20NG train")), None))
        if goal_model is None:
            goals.not_measured(f"{set_name}: purity >= {PURITY_GOAL} at recall >= {RECALL_GOAL}",
                               "the model trained on 20NG train was skipped (--skip-trained)")
        else:
            pl = lifts[goal_model]
            goals.at_least(f"{set_name}, {goal_model}: purity after the domain step", pl["after"], PURITY_GOAL,
                           fmt="{:.3f}")
            goals.at_least(f"{set_name}, {goal_model}: science recall", pl["recall"], RECALL_GOAL, fmt="{:.3f}")
    print(f"\nlabels {LABELS}")
    return goals.finish(a.check)


if __name__ == "__main__":
    sys.exit(main())
