"""Silver-labelled training documents generated deterministically from the lexicon and templates.

The shipped gold seed (``data/seed.jsonl``, 152 hand-written passages) is too small for a page
model that meets real text: most words of a real page never occur in it. This module writes a
larger seed from what the repository holds, with no external text:

* every subfield of the taxonomy lexicon (``data/lexicon.json``, level 3) gets ``docs_per_subfield``
  documents; each sentence comes from a register-neutral template (questions, forum replies,
  expository prose, shared by all labels, so the templates carry no label signal) whose slots take
  terms of that subfield, sometimes of a sibling subfield of the same field, sometimes of a
  random other label (pages mention other topics in passing), plus common English filler words
  (``data/filler.txt``) so the model sees the low term density of real pages;
* the teacher (:class:`~sciforge.pipelines.web.classifier.LexiconTeacher`) labels every document (silver
  labels); a document whose teacher label differs from the label it was generated for is left
  out and counted, so the labels are the teacher's and the generator's at once.

Deterministic: one :class:`random.Random` per document, seeded by a string of (seed, label,
subfield, index) (string seeds hash with SHA-512, stable across runs, machines and Python builds).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sciforge.pipelines.web.config import DATA_DIR

FILLER_PATH = DATA_DIR / "filler.txt"

# Register-neutral sentence frames: {t} a term of the document's topic, {w} a filler word, {n} a number.
TEMPLATES = (
    "Does anyone know how {t} relates to {t}?",
    "I read that {t} can affect {t}, but I am not sure why.",
    "The {w} part is about {t} and {t}.",
    "In my experience {t} is more {w} than {t}.",
    "We looked at {t} in {n} cases and saw {t} in most of them.",
    "This is why {t} matters for {t}.",
    "There was a {w} article on {t} last week.",
    "Can someone explain the difference between {t} and {t}?",
    "My {w} question is whether {t} works with {t}.",
    "The answer depends on {t}, not on {w} {t}.",
    "{t} and {t} were discussed at length in the {w} thread.",
    "Thanks for the reply about {t}; the {w} point about {t} helped.",
    "According to the {w} book, {t} is the key to {t}.",
    "Here is a summary of {t}, {t} and {t}.",
    "If you want to learn about {t}, start with {t}.",
    "The {w} results on {t} were reported in {n}.",
    "I have been working on {t} for {n} years.",
    "Most people who ask about {t} also ask about {t}.",
    "It is {w} to say that {t} explains {t}.",
    "You should check {t} before you worry about {t}.",
    "A {w} introduction to {t} covers {t} first.",
    "What do you think about {t}?",
    "The {t} section compares {t} with {t}.",
    "Some of the {w} claims about {t} are wrong.",
)
SLOT_SAME_SUBFIELD = 0.70  # share of topic slots drawn from the document's own subfield
SLOT_SAME_LABEL = 0.20  # ... from a sibling subfield of the same label; the rest from another label
# Filler words appended to each sentence, drawn per document from this range: real pages are mostly
# not lexicon terms (a forum post holds a few per hundred words), so documents span dense to sparse
# (documents below the teacher's min_density are left out as disagreements: too sparse to label).
FILLER_PER_SENTENCE = (2, 40)
SENTENCES_PER_DOC = (3, 10)


@dataclass(frozen=True)
class SilverConfig:
    # 40 documents per subfield: ~2,000 documents over the lexicon's ~50 subfields, a few seconds of
    # generation and under a minute of training; more adds little once every term appears in context.
    docs_per_subfield: int = 40
    # Documents of filler words only (labelled "other" by the teacher): with no science evidence a
    # page is not science. Without them the model's bias is unconstrained (every generated document
    # holds topic terms) and term-poor real pages land at an arbitrary P(science).
    neutral_docs: int = 200
    seed: int = 20250815


def load_filler(path: str | Path = FILLER_PATH) -> list[str]:
    return [w for w in Path(path).read_text().split() if w and not w.startswith("#")]


def _doc(rng: random.Random, label: str, sub: str, lexicon: dict[str, dict[str, list[str]]],
         filler: list[str]) -> str:
    own = lexicon[label][sub]
    siblings = [t for s, ts in lexicon[label].items() if s != sub for t in ts] or own
    others = [lab for lab in lexicon if lab != label]

    def term() -> str:
        x = rng.random()
        if x < SLOT_SAME_SUBFIELD:
            return rng.choice(own)
        if x < SLOT_SAME_SUBFIELD + SLOT_SAME_LABEL:
            return rng.choice(siblings)
        lab = rng.choice(others)
        return rng.choice(rng.choice(list(lexicon[lab].values())))

    sentences = []
    n_filler = rng.randint(*FILLER_PER_SENTENCE)
    for _ in range(rng.randint(*SENTENCES_PER_DOC)):
        s = rng.choice(TEMPLATES)
        while "{t}" in s:
            s = s.replace("{t}", term(), 1)
        while "{w}" in s:
            s = s.replace("{w}", rng.choice(filler), 1)
        s = s.replace("{n}", str(rng.randint(2, 2000)))
        tail = " ".join(rng.choice(filler) for _ in range(rng.randint(0, n_filler)))
        sentences.append(f"{s[0].upper()}{s[1:]} {tail}.")
    return " ".join(sentences)


def generate(lexicon: dict[str, dict[str, list[str]]], teacher: object, cfg: SilverConfig = SilverConfig(),
             filler_path: str | Path = FILLER_PATH) -> tuple[list[str], list[str], Counter[str]]:
    """(texts, silver labels, counts): ``counts`` has ``generated``, ``kept`` and ``teacher_disagrees``."""
    terms = {t for subs in lexicon.values() for ts in subs.values() for t in ts}
    filler = [w for w in load_filler(filler_path) if w not in terms]  # filler must stay label-neutral
    texts, labels = [], []
    counts: Counter[str] = Counter()
    for label in sorted(lexicon):
        for sub in sorted(lexicon[label]):
            for i in range(cfg.docs_per_subfield):
                rng = random.Random(f"{cfg.seed}:{label}:{sub}:{i}")
                text = _doc(rng, label, sub, lexicon, filler)
                counts["generated"] += 1
                silver = teacher.label(text)  # type: ignore[attr-defined]
                if silver != label:
                    counts["teacher_disagrees"] += 1
                    continue
                texts.append(text)
                labels.append(silver)
                counts["kept"] += 1
    for i in range(cfg.neutral_docs):
        rng = random.Random(f"{cfg.seed}:neutral:{i}")
        text = " ".join(rng.choice(filler) for _ in range(rng.randint(20, 300)))
        counts["generated"] += 1
        silver = teacher.label(text)  # type: ignore[attr-defined]
        texts.append(text)
        labels.append(silver)
        counts["kept"] += 1
    return texts, labels, counts
