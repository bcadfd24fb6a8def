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
	install -D -m 644 share/jupyter/lab/settings/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $@

# Offline HTML build: book/fetch_assets.sh installs the pinned npm packages (npm ci) and
# copies MathJax, require.js and the widgets manager into book/_assets/vendor/ (gitignored);
# then every chapter of _toc.yml is executed (jupyter-cache) and built, warnings as errors.
book: env
	book/fetch_assets.sh
	$(VENV)/bin/jupyter-book build book --path-output book -W -n --keep-going
	@echo "The book is in $(CURDIR)/book/_build/html (open index.html)"

test: env
	$(PY) -m pytest -q
