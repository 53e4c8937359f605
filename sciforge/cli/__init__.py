"""The `sciforge` command: the composition root above every layer.

This package is the only code that imports all the layers (pipelines, jobs, dags, model, kernels, infra).
Each sub-command lives in a module that is imported only when that command runs: `sciforge --help` and
`sciforge config show` load the settings and nothing of torch, Spark, Airflow or DeepSpeed.
(`tests/foundation/test_cli.py` checks that.) An error prints one line on stderr and exits non-zero;
`--debug` (or SCIFORGE_DEBUG=1) shows the traceback instead.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from sciforge import __version__

# name -> ("module:attribute", one-line help shown by `sciforge --help` without importing the module).
# The attribute is a Typer app (a command group) or a command function. The help lines are checked
# against the loaded commands' own help in tests/foundation/test_cli.py.
COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("sciforge.cli.config:app", "Inspect the effective configuration."),
    "datasets": ("sciforge.cli.datasets:app", "List, show and verify published datasets."),
    "demo-data": ("sciforge.cli.demo:demo_data", "Write the deterministic sample corpus (see fixtures/demo_data.py for what it plants)."),
    "ingest": ("sciforge.cli.ingest:ingest", "Register raw inputs as a raw dataset; bad records are quarantined with reasons."),
    "ui": ("sciforge.cli.ui:ui", "Start Airflow (UI + API server, scheduler, DAG processor, triggerer) on 127.0.0.1 for the project's DAGs; prints the URL and the login; Ctrl-C stops everything."),
    "demo": ("sciforge.cli.demo:demo", "Generate the sample corpus, run `corpus_refresh` and then the training DAGs through Airflow."),
    "lineage": ("sciforge.cli.lineage:lineage", "Trace a packed sequence to its pages, raw records and every stage's decision; or list a step's documents."),
    "plan": ("sciforge.cli.plan:plan", "Capacity plan: core-hours, GPU-hours, wall time, storage and output tokens from rates measured here."),
    "web": ("sciforge.cli.web:app", "Web stage: WARC -> science pages, one decision per domain."),
    "pdf": ("sciforge.cli.pdf:app", "Page-level PDF parsing with cost-aware routing."),
    "dedup": ("sciforge.cli.dedup:app", "Global page-level dedup (MinHash + LSH + connected components)."),
    "tokenizer": ("sciforge.cli.tokenizer:app", "The dynamic tokenizer for scientific text (SMILES, proteins, formulas)."),
    "corpus": ("sciforge.cli.corpus:app", "Tokenized, packed, domain-mixed corpus snapshots for training."),
    "model": ("sciforge.cli.model:app", "The MoE model family (tiny ... intern_s1): describe configs."),
    "train": ("sciforge.model.train.cli:app", "Training stages: cpt, mmpt, sft on DeepSpeed; rl (resume automatically)."),
    "eval": ("sciforge.model.rl.cli:eval_checkpoint", "pass@1 / pass@k per task family on held-out seeds, and JSONL benchmarks."),
}


def load_command(name: str, target: str) -> Any:
    """Import `module:attribute` and return it as a click command named `name`."""
    module, _, attr = target.partition(":")
    obj = getattr(importlib.import_module(module), attr)
    command: Any
    if isinstance(obj, typer.Typer):  # a group, even with one command (`config show`)
        command = typer.main.get_group(obj)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(obj)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyCommand(TyperCommand):
    """Stands in for a sub-command in the root group's listing; imports it when it is run."""

    def __init__(self, name: str, target: str, short_help: str) -> None:
        super().__init__(name, help=short_help, short_help=short_help, add_help_option=False)
        self.target = target
        self._loaded: Any = None

    def load(self) -> Any:
        if self._loaded is None:
            self._loaded = load_command(self.name or "", self.target)
        return self._loaded

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        # the group invokes `sub_ctx.command`, so the loaded command runs from here on
        return self.load().make_context(info_name, args, parent=parent, **extra)


class LazyGroup(TyperGroup):
    """The root group: every entry of COMMANDS as a LazyCommand."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, (target, short_help) in COMMANDS.items():
            self.commands.setdefault(name, LazyCommand(name, target, short_help))


app = typer.Typer(
    name="sciforge",
    cls=LazyGroup,
    help="sciforge: an open reproduction of the Intern-S1 data-and-training pipeline.\n\n"
    "Configuration: profile from SCIFORGE_PROFILE (local|cluster), YAML in infra/config/, "
    "overrides as SCIFORGE_<SECTION>__<KEY> (e.g. SCIFORGE_DATA_ROOT, SCIFORGE_SPARK__MASTER).",
    no_args_is_help=True,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"sciforge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="print the version and exit")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="on an error, show the traceback instead of one line")]
    = False,
) -> None:
    """sciforge: an open reproduction of the Intern-S1 data-and-training pipeline."""


def error_line(exc: BaseException) -> str:
    """One line that says what went wrong, for a user who did not ask for a traceback."""
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(exc, pydantic.ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc']) or exc.title}: {e['msg']}" for e in exc.errors()]
        return f"invalid {exc.title}: " + "; ".join(parts)
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"no such file or folder: {exc.filename}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    user_error = isinstance(exc, ValueError | KeyError | OSError)  # ConfigError is a ValueError
    return text if user_error else f"{type(exc).__name__}: {text}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sciforge` script and `python -m sciforge`; returns the exit status."""
    from typer import _click  # the click that this typer version ships and raises

    args = list(sys.argv[1:] if argv is None else argv)
    root_options = args[:next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))]
    debug = "--debug" in root_options or os.environ.get("SCIFORGE_DEBUG", "") not in ("", "0")
    command = typer.main.get_command(app)
    try:
        rv = command.main(args, prog_name="sciforge", standalone_mode=False)
    except _click.exceptions.NoArgsIsHelpError as e:
        e.show()
        return e.exit_code
    except _click.exceptions.ClickException as e:
        if debug:
            raise
        where = e.ctx.command_path if isinstance(e, _click.exceptions.UsageError) and e.ctx else "sciforge"
        print(f"{where}: error: {' '.join(e.format_message().split())}", file=sys.stderr)
        return e.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - the one place that turns any error into one line
        if debug:
            raise
        print(f"sciforge: error: {error_line(e)} (`sciforge --debug ...` shows the traceback)", file=sys.stderr)
        return 2 if isinstance(e, ValueError | OSError) else 1
    return rv if isinstance(rv, int) else 0
