"""Layering (ARCHITECTURE.md, "who may import whom"), checked on every import statement of every module,
imports inside functions included, plus a run-time check that importing a layer loads no forbidden engine.

`cli -> everything`; `dags -> jobs (and the launcher) -> pipelines`, `dags -> model`, `model -> kernels`,
`model -> pipelines` through its data interface only; `pipelines` imports nothing above it. Names are
compared with and without the `sciforge.` distribution prefix (`sciforge.pipelines.x` is `pipelines.x`),
so the rules hold under either spelling. `fixtures` (sample corpora) may use pipelines; only the root
(and tests, benchmarks) import it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOT = "sciforge"  # the composition root: sciforge/ minus the layer folders mapped into it
LAYERS = ("pipelines", "jobs", "launch", "dags", "model", "kernels", "infra", "fixtures")

# Modules every layer may import: the one typed configuration (ARCHITECTURE.md: "one typed settings
# object"), the foundation below every stage.
FOUNDATION = ("pipelines.config",)
# What the training side reads from pipelines/ (ARCHITECTURE.md: `model -> pipelines.tokenizer`; "the
# training side reads only" the tokenized snapshot): the tokenizer's public API, the snapshot reader, and
# the counters its data sources count dropped samples with (the data contract's counters).
MODEL_DATA_INTERFACE = ("pipelines.tokenizer", "pipelines.corpus.reader", "pipelines.counters")

# source layer -> project modules (prefixes) it may import, besides its own layer and FOUNDATION.
ALLOWED: dict[str, tuple[str, ...]] = {
    "pipelines": (),
    "kernels": (),
    "model": ("kernels", *MODEL_DATA_INTERFACE),
    "jobs": ("pipelines",),
    "launch": ("jobs", "pipelines", "model", "infra"),
    "dags": ("jobs", "launch", "model"),
    "infra": (),  # services and Airflow wiring sit above pipelines and read the settings only
    "fixtures": ("pipelines",),  # sample and bad-input corpora, built with the stages' own schemas
    ROOT: (ROOT, *LAYERS),
}
# Third-party engines a layer must not import anywhere (the run-time check below covers what they pull in).
FORBIDDEN_THIRD_PARTY = {"pipelines": ("pyspark", "airflow"), "model": ("airflow",),
                         "kernels": ("airflow", "pyspark"), "jobs": ("airflow",), "launch": ("airflow",)}

# Imports that break a rule today, each with the reason it stays; nothing else is tolerated.
# (importing module, imported module prefix): reason
EXCEPTIONS: dict[tuple[str, str], str] = {
    **{(m, "infra.airflow_env"): "a task's settings take the storage credentials of the Airflow connection "
       "(infra/airflow_env.py: settings_with_connection), wiring only Airflow tasks need"
       for m in ("dags._tasks", "dags._train_tasks")},
    ("dags._tasks", "pipelines.report"): "the last corpus_refresh task writes the funnel report from the "
                                         "day's manifests (pipelines/report.py, engine-free)",
}


def canonical(name: str) -> str:
    """`sciforge.pipelines.x` -> `pipelines.x`; other names unchanged."""
    parts = name.split(".")
    if parts[0] == ROOT and len(parts) > 1 and parts[1] in LAYERS:
        return ".".join(parts[1:])
    return name


def layer_of(module: str) -> str | None:
    top = canonical(module).split(".")[0]
    return top if top in (*LAYERS, ROOT) else None


def module_of(path: Path) -> str:
    """Module name of a file relative to the repository root (`pipelines/web/cli.py` -> `pipelines.web.cli`)."""
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return canonical(".".join(parts))


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, canonical
    target: str  # the imported module, canonical
    where: str  # path:line

    def __str__(self) -> str:
        return f"{self.where}: {self.module} imports {self.target}"


def imports_of(path: Path, source: str, is_package: bool = False) -> list[Import]:
    """Every import in a file, wherever it stands: module level, functions, `if TYPE_CHECKING`, and
    `importlib.import_module("literal")` / `__import__("literal")` calls."""
    module = module_of(path)
    package = module if is_package or path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[Import] = []

    def add(target: str, node: ast.AST) -> None:
        out.append(Import(module, canonical(target), f"{path}:{getattr(node, 'lineno', 0)}"))

    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1] if node.level > 1 else base
                stem = ".".join([*base, *([node.module] if node.module else [])])
            else:
                stem = node.module or ""
            for alias in node.names:  # `from pipelines import counters` imports pipelines.counters
                add(f"{stem}.{alias.name}" if alias.name != "*" else stem, node)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__")))):
            add(node.args[0].value, node)
    return out


def _under(target: str, prefixes: Iterable[str]) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def violations(found: Iterable[Import]) -> list[str]:
    bad = []
    for imp in found:
        src = layer_of(imp.module)
        if src is None:
            continue
        dst = layer_of(imp.target)
        if dst is None:
            if _under(imp.target, FORBIDDEN_THIRD_PARTY.get(src, ())):
                bad.append(f"{imp} (no {imp.target.split('.')[0]} in {src}/)")
            continue
        if dst == src or _under(imp.target, FOUNDATION) or _under(imp.target, ALLOWED[src]):
            continue
        if any(imp.module == m and _under(imp.target, (t,)) for m, t in EXCEPTIONS):
            continue
        bad.append(f"{imp} ({src}/ may import only {', '.join((src, *ALLOWED[src], *FOUNDATION))})")
    return bad


def project_files() -> list[Path]:
    files = []
    for top in (*LAYERS, ROOT):
        if (REPO / top).is_dir():
            files += sorted(p.relative_to(REPO) for p in (REPO / top).rglob("*.py") if "__pycache__" not in p.parts)
    return files


def test_every_import_respects_the_layers():
    found = [i for p in project_files() for i in imports_of(p, (REPO / p).read_text())]
    assert len({i.module for i in found}) > 100  # the walk read the project, not an empty folder
    bad = violations(found)
    assert not bad, "layering violations:\n" + "\n".join(bad)


def test_every_exception_is_still_needed():
    found = [i for p in project_files() for i in imports_of(p, (REPO / p).read_text())]
    unused = [k for k in EXCEPTIONS if not any(i.module == k[0] and _under(i.target, (k[1],)) for i in found)]
    assert not unused, f"EXCEPTIONS no longer needed, remove them: {unused}"


@pytest.mark.parametrize("path,source,target", [
    # an import inside a function counts as much as one at the top
    ("pipelines/evil.py", "def f():\n    import jobs.spark\n", "jobs.spark"),
    ("pipelines/web/evil.py", "def f():\n    from model.train import stages\n", "model.train.stages"),
    # the distribution prefix, in the import and in the folder
    ("pipelines/evil.py", "def f():\n    from sciforge.jobs import spark\n", "jobs.spark"),
    ("sciforge/pipelines/evil.py", "def f():\n    import sciforge.dags._tasks\n", "dags._tasks"),
    ("pipelines/evil.py", "def f():\n    from sciforge.cli import main\n", "sciforge.cli.main"),
    ("pipelines/evil.py", "import importlib\ndef f():\n    importlib.import_module('infra.ui')\n", "infra.ui"),
    ("pipelines/evil.py", "def f():\n    import pyspark.sql\n", "pyspark.sql"),
    ("model/evil.py", "def f():\n    from pipelines.web import classifier\n", "pipelines.web.classifier"),
    ("model/evil.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import airflow\n", "airflow"),
    ("dags/evil.py", "def f():\n    from pipelines.datasets import DatasetRef\n", "pipelines.datasets.DatasetRef"),
    ("jobs/evil.py", "def f():\n    import dags.corpus_refresh\n", "dags.corpus_refresh"),
    ("kernels/evil.py", "from ..model import layers\n", "model.layers"),  # relative, above the package
])
def test_a_violation_is_caught(path, source, target):
    bad = violations(imports_of(Path(path), source))
    assert len(bad) == 1 and f"imports {target} " in bad[0], bad


@pytest.mark.parametrize("path,source", [
    ("model/ok.py", "def f():\n    from pipelines.tokenizer.tokenizer import SciTokenizer\n"),
    ("model/ok.py", "from sciforge.pipelines.corpus.reader import CorpusSnapshot\nimport sciforge.kernels.fp8\n"),
    ("dags/ok.py", "from jobs.ingest import run_ingest\nfrom pipelines.config import get_settings\n"),
    ("sciforge/cli/ok.py", "def f():\n    import dags._tasks, jobs.spark, model, kernels, infra.ui\n"),
    ("pipelines/web/ok.py", "from . import classifier\nfrom ..datasets import DatasetRef\n"),
])
def test_allowed_imports_pass(path, source):
    assert violations(imports_of(Path(path), source)) == []


def test_relative_imports_resolve():
    (imp,) = imports_of(Path("pipelines/web/x.py"), "from ..dedup import lsh\n")
    assert imp.target == "pipelines.dedup.lsh"
    (imp,) = imports_of(Path("pipelines/web/__init__.py"), "from .cli import app\n")
    assert imp.target == "pipelines.web.cli.app"


@pytest.mark.parametrize("package,forbidden", [("sciforge.pipelines", ("pyspark", "airflow")),
                                               ("sciforge.model", ("airflow",)),
                                               ("sciforge.kernels", ("airflow", "pyspark"))])
def test_package_does_not_import(package, forbidden):
    """Run time: importing every module of a layer loads none of the forbidden engines, directly or not."""
    code = textwrap.dedent(f"""
        import importlib, pkgutil, sys
        import {package}
        for m in pkgutil.walk_packages({package}.__path__, "{package}."):
            importlib.import_module(m.name)
        print(",".join(sorted(f for f in {forbidden!r} if f in sys.modules)))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), f"{package} imports {out.stdout.strip()}"
