# Two commands do everything on a fresh machine:
#   make book   builds the book from the stored runs (creates .venv first)
#   make test   runs every test
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: env book test
env: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

test: env
	$(PY) -m pytest -q
