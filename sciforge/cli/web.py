"""`sciforge web ...`: train the science classifier, classify text, run the web filter."""

from __future__ import annotations

import gzip
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from tqdm import tqdm

from sciforge.cli._shared import Engine
from sciforge.pipelines.web.classifier import (
    LABELS,
    LEXICON_PATH,
    REAL_SEED_PATH,
    SEED_PATH,
    HashedLinearClassifier,
    LexiconTeacher,
    LLMTeacher,
    TrainConfig,
    build_training_set,
    train,
)
from sciforge.pipelines.web.config import DEFAULT_MODEL
from sciforge.pipelines.web.silver import SilverConfig


class Teacher(StrEnum):
    """Who gives the silver labels of unlabelled text."""

    lexicon = "lexicon"
    llm = "llm"


app = typer.Typer(help="Web stage: WARC -> science pages, one decision per domain.", no_args_is_help=True)
console = Console(stderr=True)


def _read_texts(path: Path, text_key: str) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        for line in f:
            if line.strip():
                row = json.loads(line)
                if isinstance(row.get(text_key), str) and row[text_key].strip():
                    out.append(row[text_key])
    return out


@app.command("train-classifier")
def train_classifier(
    out: Annotated[Path, typer.Option(help="where to write the model (safetensors)")] = DEFAULT_MODEL,
    seed: Annotated[Path, typer.Option(help="gold seed set: JSONL with `text` and `label`")] = SEED_PATH,
    real_seed: Annotated[Path, typer.Option(
        help="real-text seed set (JSONL.gz with `text`, `label`, `split`; its `train` split is used)")] = REAL_SEED_PATH,
    use_real_seed: Annotated[bool, typer.Option("--real-seed-on/--no-real-seed",
                                                help="train on the real-text seed set too")] = True,
    lexicon: Annotated[Path, typer.Option(help="taxonomy lexicon (JSON)")] = LEXICON_PATH,
    labelled: Annotated[list[Path] | None, typer.Option(
        help="more labelled JSONL(.gz) in the real seed's format (`text`, `label` in "
             f"{'|'.join(LABELS)}, optional `source` and `split`: only `train` rows are used); repeatable. "
             "With --no-real-seed it replaces the real seed, e.g. an in-domain set")] = None,
    unlabelled: Annotated[list[Path] | None, typer.Option(
        help="extra JSONL(.gz) text to label with the teacher (silver labels); repeatable")] = None,
    text_key: Annotated[str, typer.Option(help="text field of the unlabelled JSONL")] = "text",
    teacher: Annotated[Teacher, typer.Option(help="silver-label teacher")] = Teacher.lexicon,
    endpoint: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint for --teacher llm")] = None,
    model: Annotated[str, typer.Option(help="model name for --teacher llm")] = "",
    l2: Annotated[float, typer.Option(help="L2 penalty")] = TrainConfig.l2,
    lexicon_weight: Annotated[float, typer.Option(
        help="value of each lexicon indicator feature next to the L2-normalised n-grams; 0: none")
    ] = TrainConfig.lexicon_weight,
    source_balance: Annotated[float, typer.Option(
        help="0: every document weighs the same; 1: every source (a labelled file's `source`) weighs the same "
             "within a label, for the labels in TrainConfig.source_balance_labels (default: other)")
    ] = TrainConfig.source_balance,
    silver_per_subfield: Annotated[int, typer.Option(
        help="silver documents generated per lexicon subfield (pipelines/web/silver.py); 0: none")
    ] = SilverConfig.docs_per_subfield,
) -> None:
    """Train the page classifier. With no options it rebuilds the shipped default model byte for byte
    (with OMP_NUM_THREADS=1, as the tests run: more BLAS threads sum floats in another order inside
    L-BFGS and change the last bits of the weights)."""
    if os.environ.get("OMP_NUM_THREADS") != "1":
        console.print("[yellow]OMP_NUM_THREADS is not 1: the model may differ from the shipped one in the last "
                      "bits (BLAS threads change the float summation order)[/yellow]")
    silver = SilverConfig(docs_per_subfield=silver_per_subfield) if silver_per_subfield > 0 else False
    with console.status("reading the seed sets and generating the silver set from the lexicon"):
        ts = build_training_set(seed, lexicon, silver, real_seed if use_real_seed else None, labelled or [])
    texts, labels, groups = ts.texts, ts.labels, ts.groups
    console.print(f"seed: {len(texts)} examples from {real_seed.name if use_real_seed else '(no real seed)'} + "
                  f"{seed.name} + {lexicon.name}{''.join(' + ' + p.name for p in labelled or [])} (real text, "
                  f"gold, lexicon documents and template silver labels): " + json.dumps(ts.counts))
    if unlabelled:
        if teacher is Teacher.llm:
            if not endpoint:
                raise typer.BadParameter("--teacher llm needs --endpoint")
            t: LexiconTeacher | LLMTeacher = LLMTeacher(endpoint, model, os.environ.get("OPENAI_API_KEY"))
        else:
            t = LexiconTeacher(str(lexicon))
        for p in unlabelled:
            extra = _read_texts(p, text_key)
            extra_labels = [t.label(x) for x in tqdm(extra, desc=f"labelling {p.name}", unit="doc")]
            texts += extra
            labels += extra_labels
            groups += [f"unlabelled_{p.name}"] * len(extra)
            console.print(f"{p.name}: {len(extra)} silver labels " +
                          json.dumps({lab: extra_labels.count(lab) for lab in LABELS}))
    meta: dict[str, object] = {"seed_file": seed.name, "silver_per_subfield": silver_per_subfield,
                               "real_seed_file": real_seed.name if use_real_seed else ""}
    if labelled:
        meta["labelled"] = [p.name for p in labelled]
    if unlabelled:
        meta.update(teacher=teacher.value, unlabelled=[p.name for p in unlabelled])
    with console.status(f"training on {len(texts)} documents (L-BFGS)"):
        cfg = TrainConfig(l2=l2, source_balance=source_balance, lexicon_weight=lexicon_weight)
        clf = train(texts, labels, cfg, meta=meta, groups=groups)
    clf.save(out)
    console.print(f"wrote {out} ({out.stat().st_size} bytes, {len(clf.rows)} feature rows)")


@app.command()
def classify(
    files: Annotated[list[Path] | None, typer.Argument(help="text files (default: stdin)")] = None,
    model: Annotated[Path, typer.Option(help="model file")] = DEFAULT_MODEL,
) -> None:
    """Print P(science), field and subfield of each text."""
    clf = HashedLinearClassifier.load(model)
    lex = LexiconTeacher()
    items = [(str(f), f.read_text(errors="replace")) for f in files] if files else [("-", sys.stdin.read())]
    for name, text in items:
        p = clf.predict(text)
        print(json.dumps({"input": name, "science_score": p.science_score, "field": p.label,
                          "subfield": lex.subfield(text, p.label), "probs": p.probs}))


@app.command()
def run(
    input_ref: Annotated[str, typer.Argument(help="raw web dataset: raw/web/<version>")],
    date: Annotated[str, typer.Option(help="logical date YYYY-MM-DD")],
    engine: Annotated[Engine, typer.Option(help="where the job runs")] = Engine.spark,
) -> None:
    """Run the web filter job (jobs/web_filter.py) and print the funnel."""
    from sciforge.jobs.web_filter import run_web_filter
    from sciforge.pipelines.config import get_settings
    from sciforge.pipelines.counters import StageCounters
    from sciforge.pipelines.datasets import DatasetRef, read_manifest
    from sciforge.pipelines.storage import open_storage

    s = get_settings()
    ref = run_web_filter(s, DatasetRef.parse(input_ref), date, engine=engine.value)  # type: ignore[arg-type]
    m = read_manifest(open_storage(s.data_root, s.storage_options()), ref)
    c = StageCounters.from_dict(m["counters"])
    console.print(f"{ref}: {c.summary()}")
    for k, v in sorted(c.metrics.items()):
        if k.startswith(("domains_", "route_", "rewrite_")):
            console.print(f"  {k}: {v}")
