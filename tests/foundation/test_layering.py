"""Layering (ARCHITECTURE.md): pipelines imports no Spark and no Airflow; model imports no Airflow."""

import subprocess
import sys
import textwrap

import pytest


@pytest.mark.parametrize("package,forbidden", [("pipelines", ("pyspark", "airflow")), ("model", ("airflow",)),
                                               ("kernels", ("airflow", "pyspark"))])
def test_package_does_not_import(package, forbidden):
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
