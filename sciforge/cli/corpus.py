"""``sciforge corpus``: build a snapshot, show its layout and mixture, decode a sample."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from sciforge.cli._shared import Engine

app = typer.Typer(help="Tokenized, packed, domain-mixed corpus snapshots for training.", no_args_is_help=True)


@app.command()
def build(
    pages: Annotated[str, typer.Option(help="input page dataset clean/pages/<version>")],
    date: Annotated[str, typer.Option(help="logical date YYYY-MM-DD")],
    engine: Annotated[Engine, typer.Option(help="where the job runs")] = Engine.spark,
) -> None:
    """Run the corpus job (Spark by default) and print the published snapshot reference."""
    from sciforge.jobs.corpus import run_corpus  # jobs import Spark lazily; pipelines never does
    from sciforge.pipelines.config import get_settings
    from sciforge.pipelines.datasets import DatasetRef

    typer.echo(str(run_corpus(get_settings(), DatasetRef.parse(pages), date, engine=engine.value)))  # type: ignore[arg-type]


@app.command()
def info(snapshot: Annotated[str, typer.Argument(help="corpus/snapshot/<version>")]) -> None:
    """Sequences, tokens per domain and modality, mixture and tokenizer of a snapshot."""
    from sciforge.pipelines.config import get_settings
    from sciforge.pipelines.corpus.reader import CorpusSnapshot

    s = get_settings()
    snap = CorpusSnapshot.open(s.data_root, snapshot, s.storage_options())
    meta = {k: v for k, v in snap.meta.items() if k != "shards"}
    meta["shards"] = len(snap.meta["shards"])
    typer.echo(json.dumps(meta, indent=2, sort_keys=True))


@app.command()
def sample(
    snapshot: Annotated[str, typer.Argument(help="corpus/snapshot/<version>")],
    index: Annotated[int, typer.Option(help="global sequence number")] = 0,
) -> None:
    """Decode one training sequence, marking document boundaries."""
    from sciforge.pipelines.config import get_settings
    from sciforge.pipelines.corpus.reader import CorpusSnapshot

    s = get_settings()
    snap = CorpusSnapshot.open(s.data_root, snapshot, s.storage_options())
    tokens, docs = snap.sequence(index)
    tok = snap.tokenizer()
    cuts = [0] + [i for i in range(1, len(docs)) if docs[i] != docs[i - 1]] + [len(docs)]
    for a, b in zip(cuts, cuts[1:], strict=False):
        typer.echo(f"--- document {int(docs[a])} ({b - a} tokens)")
        typer.echo(tok.decode(tokens[a:b].tolist()))
