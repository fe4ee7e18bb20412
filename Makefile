# shopmesh developer commands. `make up` runs the platform, `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install lock gen lint test test-unit test-contract test-deploy test-integration test-e2e test-browser test-schemathesis test-observability up up-observability down bench bench-checkout-cost up-mesh test-mesh

# Exact versions with hashes of everything .venv holds (runtime, dev extra, launcher).
LOCK := requirements/dev.txt
LOCK_FLAGS ?=

$(VENV)/.locked: $(LOCK)
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	touch $@

# The two projects themselves, editable, without resolving anything: the lock has it all
# (pip check fails when pyproject.toml asks for more than the lock holds).
$(VENV)/.installed: $(VENV)/.locked pyproject.toml launcher/pyproject.toml
	$(PY) -m pip install --quiet --no-deps -e . -e ./launcher
	@$(PY) -m pip check >/dev/null || { $(PY) -m pip check; \
		echo "$(LOCK) lacks what pyproject.toml asks for: run make lock"; exit 1; }
	touch $@

## install: create .venv and install the project with everything its tests need (from the lock)
install: $(VENV)/.installed

## lock: update requirements/dev.txt after a pyproject change (LOCK_FLAGS=--upgrade: newest of all)
lock: $(VENV)/.locked
	$(VENV)/bin/uv pip compile requirements/dev.in --universal --python-version 3.11 \
		--generate-hashes --no-emit-package shopmesh --no-emit-package shopmesh-launcher \
		--quiet $(LOCK_FLAGS) -o $(LOCK)

## gen: regenerate gen/ from proto/
gen: install
	$(PY) tools/gen_proto.py

## lint: buf lint, buf format, buf breaking against main, ruff, mypy --strict
lint: install
	$(PY) tools/lint.py

## up: provision and run the whole platform in the foreground (Ctrl-C stops it)
up: install
	$(VENV)/bin/shop up $(UP_FLAGS)

## up-observability: make up with a local trace viewer (Jaeger) that every component exports to
up-observability: UP_FLAGS += --observability
up-observability: up

## up-mesh: the platform behind Envoy sidecars (STRICT mTLS, per-method RBAC from deploy/mesh/policy.yaml)
up-mesh: install
	$(VENV)/bin/shop up --mesh

down: install
	$(VENV)/bin/shop down

## test: lint, then unit, contract, integration and end-to-end tests on real servers
test: install lint test-unit test-contract test-deploy test-integration test-e2e test-browser test-schemathesis test-observability test-mesh

test-unit: install
	$(PY) -m pytest tests/unit

test-contract: install
	$(PY) -m pytest tests/contract

test-deploy: install
	$(PY) -m pytest tests/deploy

# The mesh-mode tests run in test-mesh, on the same mesh platform as the end-to-end suite.
test-integration: install
	$(PY) -m pytest tests/integration --ignore=tests/integration/meshmode

test-e2e: install
	$(PY) -m pytest tests/e2e

## test-schemathesis: the gateway against its own /openapi.json (every operation, stateful phase)
test-schemathesis: install
	$(PY) -m pytest tests/schemathesis

## test-observability: a checkout is one trace, gateway to Kafka consumers, in the local viewer
test-observability: install
	$(PY) -m pytest tests/observability

## test-browser: the storefront and back office in headless Chromium (installs it when missing)
test-browser: install
	tests/browser/setup_browser.sh
	$(PY) -m pytest tests/browser

## test-mesh: the end-to-end suite and the mesh tests on a platform in mesh mode
test-mesh: install
	SHOP_E2E_MESH=1 $(PY) -m pytest tests/e2e tests/integration/meshmode

## bench: the side-by-side benchmark (BENCH_QUICK=1 for a short run); tables in bench/results/
bench: install
	$(PY) -m bench.run

## bench-checkout-cost: CPU per checkout of every process of the platform (bench/README.md)
bench-checkout-cost: install
	$(PY) -m bench.checkout_cost
