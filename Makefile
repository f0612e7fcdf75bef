# b24vote — developer entry points. Every target installs what it needs into .venv, from the lock files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM := /usr/bin/chromium
CURL := /usr/bin/curl
# The locks: every package of the runtime (and of runtime + dev) at one version, with the hashes of its files.
LOCK := requirements/runtime.txt
DEV_LOCK := requirements/dev.txt
UV_VERSION := 0.13.9
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: run test smoke bench lint install install-dev lock lock-upgrade clean browsers

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The locked dependencies (hash-checked: nothing else can slip in), then the package itself without any.
$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) --require-hashes -r $(LOCK)
	$(PIP_INSTALL) --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(DEV_LOCK) pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) --require-hashes -r $(DEV_LOCK)
	$(PIP_INSTALL) --no-deps -e .
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# The printed webhook URL and curl line point at the address served (unless B24VOTE_PUBLIC_URL says otherwise).
run: install
	B24VOTE_PUBLIC_URL=$${B24VOTE_PUBLIC_URL:-http://$(HOST):$(PORT)} $(BIN)/b24vote init --demo
	B24VOTE_PUBLIC_URL=$${B24VOTE_PUBLIC_URL:-http://$(HOST):$(PORT)} $(BIN)/b24vote serve --host $(HOST) --port $(PORT)

# The browser tests drive Debian's Chromium (Playwright's own browser download cannot work here).
$(CHROMIUM):
	$$( [ "$$(id -u)" = 0 ] || echo sudo ) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'

browsers: $(CHROMIUM)

# make smoke sends the README's curl lines as a user would.
$(CURL):
	$$( [ "$$(id -u)" = 0 ] || echo sudo ) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl'

# tests/clients drives the official JavaScript SDK with the machine's Node.js.
JS_CLIENT := tests/clients/js
$(JS_CLIENT)/node_modules: $(JS_CLIENT)/package.json
	cd $(JS_CLIENT) && npm install --no-audit --no-fund
	touch $@

# The README's first command on a new user's terms: the built wheel in a fresh venv with the runtime lock only,
# the README's curl lines against it, and `make run` itself in a fresh copy of the tree (tools/smoke.py).
smoke: install-dev $(CURL)
	$(BIN)/python tools/smoke.py --python $(PYTHON)

# smoke first: a first command that fails on a fresh machine stops CI before anything else.
test: install-dev $(CHROMIUM) $(JS_CLIENT)/node_modules smoke
	$(BIN)/ruff check src tests tools $(wildcard bench)
	$(BIN)/mypy src tools
	$(BIN)/pytest

# Re-resolve the locks from pyproject.toml: `lock` keeps every pin that still fits, `lock-upgrade` takes the
# newest releases. One universal resolution for Python >= 3.11 on every platform; the runtime lock is the dev
# lock's subset, so both install the same versions.
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet --custom-compile-command 'make lock'
lock lock-upgrade: | $(BIN)/python
	$(PIP_INSTALL) 'uv==$(UV_VERSION)'
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) $(if $(filter lock-upgrade,$@),--upgrade) -o $(DEV_LOCK)
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) --constraint $(DEV_LOCK) -o $(LOCK)

# The load generator of the benchmarks (a C program, so that it never is the bottleneck).
WRK := /usr/bin/wrk
$(WRK):
	$$( [ "$$(id -u)" = 0 ] || echo sudo ) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk'

# Stoplight Prism, the mock server `get` is compared with, at the version its lock file pins.
PRISM_DIR := bench/prism
$(PRISM_DIR)/node_modules: $(PRISM_DIR)/package.json $(PRISM_DIR)/package-lock.json
	cd $(PRISM_DIR) && npm ci --no-audit --no-fund
	touch $@

bench: install-dev $(WRK) $(PRISM_DIR)/node_modules
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: install-dev
	$(BIN)/ruff check src tests tools $(wildcard bench)
	$(BIN)/ruff format --check src tests tools $(wildcard bench)
	$(BIN)/mypy src tools

clean:
	rm -rf $(VENV) build dist *.egg-info
