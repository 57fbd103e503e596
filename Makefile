# One command per task. `make serve` and `make test` install what they need first.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,text,xgboost,lightgbm,mlflow,s3
PYTEST_ARGS ?=
# pinned versions of every dependency of the extras installed; `make lock` refreshes it from pyproject.toml
LOCK := requirements.lock
# test processes: two per core (pytest-xdist); each test file runs whole in one process. The suite
# waits on servers, subprocesses and deadlines for about a third of its time, so a second process
# per core fills it (docs/performance.md, "Test time"); at most 8, each holds a loaded stack
TEST_WORKERS ?= $(shell n=$$(( $$(nproc) * 2 )); echo $$(( n < 8 ? n : 8 )))
comma := ,

.PHONY: install install-text serve test test-durations lint fmt bench bench-quick soak proto proto-check clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed-$(EXTRAS): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install -q -c $(LOCK) -e ".[$(EXTRAS)]"
	touch $@

lock: | $(BIN)/python
	$(BIN)/pip install -q pip-tools
	$(BIN)/pip-compile -q $(foreach e,$(subst $(comma), ,$(EXTRAS)),--extra $(e)) --strip-extras \
	  --no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml

install: $(VENV)/.installed-$(EXTRAS)

serve: install
	@echo "modelport CLI: run 'source $(VENV)/bin/activate' (or put $(abspath $(BIN)) on your PATH) in another shell"
	$(BIN)/modelport serve

test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# tests/durations.json orders the test files, slowest first (tests/fixtures/ordering.py): refresh it
test-durations: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --store-durations $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

fmt: install
	$(BIN)/ruff check --fix src tests bench

# Regenerate the OIP gRPC stubs (committed) from src/modelport/oip/proto/grpc_service.proto.
proto: install
	$(BIN)/python scripts/gen_proto.py

# Fail if the committed stubs differ from a fresh generation (`make test` runs the same test).
proto-check: install
	$(BIN)/python -m pytest -q tests/oip/test_generated.py

bench: install
	$(BIN)/python -m bench.run

bench-quick: install
	$(BIN)/python -m bench.run --quick

# A real server under mixed predict, chat-stream and job load, printing RSS, open descriptors and
# p99 per interval (bench/soak.py); not part of `make test`. `make soak SOAK_SECONDS=60` for a short one.
SOAK_SECONDS ?= 300
SOAK_INTERVAL_S ?= 60
soak: install
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_INTERVAL_S=$(SOAK_INTERVAL_S) $(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
