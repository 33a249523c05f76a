# Two commands for a new user: `make run` (chat page) and `make test` (every test).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: run test lint bench eval index loadtest browser clean

run: $(STAMP)
	$(BIN)/assistant index
	$(BIN)/python ui.py

test: $(STAMP) browser
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check assistant ui.py tests
	$(BIN)/mypy assistant

bench: $(STAMP)
	$(BIN)/assistant bench

eval: $(STAMP)
	$(BIN)/assistant eval

index: $(STAMP)
	$(BIN)/assistant index --rebuild

# 20 users x 10 questions at once through the page's HTTP API, then a 3-minute soak (README "Load").
loadtest: $(STAMP)
	$(BIN)/assistant index
	$(BIN)/python scripts/loadtest.py

# torch first, from the CPU build on disk: otherwise pip resolves a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium (nothing else can fetch a browser here) and inject
# axe-core (npm) into the page; it goes under .venv/, which git ignores.
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }
	@test -x $(CHROMIUM) || { echo "Chromium is missing: apt-get install chromium"; exit 1; }
	@test -f $(AXE) || npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@4.14.1
	@test -f $(AXE) || { echo "axe-core is missing: npm install --prefix $(VENV)/axe axe-core"; exit 1; }

clean:
	rm -rf $(VENV) index/store-* index/manifest.json
