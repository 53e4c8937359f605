"""Build ``real_seed.jsonl.gz``: the real-text seed set of the science classifier, with provenance.

This script documents (and re-runs) how the shipped file was made; the classifier never runs it.
It reads public Git repositories (local bare clones or checkouts, passed with ``--mirror NAME=PATH``)
at the pinned commits below, keeps only openly licensed text (CC0, public domain, CC BY 4.0: see
``SOURCES.md``), cuts it into page-sized documents and labels each document from its SOURCE
(an arXiv category, a textbook's subject, a corpus of film reviews ...), never from its words, with
one exception that is named: arXiv's coarse "physics" abstracts are split into physics /
chemistry / materials science / earth science by the lexicon teacher (silver, counted).

    python pipelines/web/data/build_real_seed.py --mirror arxiv=/path/to/IS6751_project_arxiv_classifier \\
        --mirror nltk=/path/to/nltk_data --mirror microbiology=... --out pipelines/web/data/real_seed.jsonl.gz

Every row: ``id`` (source:ref:chunk), ``text``, ``label`` (one of the seven), ``source`` (a
SOURCES.md key), ``group`` (``science`` | ``academic_other`` | ``everyday_other``), ``split``
(``train`` | ``val`` | ``test`` by a hash of ``id``: 60/20/20; the shipped model trains on ``train``,
thresholds are calibrated on ``val``, bench/web_classifier.py reports ``test``).
Deterministic: fixed seeds, sorted inputs, gzip with mtime 0.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import random
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

# (key, repository, commit) of every upstream; paths and licences are in SOURCES.md
PINS = {
    "arxiv": ("AmirYunus/IS6751_project_arxiv_classifier", "cbcf9d2b20927a25bc0df5adf1285bc8f10c9e3c"),
    "nltk": ("nltk/nltk_data", "5db857e6f7df11eabb5e5665836db9ec8df07e28"),
    "microbiology": ("openstax/osbooks-microbiology", "f1d8d4e9941417f25610a239045c35488d56cf22"),
    "economics": ("openstax/osbooks-principles-economics-bundle", "cd31beb103fffbc09cc81ebfe117d8c40cc12d1a"),
    "world_history": ("openstax/osbooks-world-history", "b2ddac6d5ab41847257c1484ee9271576d1a053e"),
    "gutenberg_9198": ("GITenberg/The-Complete-Angler-1653_9198", "3e96ba0d8cc824b4aaf81f9e8d08dd904996df2b"),
    "gutenberg_18195": ("GITenberg/The-Girl-s-Own-Paper-Vol.-VIII--No.-353-October-2-1886._18195",
                        "7dd4392fb0f06c54b14abe0852033a97eeca0af4"),
    "gutenberg_17474": ("GITenberg/How-to-Listen-to-Music-7th-ed.Hints-and-Suggestions-to-Untaught-Lovers-of-the-Art_17474",
                        "ea7589aba5feb585e0983ab0bb8f3f5f582e89c8"),
    "gutenberg_20249": ("GITenberg/Legend-Land-Volume-2Western-Parts-of-Britain-Served-by-The-Great-Western-Railway_20249",
                        "917b33b5f9cedc8510b390e09ba7385b55c4549d"),
    "gutenberg_20866": ("GITenberg/Infantry-Drill-Regulations-United-States-Army-1911Corrected-to-April-15-1917--Changes-Nos.-1-__20866",
                        "6df14b0a44c0051ff0427ca68e8fd70efefd74e0"),
    "medquad": ("abachaa/MedQuAD", "577bd37b96c02d1833b2c9eed2de9f96964e96cb"),
}
# MedQuAD collections whose answers are in the repository (CC BY 4.0; the three MedlinePlus A.D.A.M., drug and
# herbal collections ship questions only) -> source name
MEDQUAD_COLLECTIONS = {"1_CancerGov_QA": "medquad_cancergov", "2_GARD_QA": "medquad_gard", "3_GHR_QA": "medquad_ghr",
                       "4_MPlus_Health_Topics_QA": "medquad_medlineplus", "5_NIDDK_QA": "medquad_niddk",
                       "6_NINDS_QA": "medquad_ninds", "7_SeniorHealth_QA": "medquad_seniorhealth",
                       "8_NHLBI_QA_XML": "medquad_nhlbi", "9_CDC_QA": "medquad_cdc"}
# arXiv top-level groups (the CSV's "category" column) -> label. Left out: statistics and electrical engineering
# (partly mathematics, partly machine learning: no single label is right) and computer science (cryptography,
# electronics and scientific computing sit on the border of the six fields; as "other" it cost science
# recall on the validation splits).
ARXIV_LABEL = {"physics": "physics", "mathematics": "mathematics", "quantitative biology": "life_science",
               "quantitative finance": "other", "economics": "other"}
PHYSICS_FAMILY = ("physics", "chemistry", "materials_science", "earth_science")
# Page-sized documents: a web page's main text is tens to hundreds of words (the quality stage drops
# pages under 50 words, Gopher); each chunk's target length is drawn from this range.
CHUNK_WORDS = (50, 300)
SEED = 20251130
MAX_REVIEW_WORDS = 400  # film reviews run to 1,000+ words; their first 400 carry the register


def git_show(repo: Path, commit: str, path: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(_git_dir(repo)), "show", f"{commit}:{path}"],
                          check=True, capture_output=True).stdout


def git_ls(repo: Path, commit: str, prefix: str = "") -> list[str]:
    out = subprocess.run(["git", "--git-dir", str(_git_dir(repo)), "ls-tree", "-r", "--name-only", commit, prefix],
                         check=True, capture_output=True, text=True).stdout
    return sorted(out.split())


def _git_dir(repo: Path) -> Path:
    return repo / ".git" if (repo / ".git").is_dir() else repo


def chunks(paragraphs: list[str], rng: random.Random) -> Iterator[str]:
    """Greedy page-sized groups of consecutive paragraphs."""
    cur: list[str] = []
    n, target = 0, rng.randint(*CHUNK_WORDS)
    for p in paragraphs:
        cur.append(p)
        n += len(p.split())
        if n >= target:
            yield "\n\n".join(cur)
            cur, n, target = [], 0, rng.randint(*CHUNK_WORDS)
    if n >= CHUNK_WORDS[0]:
        yield "\n\n".join(cur)


def clean(s: str) -> str:
    return re.sub(r"[ \t]+", " ", s).strip()


# ------------------------------------------------------------------------------------------ readers
def read_arxiv(repo: Path, commit: str, teacher: object, counts: Counter[str]) -> Iterator[dict]:
    rows = csv.DictReader(io.StringIO(git_show(repo, commit, "data/arxiv_lite.csv").decode()))
    for r in rows:
        lab = ARXIV_LABEL.get(r["category"])
        if lab is None:
            counts["arxiv_skipped_category"] += 1
            continue
        text = clean(r["title"]) + "\n\n" + clean(" ".join(r["summary"].split()))
        if len(text.split()) < 30:
            counts["arxiv_too_short"] += 1
            continue
        if lab == "physics":  # coarse group: the lexicon names the field among the physics family (silver)
            scores = {f: sum(teacher.subfield_scores(tokenize(text), f).values()) for f in PHYSICS_FAMILY}  # type: ignore[attr-defined]
            best = max(PHYSICS_FAMILY, key=lambda f: (scores[f], f == "physics"))
            if best != "physics" and scores[best] >= 3 and scores[best] > scores["physics"]:
                lab = best
                counts[f"arxiv_physics_relabelled_{best}"] += 1
        group = "science" if lab != "other" else "academic_other"
        key = hashlib.sha1(r["title"].encode()).hexdigest()[:12]
        yield {"id": f"arxiv:{key}", "text": text, "label": lab, "source": f"arxiv_{r['category'].replace(' ', '_')}",
               "group": group}


def _cnxml_paragraphs(xml: bytes) -> list[str]:
    ns = "{http://cnx.rice.edu/cnxml}"
    root = ET.fromstring(xml)
    skip = {f"{ns}exercise", f"{ns}footnote", f"{ns}figure", f"{ns}table", f"{ns}media"}
    parents = {c: p for p in root.iter() for c in p}
    out = []
    for el in root.iter(f"{ns}para"):
        anc, drop = parents.get(el), False
        while anc is not None:
            if anc.tag in skip or anc.get("class") in {"references", "summary", "review-questions", "multiple-choice",
                                                      "free-response", "fill-in-the-blank", "short-answer"}:
                drop = True
                break
            anc = parents.get(anc)
        if drop:
            continue
        for fn in el.iter(f"{ns}footnote"):
            fn.clear()
        t = clean(" ".join("".join(el.itertext()).split()))
        if len(t.split()) >= 8:
            out.append(t)
    return out


def read_openstax(key: str, repo: Path, commit: str, label: str, group: str, rng: random.Random) -> Iterator[dict]:
    modules: list[str] = []
    for coll in git_ls(repo, commit, "collections/"):
        xml = git_show(repo, commit, coll).decode()
        if "creativecommons.org/licenses/by/4.0" not in xml:  # only CC BY collections (SOURCES.md)
            continue
        modules += [m for m in re.findall(r'<col:module document="(m\d+)"', xml) if m not in modules]
    for m in modules:
        try:
            paras = _cnxml_paragraphs(git_show(repo, commit, f"modules/{m}/index.cnxml"))
        except subprocess.CalledProcessError:
            continue
        for i, text in enumerate(chunks(paras, rng)):
            yield {"id": f"{key}:{m}:{i}", "text": text, "label": label, "source": key, "group": group}


def _zip(repo: Path, commit: str, name: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(git_show(repo, commit, f"packages/corpora/{name}.zip")))


def read_nltk(repo: Path, commit: str, rng: random.Random) -> Iterator[dict]:
    z = _zip(repo, commit, "movie_reviews")  # CC BY 4.0 (Pang & Lee polarity v2.0)
    for n in sorted(x for x in z.namelist() if x.endswith(".txt")):
        text = " ".join(z.read(n).decode("utf-8", "replace").split(" ")[:MAX_REVIEW_WORDS])
        yield {"id": f"movie_reviews:{n.split('/')[-1]}", "text": text.strip(), "label": "other",
               "source": "nltk_movie_reviews", "group": "everyday_other"}
    for corpus in ("product_reviews_1", "product_reviews_2"):  # CC BY 4.0 (Hu & Liu): one review per [t]
        z = _zip(repo, commit, corpus)
        for n in sorted(x for x in z.namelist() if x.endswith(".txt") and "Readme" not in x and "README" not in x):
            reviews: list[list[str]] = []
            cur: list[str] = []
            for line in z.read(n).decode("utf-8", "replace").splitlines():
                if line.startswith("[t]"):
                    if cur:
                        reviews.append(cur)
                    cur = [line[3:].strip()]
                elif "##" in line:
                    cur.append(line.split("##", 1)[1].strip())
            if cur:
                reviews.append(cur)
            for i, r in enumerate(reviews):
                text = "\n".join(s for s in r if s)
                if len(text.split()) >= 30:
                    yield {"id": f"{corpus}:{Path(n).stem}:{i}", "text": text, "label": "other",
                           "source": f"nltk_{corpus}", "group": "everyday_other"}
    z = _zip(repo, commit, "pros_cons")  # CC BY 4.0: short pros/cons lines, grouped into pages
    for n in ("pros_cons/IntegratedPros.txt", "pros_cons/IntegratedCons.txt"):
        lines = [re.sub(r"</?(Pros|Cons)>", "", ln).strip() for ln in z.read(n).decode("latin-1").splitlines()]
        lines = [ln for ln in lines if len(ln.split()) >= 3]
        for i in range(0, min(len(lines), 4000), 20):
            yield {"id": f"pros_cons:{Path(n).stem}:{i}", "text": "\n".join(lines[i:i + 20]), "label": "other",
                   "source": "nltk_pros_cons", "group": "everyday_other"}
    z = _zip(repo, commit, "subjectivity")  # CC BY 4.0: film plot summaries and review snippets
    for n in ("subjectivity/plot.tok.gt9.5000", "subjectivity/quote.tok.gt9.5000"):
        lines = z.read(n).decode("latin-1").splitlines()
        for i in range(0, len(lines), 8):
            yield {"id": f"subjectivity:{Path(n).stem}:{i}", "text": " ".join(lines[i:i + 8]), "label": "other",
                   "source": "nltk_subjectivity", "group": "everyday_other"}
    for corpus in ("state_union", "inaugural"):  # public domain (US presidential addresses)
        z = _zip(repo, commit, corpus)
        for n in sorted(x for x in z.namelist() if x.endswith(".txt")):
            paras = [clean(" ".join(p.split())) for p in re.split(r"\n\s*\n", z.read(n).decode("latin-1"))]
            for i, text in enumerate(chunks([p for p in paras if p], rng)):
                yield {"id": f"{corpus}:{Path(n).stem}:{i}", "text": text, "label": "other",
                       "source": f"nltk_{corpus}", "group": "everyday_other"}


def read_gutenberg(key: str, repo: Path, commit: str, rng: random.Random) -> Iterator[dict]:
    number = key.split("_")[1]
    raw = git_show(repo, commit, f"{number}.txt").decode("latin-1")
    m = re.search(r"\*\*\* ?START OF TH[^\n]*\n(.*?)\n[^\n]*\*\*\* ?END OF TH", raw, re.S)
    body = m.group(1) if m else raw
    paras = [clean(" ".join(p.split())) for p in re.split(r"\r?\n\s*\r?\n", body)]
    paras = [p for p in paras if len(p.split()) >= 8 and "gutenberg" not in p.lower()]
    for i, text in enumerate(chunks(paras, rng)):
        yield {"id": f"{key}:{i}", "text": text, "label": "other", "source": key, "group": "everyday_other"}


def read_medquad(repo: Path, commit: str, rng: random.Random) -> Iterator[dict]:
    """Consumer-health pages of NIH institutes (MedQuAD): one document per topic, its questions and answers
    in order, cut to page size (the first chunk); plain-language medicine, closer to a forum or a health
    site than a textbook."""
    for coll, source in MEDQUAD_COLLECTIONS.items():
        for path in git_ls(repo, commit, f"{coll}/"):
            root = ET.fromstring(git_show(repo, commit, path))
            paras = []
            for qa in root.iter("QAPair"):
                q, ans = qa.findtext("Question") or "", qa.findtext("Answer") or ""
                ans = clean(" ".join(ans.split()))
                if len(ans.split()) >= 8:
                    paras.append(clean(q) + "\n" + ans)
            for text in chunks(paras, rng):
                yield {"id": f"{source}:{Path(path).stem}", "text": text, "label": "life_science", "source": source,
                       "group": "science"}
                break


MEDQUAD_CAP = 60  # each of the 9 MedQuAD collections: ~500 health pages, a third of the life-science rows
# Per-source caps: keep the file small (a few MB) and no single register dominant.
CAPS = {"nltk_movie_reviews": 400, "nltk_product_reviews_1": 250, "nltk_product_reviews_2": 250,
        "nltk_pros_cons": 150, "nltk_subjectivity": 200, "nltk_state_union": 300, "nltk_inaugural": 150,
        "economics": 400, "world_history": 400, "microbiology": 600,
        **{src: MEDQUAD_CAP for src in MEDQUAD_COLLECTIONS.values()}}
DEFAULT_CAP = 120  # each Project Gutenberg book


def tokenize(text: str) -> list[str]:
    from pipelines.web.classifier import tokenize as tok

    return tok(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", action="append", default=[], help="KEY=PATH of a clone of PINS[KEY]")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("real_seed.jsonl.gz"))
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from pipelines.web.classifier import LexiconTeacher, seed_split

    mirrors = dict(kv.split("=", 1) for kv in a.mirror)
    missing = sorted(set(PINS) - set(mirrors))
    if missing:
        raise SystemExit(f"need --mirror for {missing}")
    rng = random.Random(SEED)
    counts: Counter[str] = Counter()
    rows: list[dict] = []

    def pin(k: str) -> tuple[Path, str]:
        return Path(mirrors[k]), PINS[k][1]

    rows += read_arxiv(*pin("arxiv"), LexiconTeacher(), counts)
    rows += read_openstax("microbiology", *pin("microbiology"), "life_science", "science", rng)
    rows += read_openstax("economics", *pin("economics"), "other", "academic_other", rng)
    rows += read_openstax("world_history", *pin("world_history"), "other", "everyday_other", rng)
    rows += read_nltk(*pin("nltk"), rng)
    for k in sorted(x for x in PINS if x.startswith("gutenberg_")):
        rows += read_gutenberg(k, *pin(k), rng)
    rows += read_medquad(*pin("medquad"), rng)  # last: the readers above draw from rng first, as before it
    by_src: dict[str, list[dict]] = {}
    for r in rows:
        by_src.setdefault(r["source"], []).append(r)
    out = []
    for src in sorted(by_src):
        rs = sorted(by_src[src], key=lambda r: hashlib.sha256(f"{SEED}:{r['id']}".encode()).hexdigest())
        cap = CAPS.get(src, DEFAULT_CAP if src.startswith("gutenberg_") else 10**9)
        counts[f"capped_{src}"] += max(0, len(rs) - cap)
        out += rs[:cap]
    seen: set[str] = set()
    final = []
    for r in sorted(out, key=lambda r: r["id"]):
        if r["id"] in seen:
            counts["duplicate_id"] += 1
            continue
        seen.add(r["id"])
        r["split"] = seed_split(r["id"])
        final.append({k: r[k] for k in ("id", "label", "source", "group", "split", "text")})
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as f:
        for r in final:
            f.write((json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n").encode())
    a.out.write_bytes(buf.getvalue())
    summary = Counter(f"{r['source']}/{r['label']}" for r in final)
    print(json.dumps({"rows": len(final), "bytes": len(buf.getvalue()), "counts": dict(sorted(counts.items())),
                      "by_source_label": dict(sorted(summary.items()))}, indent=1))


if __name__ == "__main__":
    main()
