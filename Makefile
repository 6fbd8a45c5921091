# Two commands do everything on a fresh machine (Python 3.11+, Node.js 20+):
#   make run    start the service locally (emulator, Azurite, functions on :7071)
#   make test   install what is needed and run the whole test suite
#   make fuzz   the long fuzz tier: 5,000 random requests per endpoint and queue messages
# Python: 3.13 (what the app is deployed on, and what the real Python worker needs) when
# installed, as `python3.13` or under pyenv; otherwise python3 (3.11+). Override with
# `make test PYTHON=python3.12 VENV=.venv-312`.
PY313  := $(shell python3.13 -c '' >/dev/null 2>&1 && echo python3.13 || \
            ls -d "$$(pyenv root 2>/dev/null)"/versions/3.13.*/bin/python3.13 2>/dev/null | \
            sort -V | tail -n 1)
PYTHON ?= $(or $(PY313),python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The stamp names the interpreter's version: another interpreter means a new venv.
PYVERSION  := $(shell $(PYTHON) -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)
STAMP_PY   := $(VENV)/.installed-$(PYVERSION)
STAMP_NODE := node_modules/.installed
# checkov (Bicep static analysis) lives in its own environment: see requirements-checkov.txt.
CHECKOV_VENV  := .venv-checkov
STAMP_CHECKOV := $(CHECKOV_VENV)/.installed

.PHONY: run test test-unit fuzz lint bench install browser clean check-node

install: $(STAMP_PY) $(STAMP_NODE) $(STAMP_CHECKOV)

$(STAMP_PY): requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	test "$$($(PY) -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)" = "$(PYVERSION)" \
	  || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(STAMP_CHECKOV): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# Azurite needs Node.js 20+: checked on every install, run and test, before npm runs.
check-node:
	@v=$$(node --version 2>/dev/null) || { echo "Node.js 20+ is required: node is not on PATH" >&2; exit 1; }; \
	major=$${v#v}; major=$${major%%.*}; \
	[ "$$major" -ge 20 ] 2>/dev/null || { echo "Node.js 20+ is required (found $$v)" >&2; exit 1; }

$(STAMP_NODE): package.json package-lock.json | check-node
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# --stop-with-parent: make does not pass SIGINT on to its recipe, so the stack watches make.
run: install
	$(PY) -m devhost.stack --stop-with-parent $(ARGS)

lint: $(STAMP_PY)
	$(PY) -m ruff check .
	$(PY) -m mypy

# The web client's end-to-end test drives Debian's chromium through chromedriver. As root
# with apt-get they are installed when missing; elsewhere that test fails saying how.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	else echo "note: chromium and chromedriver are missing; install them (Debian: sudo apt-get install chromium chromium-driver) or the web client test fails"; fi

# The fuzz tier runs in a session of its own: its own emulator, Azurite and local host, none
# of them carrying what the other tests left behind.
test: install lint browser
	$(PY) -m pytest -m "not fuzz" $(PYTEST_ARGS)
	$(PY) -m pytest -m fuzz tests/fuzz $(PYTEST_ARGS)

test-unit: $(STAMP_PY)
	$(PY) -m pytest -m unit -q $(PYTEST_ARGS)

# `make test` includes the fuzz tier's fixed-seed 500 per endpoint; this explores afresh.
fuzz: install
	FUZZ_PROFILE=fuzz $(PY) -m pytest -m fuzz tests/fuzz --timeout=3600 $(PYTEST_ARGS)

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) .venv-* node_modules .local .pytest_cache .mypy_cache .ruff_cache
