# b24vote — developer entry points. Every target installs what it needs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM := /usr/bin/chromium

.PHONY: run test bench lint install install-dev clean browsers

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
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

# tests/clients drives the official JavaScript SDK with the machine's Node.js.
JS_CLIENT := tests/clients/js
$(JS_CLIENT)/node_modules: $(JS_CLIENT)/package.json
	cd $(JS_CLIENT) && npm install --no-audit --no-fund
	touch $@

test: install-dev $(CHROMIUM) $(JS_CLIENT)/node_modules
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/mypy src
	$(BIN)/pytest

# The load generator of the benchmarks (a C program, so that it never is the bottleneck).
WRK := /usr/bin/wrk
$(WRK):
	$$( [ "$$(id -u)" = 0 ] || echo sudo ) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk'

bench: install-dev $(WRK)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: install-dev
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) build *.egg-info
