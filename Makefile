# sciforge: `make demo` and `make test` work as the first command on a fresh machine.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.sciforge-installed
export SPARK_LOCAL_IP ?= 127.0.0.1
export PYTHONHASHSEED ?= 0

.PHONY: setup demo test test-all ui lint bench services-up services-down services-status clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

setup: $(STAMP)  ## create .venv and install everything (system packages too, when root)

$(STAMP): pyproject.toml constraints.txt infra/setup.sh
	bash infra/setup.sh
	@touch $(STAMP)

demo: setup  ## generate the sample corpus and run corpus_refresh through Airflow, print the funnel
	$(VENV)/bin/sciforge demo

test: setup  ## the default suite (fast but real: Spark, Airflow, SeaweedFS S3, standalone cluster)
	@$(VENV)/bin/pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): the suite is broken" >&2; fi; \
	exit $$rc

test-all: setup  ## everything, slow tests included
	$(VENV)/bin/pytest -q -m ""

ui: setup  ## Airflow UI + scheduler for the project's DAGs on http://127.0.0.1:8080 (prints the login)
	$(VENV)/bin/sciforge ui

lint: setup  ## ruff everywhere, mypy on every layer (the package sciforge: pyproject's [tool.mypy])
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

BENCH_web       := web_extract web_classifier web_throughput
BENCH_pdf       := pdf_eval pdf_routing pdf_throughput
BENCH_dedup     := dedup_eval dedup_throughput
BENCH_tokenizer := tokenizer_compression tokenizer_detection tokenizer_throughput
BENCH_model     := model_throughput
BENCH_train     := train_engine
BENCH_fp8       := fp8_gemm
BENCH_rl        := rl_throughput
BENCH_lineage   := lineage_lookup plan_prediction
BENCH_AREAS     := web pdf dedup tokenizer model train fp8 rl lineage

bench-deps: setup
	$(PY) -m pip install -q -c constraints.txt -e '.[bench]'

bench: $(addprefix bench-,$(BENCH_AREAS))  ## run every benchmark (ours vs the named baseline, same run; reads the shared data folder)

bench-%: bench-deps  ## one area's benchmarks, e.g. `make bench-dedup` (see bench/README.md)
	@for b in $(BENCH_$*); do echo "== bench/$$b.py"; $(PY) bench/$$b.py || exit 1; done

services-up: setup  ## local Spark standalone (master + 2 workers) and SeaweedFS S3 on 127.0.0.1
	$(PY) -m sciforge.infra.services up

services-down:  ## stop what services-up started
	$(PY) -m sciforge.infra.services down

services-status:
	$(PY) -m sciforge.infra.services status

clean:  ## remove generated data (var/), keep the venv
	rm -rf var/
