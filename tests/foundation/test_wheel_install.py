"""The installable package: the wheel holds one top-level package, `sciforge`, with the layers inside it
(sciforge.pipelines, sciforge.jobs, ...) and the files they read at run time; installed into a fresh
virtual environment outside the checkout it shows its configuration and runs a stage.

No network and no big install: the wheel is built without dependencies (`pip wheel --no-deps`) and the
fresh environment reuses this environment's site-packages for the third-party libraries, through a path
entry (its .pth files, this checkout's editable install among them, are not processed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from sciforge.pipelines.config import REPO_ROOT

LAYER_LINKS = sorted(p.name for p in (REPO_ROOT / "sciforge").iterdir() if p.is_symlink())
# Files the code reads at run time, by the folder they live in: every one of them must be in the wheel.
RUNTIME_DATA = {"infra/config": "*.yaml", "infra/deepspeed": "*.json", "model/train/configs": "*.yaml",
                "kernels/csrc": "*.c*", "pipelines/web/data": "*.[jgstm]*", "pipelines/tokenizer/seed": "*.gz"}


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert out.returncode == 0, f"{cmd} exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}"
    return out


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("wheel")
    # The sources the build reads: pyproject, README, sciforge/ and the layer folders its links name.
    src = work / "src"
    src.mkdir()
    junk = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, src / name)
    shutil.copytree(REPO_ROOT / "sciforge", src / "sciforge", symlinks=True, ignore=junk)
    for layer in LAYER_LINKS:
        shutil.copytree(REPO_ROOT / layer, src / layer, ignore=junk)
    dist = work / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(dist), str(src)])
    (wheel,) = dist.glob("sciforge-*.whl")

    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    purelib = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    (purelib / "_reuse_project_site.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", str(wheel)])
    elsewhere = work / "elsewhere"  # not the checkout, not the environment
    elsewhere.mkdir()
    return {"wheel": wheel, "venv": venv, "py": py, "purelib": purelib, "cwd": elsewhere}


def _clean_env(venv: Path) -> dict[str, str]:
    """This process's environment without what would point back at the checkout or change the settings."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("SCIFORGE_")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_wheel_claims_one_top_level_name_and_ships_the_runtime_files(wheel_env):
    names = zipfile.ZipFile(wheel_env["wheel"]).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"sciforge", wheel_env["wheel"].name.split("-py")[0] + ".dist-info"}, top
    assert {"pipelines", "jobs", "dags", "model", "kernels", "infra"} <= set(LAYER_LINKS)
    for layer in LAYER_LINKS:
        assert f"sciforge/{layer}/__init__.py" in names, layer
    for folder, pattern in RUNTIME_DATA.items():
        files = sorted(p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / folder).glob(pattern))
        assert files, f"{folder}/{pattern} matches nothing in the checkout"
        missing = [f for f in files if f"sciforge/{f}" not in names]
        assert not missing, f"the wheel lacks {missing}"
    entry = zipfile.ZipFile(wheel_env["wheel"]).read(
        next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert re.search(r"^sciforge = sciforge\.", entry, re.M), entry


def test_sciforge_config_show_from_the_installed_wheel(wheel_env):
    out = _run([str(wheel_env["venv"] / "bin" / "sciforge"), "config", "show"], cwd=wheel_env["cwd"],
               env=_clean_env(wheel_env["venv"]))
    assert re.search(r"^profile: local$", out.stdout, re.M), out.stdout[-2000:]
    assert "data_root:" in out.stdout


def test_a_stage_runs_from_the_installed_wheel_outside_the_checkout(wheel_env):
    """ingest + text_pages (in-process engine) on a small JSONL landing folder, the settings read from the
    wheel's infra/config, the default data root relative to the working directory; the web classifier's
    shipped weights and lexicon load from the package."""
    landing = wheel_env["cwd"] / "landing"
    landing.mkdir()
    docs = [{"id": f"d{i}", "text": f"Note {i} on catalytic hydrogenation of alkenes: we report rate constants "
             "and their uncertainty, and compare the model with the observed trend. " * 3} for i in range(5)]
    (landing / "notes.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    code = textwrap.dedent(f"""
        import importlib.util, json, sys
        import sciforge
        from sciforge.jobs.ingest import run_ingest
        from sciforge.jobs.text_pages import run_text_pages
        from sciforge.pipelines import config
        from sciforge.pipelines.datasets import read_manifest
        from sciforge.pipelines.storage import open_storage
        from sciforge.pipelines.web.classifier import load_classifier, load_lexicon
        from sciforge.pipelines.web.config import WebConfig

        s = config.get_settings()
        raw, _, _ = run_ingest(s, {str(landing)!r}, "jsonl", "2026-01-01", engine="local")
        pages = run_text_pages(s, raw, "2026-01-01", engine="local")
        manifest = read_manifest(open_storage(s.data_root, s.storage_options()), pages)
        model_path = WebConfig().classifier.model_path
        load_classifier(model_path)
        print(json.dumps({{
            "sciforge": sciforge.__file__, "repo_root": str(config.REPO_ROOT),
            "import_root": str(config.IMPORT_ROOT), "checkout": config.SOURCE_CHECKOUT,
            "profile_dir": str(config.PROFILE_DIR), "data_root": s.data_root, "pages": pages.key,
            "rows": manifest["rows"], "model_path": model_path, "lexicon": len(load_lexicon()),
            "bare": [n for n in ("pipelines", "jobs", "dags", "model", "kernels", "infra")
                     if "sciforge" in str(getattr(importlib.util.find_spec(n), "origin", ""))],
        }}))
    """)
    out = _run([str(wheel_env["py"]), "-c", code], cwd=wheel_env["cwd"], env=_clean_env(wheel_env["venv"]))
    got = json.loads(out.stdout.strip().splitlines()[-1])
    pkg = wheel_env["purelib"] / "sciforge"
    assert Path(got["sciforge"]) == pkg / "__init__.py"
    assert (Path(got["repo_root"]), Path(got["import_root"]), got["checkout"]) == (pkg, wheel_env["purelib"], False)
    assert Path(got["profile_dir"]) == pkg / "infra" / "config"
    assert Path(got["data_root"]) == wheel_env["cwd"] / "var" / "data"  # relative to where it runs
    assert got["pages"].startswith("clean/text_pages/") and got["rows"] == len(docs)
    assert (Path(wheel_env["cwd"]) / "var" / "data" / got["pages"]).is_dir()
    assert Path(got["model_path"]).is_relative_to(pkg) and got["lexicon"] > 0
    assert got["bare"] == [], f"importable under a bare name from the wheel: {got['bare']}"


def test_no_code_imports_a_layer_by_its_folder_name():
    """In a checkout the folders are importable under their bare names too (the repository root is on the
    path); code that did so would load a second copy of a module, and break in the wheel."""
    import ast

    skip = {".git", ".venv", "var", "build", "dist", "__pycache__"}  # links (sciforge/<layer>) are not followed
    bare = set(LAYER_LINKS)
    found = []
    stack = [REPO_ROOT]
    while stack:
        d = stack.pop()
        for p in d.iterdir():
            if p.is_dir() and not p.is_symlink() and p.name not in skip and not p.name.endswith(".egg-info"):
                stack.append(p)
            elif p.suffix == ".py":
                for node in ast.walk(ast.parse(p.read_bytes(), str(p))):
                    names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                             [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
                    found += [f"{p.relative_to(REPO_ROOT)}:{node.lineno} {n}" for n in names
                              if n.split(".")[0] in bare]
    assert not found, "import sciforge.<layer> instead:\n" + "\n".join(sorted(found))
