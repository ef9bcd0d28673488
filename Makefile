# Homefire: `make up` runs it on this machine, `make test` runs the test suite.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
NODE_CLIENTS := tests/clients/node

# Django 6 needs Python 3.12 or newer: take the first one found.
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 python3 $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v $$p; break; }; done)

# llama-cpp-python compiles llama.cpp (minutes). Build it once per machine and set of
# flags, keep the wheel outside the checkout, and reuse it in every later install.
# GGML_NATIVE is off: -march=native also turns on AMX kernels, which crash in threads on
# some virtual machines. AVX2 everywhere, AVX-512 where the CPU has it.
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON \
	-DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	$(shell grep -qw avx512bw /proc/cpuinfo 2>/dev/null && echo -DGGML_AVX512=ON)
WHEEL_CACHE ?= $(HOME)/.cache/homefire/wheels/llama-$(LLAMA_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | sha1sum | cut -c1-10)

.PHONY: up test lint format install install-test browser clean

up: install
	$(BIN)/python manage.py up

test: install-test browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test $(NODE_CLIENTS)/node_modules/.installed

$(VENV)/bin/python:
	@test -n "$(PYTHON)" || { echo "Homefire needs Python 3.12 or newer (Django 6)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(WHEEL_CACHE)/.built: | $(VENV)/bin/python
	mkdir -p $(WHEEL_CACHE)
	@echo "Building llama-cpp-python $(LLAMA_VERSION) once for this machine (several minutes)…"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip wheel --no-deps --no-cache-dir \
		--wheel-dir $(WHEEL_CACHE) llama-cpp-python==$(LLAMA_VERSION)
	touch $@

$(VENV)/.installed: pyproject.toml $(WHEEL_CACHE)/.built | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --find-links $(WHEEL_CACHE) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --find-links $(WHEEL_CACHE) -e '.[test]'
	touch $@

# The openai Node SDK that tests/clients runs, from its lock file; npm's cache is kept
# outside the checkout, so a later install (CI's fresh clone) reads no network.
$(NODE_CLIENTS)/node_modules/.installed: $(NODE_CLIENTS)/package-lock.json
	@command -v npm >/dev/null || { echo "tests/clients needs Node.js and npm (apt-get install nodejs npm)." >&2; exit 1; }
	cd $(NODE_CLIENTS) && npm ci --cache $(HOME)/.cache/homefire/npm --prefer-offline --no-audit --no-fund --loglevel=error
	touch $@

# Browser tests drive Debian's Chromium (Playwright's own download is not reachable).
browser:
	@command -v chromium >/dev/null || test -x "$$HOMEFIRE_CHROMIUM" || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "Install Chromium (e.g. apt-get install chromium) for the browser tests." >&2; exit 1; fi; }

clean:
	rm -rf $(VENV) var/test-*

print-wheel-cache:
	@echo $(WHEEL_CACHE)

# llama.cpp's own tools, the references the engine bench measures against
# (`manage.py bench --engine --batched-bench …`): built from the llama.cpp that
# llama-cpp-python $(LLAMA_VERSION) vendors, with the same CPU flags as the wheel, once per
# machine and set of flags (never rebuilt when present). `make print-llama-tools` says where.
LLAMA_TOOLS ?= $(HOME)/.cache/homefire/llama-tools/llama-$(LLAMA_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | sha1sum | cut -c1-10)
LLAMA_TOOLS_JOBS ?= 2

.PHONY: llama-tools print-llama-tools
llama-tools: $(LLAMA_TOOLS)/.built

$(LLAMA_TOOLS)/.built:
	mkdir -p $(LLAMA_TOOLS)/src $(LLAMA_TOOLS)/bin
	@echo "Building llama-batched-bench and llama-server $(LLAMA_VERSION) once for this machine (minutes)…"
	test -f $(LLAMA_TOOLS)/src/llama_cpp_python-$(LLAMA_VERSION).tar.gz || python3 -m pip download \
		--quiet --no-deps --no-binary :all: -d $(LLAMA_TOOLS)/src llama-cpp-python==$(LLAMA_VERSION)
	tar -xzf $(LLAMA_TOOLS)/src/llama_cpp_python-$(LLAMA_VERSION).tar.gz -C $(LLAMA_TOOLS)/src
	cmake -S $(LLAMA_TOOLS)/src/llama_cpp_python-$(LLAMA_VERSION)/vendor/llama.cpp \
		-B $(LLAMA_TOOLS)/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
		-DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
		-DLLAMA_USE_PREBUILT_UI=OFF -DGGML_CCACHE=OFF $(LLAMA_CMAKE_ARGS)
	cmake --build $(LLAMA_TOOLS)/build -j$(LLAMA_TOOLS_JOBS) --target llama-batched-bench llama-server
	cp $(LLAMA_TOOLS)/build/bin/llama-batched-bench $(LLAMA_TOOLS)/build/bin/llama-server $(LLAMA_TOOLS)/bin/
	rm -rf $(LLAMA_TOOLS)/src/llama_cpp_python-$(LLAMA_VERSION)
	touch $@

print-llama-tools:
	@echo $(LLAMA_TOOLS)/bin
