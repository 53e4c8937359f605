"""The `sciforge` command (sciforge/cli): every command mounts, startup stays light, errors are one line."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What `sciforge --help` and `sciforge config show` must not load (seconds and hundreds of MB each).
HEAVY = ("torch", "pyspark", "airflow", "deepspeed", "triton", "transformers", "pymupdf", "rdkit", "scipy")


def _sciforge(*args: str, env: dict[str, str] | None = None, python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    base = {"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([sys.executable, *python_flags, "-m", "sciforge", *args], capture_output=True, text=True,
                          timeout=300, cwd=REPO, env={**base, **(env or {})})


def test_every_stage_cli_mounts_and_help_explains():
    out = _sciforge("--help")
    assert out.returncode == 0, out.stderr
    assert "unavailable" not in out.stdout + out.stderr
    for cmd in ("demo", "demo-data", "ingest", "config", "datasets", "web", "pdf", "dedup", "tokenizer",
                "corpus", "model", "train", "eval", "ui", "lineage"):
        assert f" {cmd} " in out.stdout, cmd


def test_ingest_help_names_its_options_and_choices():
    out = _sciforge("ingest", "--help")
    assert out.returncode == 0 and "--source" in out.stdout and "--kind" in out.stdout
    assert "warc" in out.stdout and "spark" in out.stdout and "local" in out.stdout


@pytest.mark.parametrize("args", [("--help",), ("config", "show")])
def test_startup_imports_no_engine(args):
    """`-X importtime` lists every module the command imported: none of the heavy engines."""
    out = _sciforge(*args, python_flags=("-X", "importtime"))
    assert out.returncode == 0, out.stderr[-3000:]
    imported = {m.group(1).strip().split(".")[0]
                for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", out.stderr, re.M)}
    assert "typer" in imported and ("pydantic" in imported or args == ("--help",))  # the parse read real lines
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_version():
    from sciforge import __version__

    out = _sciforge("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"sciforge {__version__}"


def test_listing_help_matches_each_command():
    """The root's listing is written down (so it imports nothing); it must say what each command says."""
    from sciforge.cli import COMMANDS, load_command

    for name, (target, short) in COMMANDS.items():
        cmd = load_command(name, target)
        own = " ".join((cmd.short_help or cmd.help or "").split())
        assert own.startswith(short.rstrip(".")), (name, own, short)


@pytest.mark.parametrize("args,env,says", [
    (("datasets", "show", "not-a-ref"), {}, "is not <zone>/<name>/<version>"),
    (("datasets", "list"), {"SCIFORGE_SPARK__MASTR": "local[1]"}, "did you mean SCIFORGE_SPARK__MASTER?"),
    (("ingest", "--source", "x", "--kind", "warc", "--date", "2026-01-01", "--engine", "flink"), {},
     "'flink' is not one of 'spark', 'local'"),
    (("pdf", "parse", "/no/such/file.pdf"), {}, "does not exist"),
])
def test_a_user_error_is_one_line_and_the_traceback_needs_debug(args, env, says):
    out = _sciforge(*args, env=env)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in out.stderr, out.stderr
    assert out.stdout == ""
    debug = _sciforge("--debug", *args, env=env)
    assert debug.returncode != 0 and says in debug.stderr
    if "Invalid value" not in lines[0] and "does not exist" not in lines[0]:  # usage errors have no traceback
        assert "Traceback" in debug.stderr, debug.stderr
