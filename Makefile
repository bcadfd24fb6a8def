# Three commands on a fresh machine (README.md, "Two commands" and below):
#   make book   builds the book from the stored runs (creates .venv first)
#   make test   runs every test (creates .venv, installs the Debian packages the tests need)
#   make lab    opens the chapters in JupyterLab (creates .venv first)
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
LAB_SETTINGS := share/jupyter/lab/settings/overrides.json
# Extra arguments for `jupyter lab`, e.g. make lab LAB_ARGS="--no-browser --port 8899"
LAB_ARGS ?=
# Extra arguments for pytest, e.g. make test PYTEST_ARGS=tests/test_site.py
PYTEST_ARGS ?=

.PHONY: env book test lab system-deps
env: $(VENV)/.installed $(VENV)/$(LAB_SETTINGS)

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# JupyterLab reads settings overrides from the environment's share/jupyter/lab/settings/: with
# this file the chapters (.md) open in the Jupytext notebook viewer.
$(VENV)/$(LAB_SETTINGS): $(LAB_SETTINGS) $(VENV)/.installed
	install -D -m 644 $< $@

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

# JupyterLab on the repository (the server's root, so that jupytext.toml applies), the book's
# introduction open; the environment's settings open every chapter as a notebook.
lab: env
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS) book/intro.md
