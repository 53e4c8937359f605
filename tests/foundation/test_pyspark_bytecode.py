"""Bytecode in the zips Spark prepends to PySpark's path (infra/pyspark_bytecode.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from sciforge.infra.pyspark_bytecode import add_bytecode, archives, has_bytecode, main, spark_home


def _zip(path, files: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text)


def _import(zip_path, module: str) -> str:
    """``module.__file__`` as a fresh interpreter with ``zip_path`` first on its path imports it."""
    env = {**os.environ, "PYTHONPATH": str(zip_path), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", f"import {module} as m; print(m.__file__, m.VALUE)"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_modules_import_from_the_added_bytecode_and_the_sources_stay(tmp_path):
    z = tmp_path / "lib.zip"
    _zip(z, {"pkg/__init__.py": "VALUE = 1\n", "pkg/mod.py": "VALUE = 'mod'\n",
             "pkg/tests/__init__.py": "VALUE = 't'\n", "pkg/data.txt": "not code"})
    before = {i.filename: zipfile.ZipFile(z).read(i) for i in zipfile.ZipFile(z).infolist()}
    assert _import(z, "pkg.mod").split()[0].endswith("pkg/mod.py")
    assert not has_bytecode(z)

    assert "2 modules compiled" in add_bytecode(z)
    assert has_bytecode(z)
    with zipfile.ZipFile(z) as zz:
        names = set(zz.namelist())
        assert {n: zz.read(n) for n in before} == before  # every original entry, byte for byte
    assert names == set(before) | {"pkg/__init__.pyc", "pkg/mod.pyc"}  # tests left out
    assert _import(z, "pkg.mod") == f"{z}/pkg/mod.pyc mod"
    assert _import(z, "pkg.tests").endswith("pkg/tests/__init__.py t")

    mtime = z.stat().st_mtime_ns
    assert "up to date" in add_bytecode(z)  # idempotent: the file is not rewritten
    assert z.stat().st_mtime_ns == mtime


def test_bytecode_of_another_interpreter_is_replaced_and_never_trusted(tmp_path):
    z = tmp_path / "lib.zip"
    _zip(z, {"pkg/__init__.py": "VALUE = 2\n", "pkg/__init__.pyc": "garbage of another Python version"})
    assert not has_bytecode(z)
    assert _import(z, "pkg").endswith("pkg/__init__.py 2")  # a bad pyc is ignored: the source is compiled
    add_bytecode(z)
    assert has_bytecode(z)
    assert _import(z, "pkg") == f"{z}/pkg/__init__.pyc 2"


def test_a_source_this_interpreter_cannot_compile_is_left_to_its_source(tmp_path):
    z = tmp_path / "lib.zip"
    _zip(z, {"pkg/__init__.py": "VALUE = 3\n", "pkg/py2.py": "print 'old'\n"})
    assert "1 modules compiled" in add_bytecode(z)


def test_the_installed_pyspark_zips_carry_bytecode_for_this_interpreter(capsys):
    """`make setup` (infra/setup.sh) compiles them: every submitted driver and executor imports pyspark from
    them."""
    zips = archives(spark_home())
    assert {p.name.split("-")[0] for p in zips} >= {"pyspark.zip", "py4j"}
    assert main(["--check"]) == 0, capsys.readouterr().out
