"""Detection: precision/recall of SMILES and protein spans on text with planted spans, false positives per MB
of plain text; ours vs the Intern-S1 rule (SMILES-unit runs >= 10 with >= 5 letters + RDKit; protein =
27+ capitals) and a naive detector (every whitespace token RDKit parses).

Construction (seeded): each document is 3-8 sentences of held-out 20-newsgroups prose; with probability
0.7 one to three items are planted between sentences. Positives: held-out MOSES and stereo-rich ChEMBL/NCI
SMILES in prose templates (bare, in parentheses, after "SMILES:", sentence-final with a period), protein
sequences from Biopython FASTA (inline, wrapped FASTA records with a header, UniProt blocks of ten).
Hard negatives planted the same way: words RDKit parses (POISON, CISCO, OPINIONS, COONS), '*' runs,
formulas, IUPAC names, gene names and acronyms, DNA, URLs, DOIs, hex digests, all-caps shouting, code, math,
version strings, condensed formulas (CH2=CH-CH2-OH). A predicted span is a true positive when it overlaps a planted span of the same modality with
intersection-over-union >= 0.9. False positives per MB: all held-out posts and the docling science markdown, nothing planted.

    .venv/bin/python bench/tokenizer_detection.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tokenizer_data import SEED, data_arg, load  # noqa: E402

from pipelines.tokenizer.detect import Detector, _strip_candidate, rdkit_atoms  # noqa: E402
from pipelines.tokenizer.smiles import count_units  # noqa: E402

Span = tuple[int, int, str]
SMILES_TEMPLATES = ["The compound {} was tested.", "It was made from ({}) in two steps.", "SMILES: {}",
                    "We obtained {}.", "Product 3a, {}, crystallised."]
NEGATIVES = ["POISON", "CISCO", "OPINIONS", "COONS", "*****", "**********", "H2O", "C6H12O6", "CO2", "H2SO4",
             "2-methylpropan-1-ol", "N,N-dimethylformamide", "(2S)-2-aminopropanoic acid", "BRCA1", "TP53",
             "IL-6/STAT3", "COVID-19", "SARS-CoV-2", "https://www.ncbi.nlm.nih.gov/pubmed/12345678",
             "doi:10.1021/acs.jcim.0c00123", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
             "THISISABSOLUTELYTHEBESTCONFERENCEEVERHELD", "NSCLC", "CCCCCCCCCCCC", "MOLECULES",
             # code, math, versions, identifiers, chemistry written as condensed formulas
             "x[i]=y(j)+1;", "arr[0][1]=F(N)", "f(x)=x^2+2x+1", "CH2=CH-CH2-OH", "CH3(CH2)10COOH",
             "v1.2.3-beta+build.45", "ISBN 978-3-16-148410-0", "SO4(2-)", "NO3-", "Fe2(SO4)3",
             "O(n*log(n))", "P(A|B)=P(B|A)P(A)/P(B)", "C++11/C#", "I/O=0x1F", "CYP3A4", "Cas9-sgRNA",
             "ACGU-rich", "PEG-400", "NaCl/KCl", "HEPES-NaOH"]


def wrap(s: str, n: int) -> str:
    return "\n".join(s[i:i + n] for i in range(0, len(s), n))


def build(d: object, n_docs: int, rng: random.Random) -> list[tuple[str, list[Span]]]:
    sentences = [s.strip() + "." for post in d.news_test for s in re.split(r"(?<=[.!?])\s+", post)  # type: ignore[attr-defined]
                 if 30 <= len(s.strip()) <= 200 and "\n" not in s.strip()]
    smiles = d.moses_test[:400] + d.stereo[:400]  # type: ignore[attr-defined]
    proteins = [p for p in d.proteins if len(p) >= 40]  # type: ignore[attr-defined]
    dna = [x[:rng.randint(40, 120)] for x in d.dna]  # type: ignore[attr-defined]
    docs = []
    for _ in range(n_docs):
        parts = [rng.choice(sentences) for _ in range(rng.randint(3, 8))]
        text, spans = "", []
        plant_at = set(rng.sample(range(len(parts)), k=min(len(parts), rng.randint(1, 3)))) if rng.random() < 0.7 else set()
        for i, sent in enumerate(parts):
            text += sent + " "
            if i not in plant_at:
                continue
            kind = rng.random()
            if kind < 0.45:
                s = rng.choice(smiles)
                t = rng.choice(SMILES_TEMPLATES)
                pre = t.split("{}")[0]
                spans.append((len(text) + len(pre), len(text) + len(pre) + len(s), "smiles"))
                text += t.format(s) + " "
            elif kind < 0.7:
                p = rng.choice(proteins)
                style = rng.random()
                if style < 0.4:
                    pre = "The sequence "
                    spans.append((len(text) + len(pre), len(text) + len(pre) + len(p), "protein"))
                    text += f"{pre}{p} was aligned. "
                elif style < 0.8:
                    body = wrap(p, 60)
                    pre = "\n>sp|P00001|PROT_HUMAN Example protein\n"
                    spans.append((len(text) + len(pre), len(text) + len(pre) + len(body), "protein"))
                    text += pre + body + "\n"
                else:
                    body = " ".join(p[i:i + 10] for i in range(0, len(p), 10))
                    pre = "SQ   "
                    spans.append((len(text) + len(pre), len(text) + len(pre) + len(body), "protein"))
                    text += pre + body + "\n"
            elif kind < 0.8:
                text += f"The primer {rng.choice(dna)} was used. "
            else:
                text += f"They wrote {rng.choice(NEGATIVES)} here. "
        docs.append((text, spans))
    return docs


# -- detectors -------------------------------------------------------------------------------------
_RUN = re.compile(r"[A-Za-z0-9@+\-\[\]()=#$%/\\.*]+")
_CAPS = re.compile(r"[A-Z]{27,}")


def intern_s1(text: str) -> list[Span]:
    """The rule of Intern-S1's public tokenizer code: runs of >= 10 SMILES units with >= 5 letters that RDKit
    parses; proteins as runs of 27 or more capital letters."""
    out = []
    for m in _RUN.finditer(text):
        lt, rt = _strip_candidate(m.group(0))  # the same trimming of prose punctuation as ours
        s = m.group(0)[lt:rt]
        if count_units(s) >= 10 and sum(c.isalpha() for c in s) >= 5 and rdkit_atoms(s) > 0:
            out.append((m.start() + lt, m.start() + rt, "smiles"))
    taken = [(a, b) for a, b, _ in out]
    out += [(m.start(), m.end(), "protein") for m in _CAPS.finditer(text)
            if all(m.end() <= a or m.start() >= b for a, b in taken)]
    return out


def naive(text: str) -> list[Span]:
    """Every whitespace-separated token (trailing punctuation stripped) that RDKit parses; 27+ capitals."""
    out = []
    for m in re.finditer(r"\S+", text):
        s = m.group(0).rstrip(".,;:")
        if len(s) >= 2 and rdkit_atoms(s) > 0:
            out.append((m.start(), m.start() + len(s), "smiles"))
    out += [(m.start(), m.end(), "protein") for m in _CAPS.finditer(text)]
    return out


def ours_fn(det: Detector) -> Callable[[str], list[Span]]:
    return lambda text: [(s.start, s.end, s.modality) for s in det.detect(text) if s.modality in ("smiles", "protein")]


def iou(a: Span, b: Span) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def score(fn: Callable[[str], list[Span]], docs: list[tuple[str, list[Span]]], modality: str) -> tuple[float, float, int]:
    tp = fp = fn_ = 0
    for text, truth in docs:
        pred = [s for s in fn(text) if s[2] == modality]
        gold = [s for s in truth if s[2] == modality]
        hit = set()
        for p in pred:
            j = next((j for j, g in enumerate(gold) if j not in hit and iou(p, g) >= 0.9), None)
            if j is None:
                fp += 1
            else:
                hit.add(j)
                tp += 1
        fn_ += len(gold) - len(hit)
    return tp / max(tp + fp, 1), tp / max(tp + fn_, 1), fp


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data_arg(p)
    p.add_argument("--docs", type=int, default=3000)
    a = p.parse_args()
    t0 = time.time()
    d = load(a.data, n_moses_train=0)
    docs = build(d, a.docs, random.Random(SEED))
    n_s = sum(s[2] == "smiles" for _, sp in docs for s in sp)
    n_p = sum(s[2] == "protein" for _, sp in docs for s in sp)
    print(f"{len(docs)} documents, {sum(len(t) for t, _ in docs) / 1e6:.2f} MB, planted {n_s} SMILES, {n_p} proteins")
    detectors = {"ours": ours_fn(Detector()), "intern-s1 rule": intern_s1, "naive rdkit": naive}
    prose = d.news_test + d.science  # one document at a time, as the corpus job sees them
    mb = sum(len(x.encode()) for x in prose) / 1e6
    print(f"\n{'detector':16s} {'SMILES P':>9s} {'SMILES R':>9s} {'prot P':>8s} {'prot R':>8s} "
          f"{'FP/MB smiles':>13s} {'FP/MB prot':>11s} {'s/MB':>6s}")
    examples = {}
    for name, fn in detectors.items():
        sp, sr, _ = score(fn, docs, "smiles")
        pp, pr, _ = score(fn, docs, "protein")
        t = time.time()
        found = [(x[a_:b], m) for x in prose for a_, b, m in fn(x)]
        secs = time.time() - t
        fps = sum(m == "smiles" for _, m in found) / mb
        fpp = sum(m == "protein" for _, m in found) / mb
        examples[name] = [x[:50] for x, _ in found[:8]]
        print(f"{name:16s} {sp:9.3f} {sr:9.3f} {pp:8.3f} {pr:8.3f} {fps:13.1f} {fpp:11.1f} {secs / mb:6.2f}")
    print(f"\nplain text: {mb:.2f} MB of held-out 20-newsgroups posts + docling science markdown (nothing planted);"
          " first spans found:")
    for name, ex in examples.items():
        print(f"  {name}: {ex}")
    print(f"({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
