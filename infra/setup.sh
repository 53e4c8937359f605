#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: system packages, then .venv with every pinned dependency.
# torch==2.13.0 (CPU) is installed FIRST so that nothing later pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)     # Spark
command -v tesseract >/dev/null 2>&1 || need_apt+=(tesseract-ocr tesseract-ocr-eng)  # OCR route of the PDF stage
command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need_apt+=(postgresql)  # metadata-DB test (tests/orchestration)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing system packages: ${need_apt[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: WARNING: missing system packages (${need_apt[*]}); install them with your package manager" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
# Every layer's extra (pyproject.toml): the base install alone is the configuration, the CLI and the pure stages.
.venv/bin/python -m pip install -q -c constraints.txt -e '.[spark,airflow,train,gpu,pdf-ocr,dev]'
.venv/bin/python -m pip check
# Bytecode in the zips Spark puts first on PySpark's path: drivers and executors import pyspark from them.
.venv/bin/python -m sciforge.infra.pyspark_bytecode >/dev/null
echo "setup: OK ($(.venv/bin/python -c 'import torch, pyspark, airflow; print("torch", torch.__version__, "pyspark", pyspark.__version__, "airflow", airflow.__version__)'))"
