# Two commands do everything on a fresh machine (Python 3.11+, Node.js 20+):
#   make run    start the service locally (emulator, Azurite, functions on :7071)
#   make test   install what is needed and run the whole test suite
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

.PHONY: run test lint bench install clean

install: $(STAMP_PY) $(STAMP_NODE)

$(STAMP_PY): requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	test "$$($(PY) -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)" = "$(PYVERSION)" \
	  || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
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

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) .venv-* node_modules .local .pytest_cache .mypy_cache .ruff_cache
