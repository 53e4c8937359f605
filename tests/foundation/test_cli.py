import subprocess
import sys


def test_every_stage_cli_mounts_and_help_explains():
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", "--help"], capture_output=True, text=True,
                         timeout=300, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "unavailable" not in out.stdout + out.stderr
    for cmd in ("demo", "demo-data", "ingest", "config", "datasets", "web", "pdf", "dedup", "tokenizer",
                "corpus", "model", "train"):
        assert f" {cmd} " in out.stdout, cmd


def test_ingest_help_names_its_options():
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", "ingest", "--help"], capture_output=True,
                         text=True, timeout=300, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0 and "--source" in out.stdout and "--kind" in out.stdout
