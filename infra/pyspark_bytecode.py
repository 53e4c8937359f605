"""Bytecode for the Python archives Spark puts first on every PySpark process's path.

Spark starts each PySpark driver (under spark-submit) and each executor's Python daemon with
``$SPARK_HOME/python/lib/pyspark.zip`` and the py4j zip at the head of ``PYTHONPATH``, so those
processes import pyspark from the zip, not from site-packages. The zips ship sources only, and Python
does not cache bytecode for modules it imports from a zip: every such process compiles what it
imports, about 0.5 CPU-seconds for ``import pyspark.daemon, pyspark.worker`` against 0.1 s with
bytecode. That is paid by the driver of every submitted job and by every executor before its first
task, on the critical path of each job's fixed cost.

This adds one ``<module>.pyc`` beside each ``<module>.py`` in those zips (Python's zip importer looks
for it there), compiled by the interpreter that runs this, as an unchecked hash-based pyc: the zip's
sources are unchanged, and an interpreter of another version ignores the pyc (its magic number
differs) and compiles the source as before. Test modules are left out. Idempotent; run by
``infra/setup.sh`` and the image build after pyspark is installed, and by hand after reinstalling it:

    python -m sciforge.infra.pyspark_bytecode [--spark-home DIR] [--check]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import warnings
import zipfile
from importlib._bootstrap_external import _code_to_hash_pyc  # type: ignore[attr-defined]
from pathlib import Path

SKIP_DIRS = frozenset({"tests"})  # test packages: never imported by a job


def spark_home() -> Path:
    env = os.environ.get("SPARK_HOME")
    if env:
        return Path(env)
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def archives(home: Path) -> list[Path]:
    """The zips Spark prepends to PySpark's path (``PythonUtils.sparkPythonPath``)."""
    return sorted((home / "python" / "lib").glob("*.zip"))


def _sources(z: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [i for i in z.infolist() if i.filename.endswith(".py")
            and not SKIP_DIRS.intersection(i.filename.split("/")[:-1])]


def has_bytecode(path: Path) -> bool:
    """Whether every source module of ``path`` has a pyc for this interpreter."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        srcs = _sources(z)
        if not srcs:
            return True
        if any(s.filename + "c" not in names for s in srcs):
            return False
        return z.read(srcs[0].filename + "c")[:4] == importlib.util.MAGIC_NUMBER


def add_bytecode(path: Path) -> str:
    """Rewrite ``path`` with a pyc beside each source module; what was done, in words."""
    if has_bytecode(path):
        return f"{path}: bytecode up to date"
    if not os.access(path.parent, os.W_OK):
        return f"{path}: folder not writable, left as is (imports from it compile their sources)"
    fd, tmp = tempfile.mkstemp(prefix=".bytecode-", suffix=".zip", dir=path.parent)
    os.close(fd)
    n = 0
    try:
        with zipfile.ZipFile(path) as zi, zipfile.ZipFile(tmp, "w") as zo:
            srcs = {i.filename for i in _sources(zi)}
            for info in zi.infolist():
                if info.filename.endswith(".pyc"):
                    continue  # stale bytecode of another interpreter: replaced below
                data = zi.read(info)
                zo.writestr(info, data)
                if info.filename not in srcs:
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # pyspark's own SyntaxWarnings, shown when it is imported
                    try:
                        code = compile(data, info.filename, "exec", dont_inherit=True)
                    except SyntaxError:
                        continue  # not valid for this interpreter: it keeps compiling from source
                pyc = zipfile.ZipInfo(info.filename + "c", date_time=info.date_time)
                pyc.compress_type = zipfile.ZIP_DEFLATED
                pyc.external_attr = info.external_attr
                zo.writestr(pyc, bytes(_code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False)))
                n += 1
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)  # processes that have the old zip open keep reading it
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return f"{path}: {n} modules compiled"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spark-home", type=Path, default=None, help="default: $SPARK_HOME, else the installed pyspark")
    p.add_argument("--check", action="store_true", help="only report; exit 1 if a zip lacks bytecode")
    a = p.parse_args(argv)
    zips = archives(a.spark_home or spark_home())
    if not zips:
        print("no python/lib/*.zip under the Spark home: nothing to do")
        return 0
    missing = 0
    for z in zips:
        if a.check:
            ok = has_bytecode(z)
            missing += not ok
            print(f"{z}: {'bytecode up to date' if ok else 'no bytecode for this interpreter'}")
        else:
            print(add_bytecode(z))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
