# Two commands do everything on a fresh machine (Python 3.11+, Node.js 20+):
#   make run    start the service locally (emulator, Azurite, functions on :7071)
#   make test   install what is needed and run the whole test suite
#   make fuzz   the long fuzz tier: 5,000 random requests per endpoint and queue messages
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP_PY   := $(VENV)/.installed
STAMP_NODE := node_modules/.installed

.PHONY: run test fuzz lint bench install clean

install: $(STAMP_PY) $(STAMP_NODE)

$(STAMP_PY): requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(STAMP_NODE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: install
	$(PY) -m devhost.stack $(ARGS)

lint: $(STAMP_PY)
	$(PY) -m ruff check .
	$(PY) -m mypy

test: install lint
	$(PY) -m pytest $(PYTEST_ARGS)

# `make test` includes the fuzz tier's fixed-seed 500 per endpoint; this explores afresh.
fuzz: install
	FUZZ_PROFILE=fuzz $(PY) -m pytest -m fuzz --timeout=3600 $(PYTEST_ARGS)

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules .local .pytest_cache .mypy_cache .ruff_cache
