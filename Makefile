# Two commands do everything on a fresh machine:
#   make book   builds the book from the stored runs (creates .venv first)
#   make test   runs every test (installs the Debian packages the tests need first)
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# Extra arguments for pytest, e.g. make test PYTEST_ARGS=tests/test_site.py
PYTEST_ARGS ?=

.PHONY: env book test system-deps
env: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	install -D -m 644 share/jupyter/lab/settings/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $@

# Offline HTML build: every chapter of _toc.yml is executed (jupyter-cache) and built, warnings
# as errors. The book's extension book/_ext/offline_assets.py installs the pinned npm packages
# (npm ci) and copies MathJax, require.js and the widgets manager into the site on the way;
# the plain `.venv/bin/jupyter-book build book` builds the same site into ./_build/html.
book: env
	$(VENV)/bin/jupyter-book build book --path-output book -W -n --keep-going
	@echo "The book is in $(CURDIR)/book/_build/html (open index.html)"

# system-deps first: a machine that lacks Chromium, g++ or ninja and may not install them stops
# here, with the command to run, before the environment is built.
test: system-deps env
	$(PY) -m pytest -q $(PYTEST_ARGS)

system-deps:
	@tools/system-deps.sh
