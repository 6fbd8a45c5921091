# Two commands do everything on a fresh machine (Python 3.11+, Node.js 20+):
#   make run    start the service locally (emulator, Azurite, functions on :7071)
#   make test   install what is needed and run the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP_PY   := $(VENV)/.installed
STAMP_NODE := node_modules/.installed

.PHONY: run test lint bench install clean check-node

install: $(STAMP_PY) $(STAMP_NODE)

$(STAMP_PY): requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
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

test: install lint
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules .local .pytest_cache .mypy_cache .ruff_cache
