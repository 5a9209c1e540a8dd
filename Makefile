# pose-search: `make venv`, `make test`, `make demo`.
# TORCH_SPEC picks the torch build. The default is the CPU wheel; for CUDA, e.g.
#   make venv TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128" EXTRA=gpu
PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
EXTRA      ?= cpu
export ANNY_CACHE_DIR ?= $(CURDIR)/.cache/anny
export WARP_CACHE_PATH ?= $(CURDIR)/.cache/warp
export POSE_SEARCH_CACHE ?= $(CURDIR)/.cache/pose_search
export NLTK_DATA ?= $(CURDIR)/.cache/nltk_data
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(EXTRA)
APT_PACKAGES := wordnet-base wordnet-sense-index
# nltk_data folder (first NLTK_DATA entry) that gets corpora/wordnet, for METEOR
NLTK_DATA_DIR := $(firstword $(subst :, ,$(NLTK_DATA)))

.PHONY: venv test demo lint body-cache wordnet clean-venv

venv: $(STAMP) $(ANNY_CACHE_DIR)/.built $(NLTK_DATA_DIR)/.wordnet-built

$(STAMP): pyproject.toml
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq $$missing; fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -e ".[$(EXTRA),dev]"
	rm -f $(VENV)/.installed-*
	touch $@

# anny builds a ~790 MB cache the first time (about 2 minutes); done once, kept under .cache/.
$(ANNY_CACHE_DIR)/.built: $(STAMP)
	$(BIN)/pose-search body build-cache
	touch $@

body-cache: $(ANNY_CACHE_DIR)/.built

# WordNet for METEOR (no PyPI package ships it): $(NLTK_DATA_DIR)/corpora/wordnet, copied from the
# Debian packages in APT_PACKAGES (/usr/share/wordnet) plus a generated lexnames file.
$(NLTK_DATA_DIR)/.wordnet-built: $(STAMP)
	$(BIN)/python -m pose_search.metrics.text --build-wordnet $(NLTK_DATA_DIR)
	touch $@

wordnet: $(NLTK_DATA_DIR)/.wordnet-built

test: venv
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check pose_search training indexing ui cluster tests benchmarks

demo: venv
	$(BIN)/pose-search demo

clean-venv:
	rm -rf $(VENV)
