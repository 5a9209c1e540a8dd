# pose-search: `make venv`, `make test`, `make demo`.
# TORCH_SPEC picks the torch build. The default is the CPU wheel; for CUDA, e.g.
#   make venv TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128" EXTRA=gpu
PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
EXTRA      ?= cpu
# pytest-xdist workers of `make test` (tests that start Ray run one at a time on one of them:
# tests/conftest.py); TEST_WORKERS=0 runs in one process
TEST_WORKERS ?= 2
export ANNY_CACHE_DIR ?= $(CURDIR)/.cache/anny
export WARP_CACHE_PATH ?= $(CURDIR)/.cache/warp
export POSE_SEARCH_CACHE ?= $(CURDIR)/.cache/pose_search
export NLTK_DATA ?= $(CURDIR)/.cache/nltk_data
BIN := $(VENV)/bin
# the Debian packages of $(1) that are missing, installed
apt_install = missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq $$missing; fi
STAMP := $(VENV)/.installed-$(EXTRA)
# wordnet: METEOR. chromium: only the UI's browser test needs it (playwright drives it; `playwright
# install` needs the network), so only `make test` installs it
APT_PACKAGES := wordnet-base wordnet-sense-index
TEST_APT_PACKAGES := chromium
# nltk_data folder (first NLTK_DATA entry) that gets corpora/wordnet, for METEOR
NLTK_DATA_DIR := $(firstword $(subst :, ,$(NLTK_DATA)))

# BlazePose (MediaPipe) image encoder: its own venv, since mediapipe==0.10.21 (the last release
# shipping the pose models in its wheel) needs numpy<2 and protobuf<5. mediapipe is installed
# without its declared extras (jax, jaxlib, sentencepiece, sounddevice, GUI opencv), which the
# pose solution never imports: ~425 MB and ~30 s instead of ~1 GB and ~100 s, and no libGL.
BLAZEPOSE_VENV   ?= .venv-blazepose
BLAZEPOSE_PYTHON ?= $(PYTHON)
BLAZEPOSE_PINS   := numpy==1.26.4 protobuf==4.25.9 absl-py==2.5.1 attrs==26.1.0 \
                    flatbuffers==25.12.19 matplotlib==3.11.2 opencv-contrib-python-headless==4.11.0.86
BLAZEPOSE_MEDIAPIPE := mediapipe==0.10.21
BLAZEPOSE_STAMP  := $(BLAZEPOSE_VENV)/.installed
# The heavy landmark model (model_complexity=2) is not in the wheel (mediapipe would download it at
# run time, which we never do); the npm package @mediapipe/pose ships it (its pose_landmark_full.tflite
# is byte-identical to the wheel's). `make blazepose-heavy` installs it into mediapipe's package dir
# (needs npm).
BLAZEPOSE_HEAVY_NPM    := @mediapipe/pose@0.5.1675469404
BLAZEPOSE_HEAVY_SHA256 := 59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe
export POSE_SEARCH_BLAZEPOSE_ENV ?= $(abspath $(BLAZEPOSE_VENV))

.PHONY: venv test demo lint body-cache wordnet clean-venv blazepose-env blazepose-heavy

venv: $(STAMP) $(ANNY_CACHE_DIR)/.built $(NLTK_DATA_DIR)/.wordnet-built

$(STAMP): pyproject.toml
	@$(call apt_install,$(APT_PACKAGES))
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

# Idempotent: does nothing when the stamp holds the same pins; the worker's self-test must pass.
blazepose-env:
	@if [ "$$(cat $(BLAZEPOSE_STAMP) 2>/dev/null)" = "$(BLAZEPOSE_PINS) $(BLAZEPOSE_MEDIAPIPE)" ]; then \
	  echo "$(BLAZEPOSE_VENV) is up to date"; \
	else \
	  set -e; rm -f $(BLAZEPOSE_STAMP); \
	  test -x $(BLAZEPOSE_VENV)/bin/python || $(BLAZEPOSE_PYTHON) -m venv $(BLAZEPOSE_VENV); \
	  $(BLAZEPOSE_VENV)/bin/python -m pip install -q $(BLAZEPOSE_PINS); \
	  $(BLAZEPOSE_VENV)/bin/python -m pip install -q --no-deps $(BLAZEPOSE_MEDIAPIPE); \
	  $(BLAZEPOSE_VENV)/bin/python -I pose_search/models/encoders/blazepose_worker.py --self-test; \
	  echo "$(BLAZEPOSE_PINS) $(BLAZEPOSE_MEDIAPIPE)" > $(BLAZEPOSE_STAMP); \
	fi

# Opt-in, not part of `make test` / `make demo`: the heavy landmark model measured worse than the
# full one on our 40 labelled photos (benchmarks/README.md, real_photos_landmarks_heavy.json).
blazepose-heavy: blazepose-env
	@dir=$$($(BLAZEPOSE_VENV)/bin/python -I -c "import importlib.util as u; \
	  print(u.find_spec('mediapipe').submodule_search_locations[0])")/modules/pose_landmark; \
	heavy=$$dir/pose_landmark_heavy.tflite; \
	if [ -f $$heavy ] && echo "$(BLAZEPOSE_HEAVY_SHA256)  $$heavy" | sha256sum -c --status; then \
	  echo "BlazePose heavy model is installed"; \
	elif ! command -v npm >/dev/null 2>&1; then \
	  echo "note: no npm, so no BlazePose heavy model (model_complexity=2); the full model (1) works"; \
	else \
	  tmp=$$(mktemp -d); \
	  if ! (cd $$tmp && npm pack -q $(BLAZEPOSE_HEAVY_NPM) >/dev/null 2>&1); then \
	    rm -rf $$tmp; echo "note: npm pack $(BLAZEPOSE_HEAVY_NPM) failed: no BlazePose heavy model; the full model works"; \
	  else \
	    set -e; tar -xzf $$tmp/*.tgz -C $$tmp package/pose_landmark_heavy.tflite; \
	    if ! echo "$(BLAZEPOSE_HEAVY_SHA256)  $$tmp/package/pose_landmark_heavy.tflite" | sha256sum -c --status; then \
	      rm -rf $$tmp; echo "error: pose_landmark_heavy.tflite of $(BLAZEPOSE_HEAVY_NPM) has the wrong sha256" >&2; exit 1; \
	    fi; \
	    install -m 644 $$tmp/package/pose_landmark_heavy.tflite $$heavy.part && mv $$heavy.part $$heavy; rm -rf $$tmp; \
	    $(BLAZEPOSE_VENV)/bin/python -I pose_search/models/encoders/blazepose_worker.py --self-test --model-complexity 2; \
	    echo "installed the BlazePose heavy model from $(BLAZEPOSE_HEAVY_NPM)"; \
	  fi; \
	fi

test: venv blazepose-env
	@$(call apt_install,$(TEST_APT_PACKAGES))
	$(BIN)/python -m pytest tests -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check pose_search training indexing ui cluster pose_search_app tests benchmarks

# DEMO_ARGS: e.g. "--size medium" or "--build-only"
demo: venv
	@$(MAKE) --no-print-directory blazepose-env || echo "(no BlazePose environment: the demo uses the CNN image encoder)"
	$(BIN)/pose-search demo $(DEMO_ARGS)

clean-venv:
	rm -rf $(VENV) $(BLAZEPOSE_VENV)
