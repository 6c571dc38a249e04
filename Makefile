# feedback360: developer and CI entry points (`make help`).
#
#   make demo                 install what the app needs, build assets, migrate, seed demo data,
#                             serve on 127.0.0.1:5000 (PORT=5101 HOST=0.0.0.0 to change)
#   make test                 ruff; the whole suite on SQLite (with browser tests); the suite again
#                             on a throwaway PostgreSQL cluster (without browser tests)
#   make e2e                  only the real-browser tests
#   make bench BENCH=submit   run bench/submit.py (PG=1: against a throwaway PostgreSQL cluster)
#   make lock                 refresh requirements/*.lock from pyproject.toml (UPGRADE=1: newest)
#
# Extra pytest arguments: make test PYTEST_ARGS="-x -k login"

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.installed
APP_STAMP := $(VENV)/.installed-app
# Python dependencies, pinned with their hashes (`make lock` makes both from pyproject.toml): what
# the app needs to run, and that with the test tools (the same versions). Installed with
# --require-hashes, then the project itself without dependencies and without build isolation
# (its build backend, setuptools, is in the locks too), so nothing unpinned is ever fetched.
APP_LOCK := requirements/app.lock
TEST_LOCK := requirements/test.lock
PIP := $(BIN)/python -m pip --disable-pip-version-check
LOCK_VENV := build/lock-venv
PIP_TOOLS ?= pip-tools==7.6.2
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --build-deps-for=editable \
  --no-emit-index-url --no-emit-find-links --no-emit-trusted-host
UPGRADE ?=
NPM_STAMP := node_modules/.package-lock.json
CHROMIUM ?= /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 5000
# Where the demo's printed and emailed links point: the address it serves, with a wildcard host
# (0.0.0.0, ::) replaced by this machine's loopback and an IPv6 address in brackets.
DEMO_HOST = $(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(if $(filter ::,$(HOST)),[::1],$(if $(findstring :,$(HOST)),[$(HOST)],$(HOST))))
DEMO_URL ?= http://$(DEMO_HOST):$(PORT)
PYTEST_ARGS ?=
# pytest-xdist workers: one per core by default (tests get their own SQLite file or PostgreSQL
# database per worker; see tests/conftest.py).
PYTEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
BENCH ?=
BENCH_ARGS ?=
PG ?=

.PHONY: help venv venv-app lock assets runtime-deps system-deps db-upgrade demo test e2e bench clean distclean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))
	echo
	echo "Other targets: venv venv-app lock assets system-deps db-upgrade clean distclean"

# --- installation ----------------------------------------------------------------------------

venv: $(VENV_STAMP)

$(VENV_STAMP): $(TEST_LOCK) pyproject.toml
	if [ ! -x $(BIN)/python ]; then $(PYTHON) -m venv $(VENV); fi
	$(PIP) install --require-hashes -r $(TEST_LOCK)
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

# Only what the app needs to run (no test tools).
venv-app: $(APP_STAMP)

$(APP_STAMP): $(APP_LOCK) pyproject.toml
	if [ -f $(VENV_STAMP) ] && [ $(VENV_STAMP) -nt $(APP_LOCK) ] \
	    && [ $(VENV_STAMP) -nt pyproject.toml ]; then
	  touch $@  # the test install (make venv) holds the app already
	  exit 0
	fi
	if [ ! -x $(BIN)/python ]; then $(PYTHON) -m venv $(VENV); fi
	$(PIP) install --require-hashes -r $(APP_LOCK)
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

# pip-compile (in a venv of its own, so the tool never lands in the app's) resolves the test lock
# first; the app lock starts from a copy of it, so both pin the same versions. Without UPGRADE,
# pins that still satisfy pyproject.toml are kept.
lock:
	if [ ! -x $(LOCK_VENV)/bin/pip-compile ]; then
	  $(PYTHON) -m venv $(LOCK_VENV)
	  $(LOCK_VENV)/bin/python -m pip install --disable-pip-version-check --quiet $(PIP_TOOLS)
	fi
	mkdir -p $(dir $(TEST_LOCK))
	$(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) --extra test \
	  --output-file $(TEST_LOCK) pyproject.toml
	cp $(TEST_LOCK) $(APP_LOCK)
	$(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) --output-file $(APP_LOCK) pyproject.toml

assets: venv-app
	if [ -f package-lock.json ]; then
	  if [ ! -f $(NPM_STAMP) ] || [ package-lock.json -nt $(NPM_STAMP) ] \
	      || [ package.json -nt $(NPM_STAMP) ]; then
	    npm ci --no-audit --no-fund
	    touch $(NPM_STAMP)
	  fi
	fi
	$(BIN)/python scripts/build_assets.py
	$(BIN)/python scripts/build_plotly.py

# Debian packages the tests need: Chromium for the browser tests, a PostgreSQL server for the
# second run, npm for the assets. Installed only when missing, and only as root on Debian.
# WeasyPrint (PDF letters, evidence packs, board reports) loads Pango through cffi: the app
# itself needs it, so `make demo` installs it too.
PANGO_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation
PANGO_PRESENT := ldconfig -p | grep -q 'libpangoft2-1.0.so.0'

runtime-deps:
	@if $(PANGO_PRESENT); then exit 0; fi
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	  echo "runtime-deps: Pango is missing and this is not root on Debian; install" \
	       "$(PANGO_PACKAGES) yourself, or PDF downloads will fail." >&2
	  exit 0
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends $(PANGO_PACKAGES)

system-deps:
	@missing=()
	[ -x "$(CHROMIUM)" ] || missing+=(chromium fonts-liberation)
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null \
	  || missing+=(postgresql)
	command -v npm >/dev/null || missing+=(nodejs npm)
	command -v redis-server >/dev/null || missing+=(redis-server)
	$(PANGO_PRESENT) || missing+=($(PANGO_PACKAGES))
	if [ ! -x $(BIN)/python ] && ! $(PYTHON) -c 'import ensurepip' 2>/dev/null; then
	  missing+=(python3-venv)
	fi
	if [ $${#missing[@]} -eq 0 ]; then
	  echo "system-deps: chromium, PostgreSQL server, redis-server, npm and Pango are installed"
	  exit 0
	fi
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	  echo "system-deps: missing $${missing[*]}; not root on Debian, so not installing them." \
	       "Install them yourself (browser tests need $(CHROMIUM), the PostgreSQL run needs" \
	       "initdb/pg_ctl, the shared-throttle test redis-server)." >&2
	  exit 0
	fi
	echo "system-deps: installing $${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends "$${missing[@]}"

# --- running ---------------------------------------------------------------------------------

db-upgrade: export FEEDBACK360_ENV ?= development
db-upgrade: venv-app
	$(BIN)/flask --app wsgi db upgrade

demo: export FEEDBACK360_ENV = development
demo: runtime-deps venv-app assets db-upgrade
	export SERVER_BASE_URL='$(DEMO_URL)'
	$(BIN)/flask --app wsgi seed-demo
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

# --- checking --------------------------------------------------------------------------------

test:
	@summary=()
	phase() {
	  local name=$$1 start=$$EPOCHREALTIME status=0
	  shift
	  echo "==> $$name: $$(printf '%q ' "$$@")"
	  "$$@" || status=$$?
	  local took
	  took=$$(awk -v a="$$start" -v b="$$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	  summary+=("$$(printf '%-30s %7ss  %s' "$$name" "$$took" \
	    "$$([ $$status -eq 0 ] && echo ok || echo "FAILED (exit $$status)")")")
	  echo "<== $$name: $${took}s"
	  return $$status
	}
	report() {
	  echo
	  echo "make test: time per phase"
	  printf '  %s\n' "$${summary[@]}"
	}
	trap report EXIT
	phase system-deps $(MAKE) --no-print-directory system-deps
	phase venv $(MAKE) --no-print-directory venv
	phase assets $(MAKE) --no-print-directory assets
	phase ruff $(BIN)/ruff check .
	phase "pytest on SQLite (all)" env -u DATABASE_URL $(BIN)/pytest -n $(PYTEST_WORKERS) \
	  $(PYTEST_ARGS)
	phase "pytest on PostgreSQL (not e2e)" \
	  $(BIN)/python scripts/pg_cluster.py -- $(BIN)/pytest -n $(PYTEST_WORKERS) \
	  -m "not e2e and not database_independent" \
	  $(PYTEST_ARGS)

e2e: system-deps venv assets
	$(BIN)/pytest -m e2e tests/e2e $(PYTEST_ARGS)

bench: venv
	@if [ -n "$(BENCH)" ]; then
	  script="bench/$(BENCH).py"
	  if [ ! -f "$$script" ]; then
	    echo "bench: no $$script. Available:" $$(ls bench/*.py 2>/dev/null \
	      | sed -n 's|^bench/\([^_][^/]*\)\.py$$|\1|p') >&2
	    exit 2
	  fi
	  if [ -n "$(PG)" ]; then
	    $(BIN)/python scripts/pg_cluster.py -- $(BIN)/python "$$script" $(BENCH_ARGS)
	  else
	    $(BIN)/python "$$script" $(BENCH_ARGS)
	  fi
	elif [ -f bench/__main__.py ]; then
	  $(BIN)/python -m bench $(BENCH_ARGS)
	else
	  echo "Benchmarks (run one with: make bench BENCH=<name>, add PG=1 for PostgreSQL):"
	  found=0
	  for script in bench/*.py; do
	    [ -f "$$script" ] || continue
	    name=$$(basename "$$script" .py)
	    case $$name in _*) continue ;; esac
	    echo "  $$name"
	    found=1
	  done
	  [ $$found -eq 1 ] || echo "  (none yet)"
	fi

# --- tidying ---------------------------------------------------------------------------------

clean:
	rm -rf test-artifacts .pytest_cache .ruff_cache .hypothesis build feedback360.egg-info \
	  feedback360/static/vendor
	find . \( -path ./$(VENV) -o -path ./node_modules -o -path ./.git \) -prune \
	  -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) node_modules
