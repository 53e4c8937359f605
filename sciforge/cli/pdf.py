"""`sciforge pdf ...`: parse a local PDF page by page, show the expensive backends' status,
or run the Spark job on a raw PDF dataset."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from sciforge.cli._shared import Engine

app = typer.Typer(help="Page-level PDF parsing with cost-aware routing.", no_args_is_help=True)


def _cfg(overrides: list[str]) -> object:
    from sciforge.pipelines.config import get_settings
    from sciforge.pipelines.pdf.config import PdfConfig

    opts = get_settings().stage("pdf")
    for kv in overrides:
        k, _, v = kv.partition("=")
        try:
            opts[k] = json.loads(v)  # numbers, true/false, lists
        except json.JSONDecodeError:
            opts[k] = v  # plain strings (ocr_backend=tesseract)
    return PdfConfig(**opts)


@app.command("backends")
def backends(option: list[str] = typer.Option([], "--set", help="stage option KEY=VALUE")) -> None:
    """Which expensive parsers are available here, and why not."""
    from sciforge.pipelines.pdf.backends import backend_status, select_backend

    cfg = _cfg(option)
    for name, (ok, why) in backend_status(cfg).items():  # type: ignore[arg-type]
        typer.echo(f"{'yes' if ok else 'no ':4s} {name:12s} {why}")
    for route in ("math", "scan"):
        name, why = select_backend(route, cfg)  # type: ignore[arg-type,assignment]
        typer.echo(f"route {route}: {name or 'cheap output (flagged)'}")


@app.command("parse")
def parse(
    pdf: Path = typer.Argument(..., exists=True, dir_okay=False, help="a local PDF file"),
    first: int = typer.Option(1, help="first page (1-based)"),
    last: int = typer.Option(0, help="last page (0 = the last page of the file)"),
    out: Path | None = typer.Option(None, help="write the rows as JSON lines here"),
    option: list[str] = typer.Option([], "--set", help="stage option KEY=VALUE (e.g. ocr_backend=rapidocr)"),
) -> None:
    """Parse pages of one PDF and print each page's route, parser and markdown."""
    import hashlib

    import pymupdf

    from sciforge.pipelines.pdf.parse import PageParser, Segment

    cfg = _cfg(option)
    try:
        with pymupdf.open(pdf) as d:
            n = d.page_count
    except Exception as e:
        raise typer.BadParameter(f"{pdf}: not a readable PDF ({e})") from None
    last = last or n
    seg = Segment(hashlib.sha256(pdf.read_bytes()).hexdigest(), pdf.name, first - 1, min(last, n), n)
    with PageParser(cfg) as pp:  # type: ignore[arg-type]
        res = pp.parse_segment(str(pdf), seg)
    rows = sorted(res.kept + res.quarantined, key=lambda r: r["page"])
    for r in rows:
        status = f"QUARANTINED {r['reason']}" if "reason" in r else f"{r['parser']} {','.join(r['flags'])}"
        typer.secho(f"--- page {r['page']} [{r['route']}] {status}", bold=True)
        typer.echo(r["text"])
    typer.echo(f"{res.counters.summary()}  metrics: {dict(sorted(res.counters.metrics.items()))}")
    if out:
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


@app.command("run")
def run(
    input: str = typer.Argument(..., help="raw PDF dataset, e.g. raw/pdf/2026-01-01_abcdef012345"),
    date: str = typer.Option(..., help="logical date YYYY-MM-DD"),
    engine: Engine = typer.Option(Engine.spark, help="where the job runs"),
) -> None:
    """Run the PDF parsing job on a published raw PDF dataset."""
    from sciforge.jobs.pdf_parse import main

    main(["--input", input, "--date", date, "--engine", engine.value])
