"""`sciforge demo` and `sciforge demo-data`: the sample corpus, `corpus_refresh` and the training DAGs
through Airflow, and the funnel they print."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sciforge.cli._shared import Engine, console, settings


def demo_data(
    out_dir: Annotated[Path, typer.Argument(help="folder to write warc/, pdf/, jsonl/ into")],
    bad: Annotated[bool, typer.Option(help="write the bad-input corpus instead (60 cases, bad_cases.json)")]
    = False,
) -> None:
    """Write the deterministic sample corpus (see fixtures/demo_data.py for what it plants).

    With --bad: truncated WARCs, broken charsets, binary payloads, corrupt / encrypted / empty / huge PDFs,
    invalid JSON and UTF-8, invalid SMILES ... mixed with good items; each case says whether it must be
    kept or quarantined (fixtures/bad_corpus.py). Put it under <landing_root>/dt=<day> and run
    corpus_refresh for that day to see every item accounted for."""
    if bad:
        from collections import Counter

        from sciforge.fixtures.bad_corpus import write_bad_corpus

        cases = write_bad_corpus(out_dir)
        kinds = Counter(c.kind for c in cases)
        console.print(f"wrote {len(cases)} bad-input cases ({dict(kinds)}) to {out_dir} (see bad_cases.json)")
        return
    from sciforge.fixtures.demo_data import write_demo_corpus

    planted = write_demo_corpus(out_dir)
    console.print(f"wrote {len(planted['web'])} web pages, {len(planted['pdf'])} PDFs, "
                  f"{len(planted['jsonl'])} JSONL records to {out_dir} (see planted.json)")


# Steps per stage in the demo: a short visible loss curve on the tiny model (~10 s a step on 2 busy cores).
DEMO_TRAIN_STEPS = 8
TRAIN_STAGES = ("cpt", "mmpt", "sft", "rl")


def demo(
    date: Annotated[str, typer.Option(help="logical date of the demo run")] = "2026-01-01",
    engine: Annotated[Engine, typer.Option(help="where the data jobs run")] = Engine.spark,
    fresh: Annotated[bool, typer.Option(help="regenerate the sample corpus first")] = True,
    train: Annotated[bool, typer.Option(help="then run the training DAGs (cpt -> mmpt -> sft -> rl) on the snapshot")]
    = True,
    train_steps: Annotated[int, typer.Option(help="optimizer steps per training stage (tiny model, CPU)")]
    = DEMO_TRAIN_STEPS,
) -> None:
    """Generate the sample corpus, run `corpus_refresh` and then the training DAGs through Airflow."""
    from sciforge.fixtures.demo_data import write_demo_corpus
    from sciforge.infra.airflow_env import run_dag_test

    s = settings()
    landing = demo_landing(s, date, fresh, write_demo_corpus)
    console.print(f"sample corpus: {landing}")
    dr = run_dag_test(s, "corpus_refresh", date, {"engine": engine.value})
    state = str(getattr(dr, "state", "unknown"))
    console.print(f"corpus_refresh run for {date}: [bold]{state}[/bold]")
    snapshot = print_funnel(s, date)
    if "success" not in state:
        raise typer.Exit(1)
    if train:
        if snapshot is None:
            console.print("[red]no corpus snapshot was published; skipping the training DAGs[/red]")
            raise typer.Exit(1)
        _demo_training(s, date, snapshot, train_steps)
    if snapshot is not None:
        closing_summary(s, snapshot, landing)


# The plan line of the closing summary: the paper-scale example of `sciforge plan` in the README (a 5T-token
# run of intern_s1 on 1,024 H200s, a 4,096-core data cluster, 10B web records and 1B PDF pages in).
DEMO_PLAN = {"web_docs": 10**10, "pdf_pages": 10**9, "text_docs": 0, "tokens": 5 * 10**12, "gpus": "1024xH200",
             "cores": 4096}
DEMO_PLAN_MODEL = "intern_s1"


def closing_summary(s: Any, snapshot: str, landing: str) -> None:
    """One traced sequence of the snapshot (`sciforge lineage`) and one plan line (`sciforge plan`), with the
    per-core rates calibrated on the sample corpus when none are stored yet."""
    import tempfile

    from sciforge.cli.plan import run_calibration
    from sciforge.model.config import get_config
    from sciforge.pipelines.config import load_settings
    from sciforge.pipelines.datasets import DatasetRef
    from sciforge.pipelines.lineage import Snapshot, format_trace, trace
    from sciforge.pipelines.plan import load_rates, make_plan, plan_line, save_rates
    from sciforge.pipelines.storage import open_storage

    storage = open_storage(s.data_root, s.storage_options())
    try:
        ref = DatasetRef.parse(snapshot)
        snap = Snapshot.open(storage, ref)
        shard, seq = snap.locate(snap.n_sequences // 2)
        t = trace(storage, ref, shard, seq)
        t["pieces"] = t["pieces"][:1]
        console.print(f"[bold]lineage[/bold] (sciforge lineage {snapshot} --shard {shard} --seq {seq}, first piece):")
        console.print(format_trace(t), markup=False, highlight=False)
    except Exception as e:  # noqa: BLE001 - the summary must not fail a demo whose runs succeeded
        console.print(f"[yellow]lineage unavailable: {type(e).__name__}: {e}[/yellow]")
    try:
        try:
            rates = load_rates(storage)
        except FileNotFoundError:
            with tempfile.TemporaryDirectory(prefix="sciforge-plan-") as tmp:
                rates = run_calibration(load_settings(storage={"data_root": f"{tmp}/data"}), landing)
            save_rates(storage, rates)
        console.print("[bold]plan[/bold] (sciforge plan --web-docs 10B --pdf-pages 1B --tokens 5T --model intern_s1 "
                      "--gpus 1024xH200 --cores 4096):")
        plan = make_plan(rates, model=get_config(DEMO_PLAN_MODEL), **DEMO_PLAN)  # type: ignore[arg-type]
        console.print(plan_line(plan), markup=False, highlight=False)
    except Exception as e:  # noqa: BLE001
        console.print(f"[yellow]plan unavailable: {type(e).__name__}: {e}[/yellow]")


def demo_landing(s: Any, date: str, fresh: bool, write: Any) -> str:
    """The day's landing folder holding the sample corpus, on local disk or S3 (``ingest.landing_root``)."""
    root = s.resolve_path(s.ingest.landing_root).rstrip("/")
    if "://" not in root:
        landing = Path(root) / f"dt={date}"
        if fresh and landing.exists():
            shutil.rmtree(landing)
        if not landing.exists():
            write(landing)
        return str(landing)
    import tempfile

    from sciforge.pipelines.storage import open_storage

    uri = f"{root}/dt={date}"
    store = open_storage(uri, s.storage_options())
    store.check()
    if fresh:
        store.delete_prefix("")
    if not store.list(""):
        with tempfile.TemporaryDirectory() as tmp:
            write(tmp)
            for p in sorted(Path(tmp).rglob("*")):
                if p.is_file():
                    store.write_bytes(str(p.relative_to(tmp)), p.read_bytes())
    return uri


def _demo_training(s: Any, date: str, snapshot: str, steps: int) -> None:
    """train_cpt -> train_mmpt -> train_sft -> train_rl through Airflow (`dag.test`), each on the snapshot's
    version.

    With a scheduler these DAGs are triggered by the `corpus` and checkpoint Assets; `dag.test` runs no
    scheduler, so the demo triggers them in the same order and passes the corpus version as a param.
    """
    import os

    from sciforge.fixtures.demo_sft import write_sft_demo
    from sciforge.infra.airflow_env import run_dag_test
    from sciforge.pipelines.config import get_settings

    if not s.train.sft_data:
        sft = write_sft_demo(Path(s.resolve_path("./var/demo")) / "sft_chat.jsonl")
        os.environ["SCIFORGE_TRAIN__SFT_DATA"] = str(sft)
        get_settings.cache_clear()  # the tasks read the settings again, in this process
        s = get_settings()
        console.print(f"SFT data (generated, RDKit-computed answers): {sft}")
    version = snapshot.rstrip("/").split("/")[-1]
    root = Path(s.resolve_path(s.train.checkpoint_root))
    t = Table("stage", "state", "steps", "last loss", "run folder", title=f"training on {snapshot}")
    ok = True
    for stage in TRAIN_STAGES:
        console.print(f"[bold]train_{stage}[/bold] ({steps} steps) ...")
        dr = run_dag_test(s, f"train_{stage}", date, {"corpus_ref": snapshot, "max_steps": steps})
        state = str(getattr(dr, "state", "unknown"))
        run_dir = root / stage / version
        summary = run_dir / "summary.json"
        info = json.loads(summary.read_text()) if summary.exists() else {}
        loss = (info.get("last") or {}).get("loss")
        t.add_row(f"train_{stage}", state, str(info.get("steps", "-")),
                  f"{loss:.3f}" if isinstance(loss, float) else "-", str(run_dir))
        if "success" not in state:
            ok = False
            break
    console.print(t)
    console.print(f"checkpoints: {root}/<stage>/{version}/ (export/ = safetensors + config + tokenizer; "
                  "curves.png, metrics.jsonl, tensorboard/)")
    if not ok:
        raise typer.Exit(1)


def print_funnel(s: Any, date: str) -> str | None:
    """Print the run's funnel; returns the corpus snapshot it published (zone/name/version) or None."""
    from sciforge.pipelines.storage import open_storage

    storage = open_storage(s.data_root, s.storage_options())
    key = f"reports/corpus_refresh/{date}/funnel.json"
    if not storage.exists(key):
        console.print("[red]no funnel report was written[/red]")
        return None
    rows = json.loads(storage.read_bytes(key))
    t = Table("stage", "in", "kept", "dropped", "why dropped", "dataset", title=f"funnel {date}")
    for r in rows:
        if r.get("missing") is True:  # a partial day: this stage published nothing
            t.add_row(r["stage"], "-", "-", "-", "[red]not published[/red]", "-")
            continue
        why = "\n".join(f"{k}: {v}" for k, v in r["reasons"].items()) or "-"
        t.add_row(r["stage"], str(r["input"]), str(r["kept"]), str(r["dropped"]), why, r["dataset"])
    console.print(t)
    console.print(f"report: {storage.uri(key).replace('.json', '.md')} (+ funnel.png)")
    snapshots = [r["dataset"] for r in rows if str(r.get("dataset", "")).startswith("corpus/")]
    if snapshots:
        console.print(f"corpus snapshot: {storage.uri(snapshots[-1])}")
    return snapshots[-1] if snapshots else None
