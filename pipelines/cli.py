"""The `sciforge` command line.

Engine-free commands live here; commands that run a Spark job or an Airflow DAG import
`jobs` / `infra.airflow_env` lazily, inside the command, so `pipelines` itself never imports
Spark or Airflow. Stage packages add sub-commands through `pipelines/<stage>/cli.py:app`.
"""

from __future__ import annotations

import importlib
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="sciforge",
    help="sciforge: an open reproduction of the Intern-S1 data-and-training pipeline.\n\n"
    "Configuration: profile from SCIFORGE_PROFILE (local|cluster), YAML in infra/config/, "
    "overrides as SCIFORGE_<SECTION>__<KEY> (e.g. SCIFORGE_DATA_ROOT, SCIFORGE_SPARK__MASTER).",
    no_args_is_help=True,
    add_completion=False,
)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
datasets_app = typer.Typer(help="List, show and verify published datasets.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(datasets_app, name="datasets")
# Wide enough for the funnel table when piped to a log (rich assumes 80 columns there).
console = Console() if sys.stdout.isatty() else Console(width=160)

# Sub-command groups contributed by stage packages (mounted when the module exists).
SUBAPPS = {
    "web": "pipelines.web.cli",
    "pdf": "pipelines.pdf.cli",
    "dedup": "pipelines.dedup.cli",
    "tokenizer": "pipelines.tokenizer.cli",
    "corpus": "pipelines.corpus.cli",
    "model": "model.cli",
    "train": "model.train.cli",
    "kernels": "kernels.cli",
}


def _mount_subapps() -> None:
    for name, module in SUBAPPS.items():
        if importlib.util.find_spec(module.split(".")[0]) is None:
            continue
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            continue
        try:
            mod = importlib.import_module(module)
        except Exception as e:  # one broken stage must not take the whole CLI down
            console.print(f"[yellow]warning: `sciforge {name}` unavailable: {type(e).__name__}: {e}[/yellow]")
            continue
        sub = getattr(mod, "app", None)
        if sub is not None:
            app.add_typer(sub, name=name)


def _mount_commands() -> None:
    """Top-level commands that live in other packages: `sciforge eval CHECKPOINT ...` (model/rl)."""
    try:
        from model.rl.cli import eval_checkpoint
    except Exception as e:  # noqa: BLE001 - the rest of the CLI must work without the RL extras
        console.print(f"[yellow]warning: `sciforge eval` unavailable: {type(e).__name__}: {e}[/yellow]")
        return
    app.command("eval")(eval_checkpoint)


def _settings() -> Any:
    from pipelines.config import get_settings

    return get_settings()


@config_app.command("show")
def config_show(as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of YAML")] = False) -> None:
    """Print the effective configuration (profile + YAML + environment), secrets masked."""
    import yaml

    from pipelines.config import ConfigError

    try:
        data = _settings().masked()
    except ConfigError as e:  # a misspelt key: the message names the closest valid one
        print(f"error: {e}", file=sys.stderr)
        raise typer.Exit(2) from None
    print(json.dumps(data, indent=2, sort_keys=True) if as_json else yaml.safe_dump(data, sort_keys=True))


@app.command("demo-data")
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

        from fixtures.bad_corpus import write_bad_corpus

        cases = write_bad_corpus(out_dir)
        kinds = Counter(c.kind for c in cases)
        console.print(f"wrote {len(cases)} bad-input cases ({dict(kinds)}) to {out_dir} (see bad_cases.json)")
        return
    from fixtures.demo_data import write_demo_corpus

    planted = write_demo_corpus(out_dir)
    console.print(f"wrote {len(planted['web'])} web pages, {len(planted['pdf'])} PDFs, "
                  f"{len(planted['jsonl'])} JSONL records to {out_dir} (see planted.json)")


@app.command("ingest")
def ingest(
    source: Annotated[str, typer.Option(help="folder or s3://bucket/prefix with the raw files")],
    kind: Annotated[str, typer.Option(help="warc | pdf | jsonl")],
    date: Annotated[str, typer.Option(help="logical date YYYY-MM-DD: names the dataset version")],
    engine: Annotated[str, typer.Option(help="spark (default) or local (in-process)")] = "spark",
) -> None:
    """Register raw inputs as a raw dataset; bad records are quarantined with reasons."""
    from jobs.ingest import run_ingest

    logging.basicConfig(level=logging.WARNING)
    ref, km, qm = run_ingest(_settings(), source, kind, date, engine=engine)  # type: ignore[arg-type]
    _print_stage_summary(f"ingest {kind}", ref.key, km, qm)


def _print_stage_summary(title: str, ref: str, km: dict[str, Any], qm: dict[str, Any]) -> None:
    c = km["counters"]
    console.print(f"[bold]{title}[/bold] -> {ref}: {c['input']} in, {km['rows']} registered, "
                  f"{qm['rows']} quarantined")
    for reason, n in c["dropped"].items():
        console.print(f"    quarantined {n:>5}  {reason}")


@datasets_app.command("list")
def datasets_list(zone: Annotated[str | None, typer.Option(help="raw | clean | quarantine | corpus")] = None) -> None:
    """List published datasets under the data root."""
    from pipelines.datasets import list_datasets, read_manifest
    from pipelines.storage import open_storage

    s = _settings()
    storage = open_storage(s.data_root, s.storage_options())
    t = Table("dataset", "rows", "files", "kept", "dropped")
    for ref in list_datasets(storage, zone):
        m = read_manifest(storage, ref)
        c = m.get("counters", {})
        t.add_row(ref.key, str(m["rows"]), str(len(m["files"])), str(c.get("kept", "")),
                  str(sum((c.get("dropped") or {}).values())))
    console.print(t)


@datasets_app.command("show")
def datasets_show(ref: Annotated[str, typer.Argument(help="zone/name/version")]) -> None:
    """Print a dataset's manifest."""
    from pipelines.datasets import DatasetRef, read_manifest
    from pipelines.storage import open_storage

    s = _settings()
    print(json.dumps(read_manifest(open_storage(s.data_root, s.storage_options()), DatasetRef.parse(ref)),
                     indent=2))


@datasets_app.command("verify")
def datasets_verify(ref: Annotated[str, typer.Argument(help="zone/name/version")]) -> None:
    """Check every part's sha256 and row count against the manifest."""
    from pipelines.datasets import DatasetRef, verify
    from pipelines.storage import open_storage

    s = _settings()
    m = verify(open_storage(s.data_root, s.storage_options()), DatasetRef.parse(ref))
    console.print(f"{ref}: {len(m['files'])} files, {m['rows']} rows: OK")


@app.command("ui")
def ui(
    port: Annotated[int, typer.Option(help="port of the Airflow UI / REST API on 127.0.0.1")] = 8080,
    parallelism: Annotated[int, typer.Option(help="task slots (every task may start Spark or torch)")] = 2,
    schedule: Annotated[bool, typer.Option(help="let the scheduler start the @daily runs (DAGs start paused)")]
    = True,
) -> None:
    """Start Airflow (UI + API server, scheduler, DAG processor, triggerer) on 127.0.0.1 for the project's
    DAGs; prints the URL and the login; Ctrl-C stops everything."""
    from infra.ui import serve_ui

    serve_ui(_settings(), port=port, parallelism=parallelism, use_job_schedule=schedule)


# Steps per stage in the demo: a short visible loss curve on the tiny model (~10 s a step on 2 busy cores).
DEMO_TRAIN_STEPS = 8
TRAIN_STAGES = ("cpt", "mmpt", "sft", "rl")


@app.command("demo")
def demo(
    date: Annotated[str, typer.Option(help="logical date of the demo run")] = "2026-01-01",
    engine: Annotated[str, typer.Option(help="spark or local")] = "spark",
    fresh: Annotated[bool, typer.Option(help="regenerate the sample corpus first")] = True,
    train: Annotated[bool, typer.Option(help="then run the training DAGs (cpt -> mmpt -> sft -> rl) on the snapshot")]
    = True,
    train_steps: Annotated[int, typer.Option(help="optimizer steps per training stage (tiny model, CPU)")]
    = DEMO_TRAIN_STEPS,
) -> None:
    """Generate the sample corpus, run `corpus_refresh` and then the training DAGs through Airflow."""
    from fixtures.demo_data import write_demo_corpus
    from infra.airflow_env import run_dag_test

    s = _settings()
    console.print(f"sample corpus: {_demo_landing(s, date, fresh, write_demo_corpus)}")
    dr = run_dag_test(s, "corpus_refresh", date, {"engine": engine})
    state = str(getattr(dr, "state", "unknown"))
    console.print(f"corpus_refresh run for {date}: [bold]{state}[/bold]")
    snapshot = _print_funnel(s, date)
    if "success" not in state:
        raise typer.Exit(1)
    if train:
        if snapshot is None:
            console.print("[red]no corpus snapshot was published; skipping the training DAGs[/red]")
            raise typer.Exit(1)
        _demo_training(s, date, snapshot, train_steps)


def _demo_landing(s: Any, date: str, fresh: bool, write: Any) -> str:
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

    from pipelines.storage import open_storage

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

    from fixtures.demo_sft import write_sft_demo
    from infra.airflow_env import run_dag_test
    from pipelines.config import get_settings

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


@app.command("lineage")
def lineage(
    target: Annotated[str, typer.Argument(help="corpus/snapshot/<version>, or a training run folder")],
    shard: Annotated[int | None, typer.Option(help="shard number (snapshot)")] = None,
    seq: Annotated[int | None, typer.Option(help="sequence number inside the shard (snapshot)")] = None,
    token: Annotated[int | None, typer.Option(help="only the piece holding this token of the sequence")] = None,
    step: Annotated[int | None, typer.Option(help="optimizer step (training run): list its documents")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Trace a packed sequence to its pages, raw records and every stage's decision; or list a step's documents."""
    from pipelines.lineage import lineage_command

    try:
        print(lineage_command(target, shard=shard, seq=seq, token=token, step=step, as_json=as_json,
                              settings=_settings()))
    except (ValueError, KeyError, IndexError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise typer.Exit(2) from None


def _print_funnel(s: Any, date: str) -> str | None:
    """Print the run's funnel; returns the corpus snapshot it published (zone/name/version) or None."""
    from pipelines.storage import open_storage

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


def main() -> None:
    _mount_subapps()
    _mount_commands()
    app()


if __name__ == "__main__":
    main()
