"""``sciforge tokenizer``: train, explain, encode, info."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The dynamic tokenizer for scientific text (SMILES, proteins, formulas).",
                  no_args_is_help=True)


def _load(path: Path | None):  # noqa: ANN202 - returns SciTokenizer (imported lazily)
    from sciforge.pipelines.tokenizer.default import default_tokenizer
    from sciforge.pipelines.tokenizer.tokenizer import SciTokenizer

    return default_tokenizer() if path is None else SciTokenizer.load(path)


TokOpt = Annotated[Path | None, typer.Option("--tokenizer", "-t", help="tokenizer folder (default: the seed tokenizer)")]


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder to write the tokenizer to")],
    pages: Annotated[list[str] | None, typer.Option(help="a clean pages dataset <zone>/<name>/<version> (text)")] = None,
    text: Annotated[list[Path] | None, typer.Option(help="text files: .jsonl (field text), .txt/.md; .gz ok")] = None,
    smiles: Annotated[list[Path] | None, typer.Option(help="SMILES files: .smi/.csv/.txt (first column); .gz ok")] = None,
    protein: Annotated[list[Path] | None, typer.Option(help="protein FASTA files; .gz ok")] = None,
    vocab_size: Annotated[int | None, typer.Option(help="the whole id space")] = None,
    smiles_vocab: Annotated[int | None, typer.Option(help="SMILES sub-vocabulary")] = None,
    protein_vocab: Annotated[int | None, typer.Option(help="protein BPE size (0 = fixed k-mers)")] = None,
    protein_kmer: Annotated[int | None, typer.Option(help="k of the fixed protein k-mers")] = None,
    augment: Annotated[int | None, typer.Option(help="molecules that also give a stereoisomer, Kekulé form, random order")] = None,
    max_smiles: Annotated[int, typer.Option(help="read at most this many SMILES per file")] = 200_000,
    max_docs: Annotated[int, typer.Option(help="read at most this many text documents in all")] = 1_000_000,
    seed_default: Annotated[bool, typer.Option("--default", help="train the DEFAULT tokenizer from the shipped seeds")] = False,
) -> None:
    """Learn the text BPE, the SMILES atom BPE and the protein vocabulary; save in HF conventions."""
    from sciforge.pipelines.config import get_settings
    from sciforge.pipelines.tokenizer.config import DetectorConfig, TrainConfig
    from sciforge.pipelines.tokenizer.default import DEFAULT_TRAIN, train_default
    from sciforge.pipelines.tokenizer.train import read_fasta, read_smiles, read_texts, train_tokenizer

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    stage = settings.stage("tokenizer")
    base = DEFAULT_TRAIN if seed_default else TrainConfig(**stage.get("train", {}))
    overrides = {k: v for k, v in {"vocab_size": vocab_size, "smiles_vocab_size": smiles_vocab,
                                   "protein_vocab_size": protein_vocab, "protein_kmer": protein_kmer,
                                   "augment": augment}.items() if v is not None}
    cfg = TrainConfig(**{**base.model_dump(), **overrides})
    if seed_default:
        tok = train_default(cfg)
    else:
        def docs():  # noqa: ANN202
            for ref in pages or []:
                yield from _pages_text(settings, ref)
            for p in text or []:
                yield from read_texts(p)

        sm = [s for p in smiles or [] for s in read_smiles(p, max_smiles)]
        pr = [s for p in protein or [] for s in read_fasta(p)]
        if not (pages or text):
            raise typer.BadParameter("give --pages and/or --text (or --default)")
        det = DetectorConfig(**stage.get("detector", {}))
        tok = train_tokenizer(itertools.islice(docs(), max_docs), sm, pr, cfg, det)
    tok.save(out)
    typer.echo(json.dumps({"out": str(out), "hash": tok.hash, "vocab_size": tok.vocab_size,
                           "modality_ranges": tok.modality_ranges, "sources": tok.meta.get("sources")}, indent=2))


def _pages_text(settings, ref: str):  # noqa: ANN001, ANN202
    from sciforge.pipelines.datasets import DatasetRef, iter_batches
    from sciforge.pipelines.storage import open_storage

    storage = open_storage(settings.data_root, settings.storage_options())
    for batch in iter_batches(storage, DatasetRef.parse(ref), columns=["text"]):
        yield from (t for t in batch.column("text").to_pylist() if t)


@app.command()
def explain(text: Annotated[str, typer.Argument(help="text to analyse ('-' reads stdin)")], tokenizer: TokOpt = None) -> None:
    """Show every candidate the detectors considered, the decision and why, then the tokens."""
    import sys

    if text == "-":
        text = sys.stdin.read()
    tok = _load(tokenizer)
    decisions = tok.detector.decisions(text)
    if not decisions:
        typer.echo("no candidate scientific strings: everything is text")
    for d in decisions:
        mark = "ACCEPT" if d.accepted else "reject"
        typer.echo(f"{mark} {d.kind:8s} [{d.start}:{d.end}] {d.text[:60]!r} -> {d.modality or '-'}: {d.reason}")
    typer.echo("")
    for seg in tok.segments(text):
        ids = tok.encode(seg.text) if seg.kind == "text" else None
        typer.echo(f"{seg.kind:8s} {seg.modality:8s} {seg.text[:60]!r}" + (f" ({len(ids)} text tokens)" if ids else ""))
    ids = tok.encode(text)
    typer.echo(f"\n{len(text)} characters -> {len(ids)} tokens ({len(text) / max(len(ids), 1):.2f} chars/token)")


@app.command()
def encode(text: Annotated[str, typer.Argument(help="text to encode")], tokenizer: TokOpt = None) -> None:
    """Print the ids and token names."""
    tok = _load(tokenizer)
    ids = tok.encode(text)
    typer.echo(json.dumps({"ids": ids, "tokens": [tok.id_to_token(i) for i in ids]}, ensure_ascii=False))


@app.command()
def info(tokenizer: TokOpt = None) -> None:
    """Vocabulary layout, special tokens and content hash."""
    tok = _load(tokenizer)
    typer.echo(json.dumps({"hash": tok.hash, "vocab_size": tok.vocab_size, "modality_ranges": tok.modality_ranges,
                           "special_tokens": tok.special_ids, "smiles_mode": tok.smiles.mode,
                           "protein_mode": tok.protein.mode, "meta": tok.meta}, indent=2, default=str))
