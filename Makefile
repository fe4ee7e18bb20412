# shopmesh developer commands. `make up` runs the platform, `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install gen lint test test-unit test-contract test-deploy test-integration test-e2e test-browser up down bench up-mesh test-mesh

$(VENV)/.installed: pyproject.toml launcher/pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -e ./launcher
	touch $@

## install: create .venv and install the project with everything its tests need
install: $(VENV)/.installed

## gen: regenerate gen/ from proto/
gen: install
	$(PY) tools/gen_proto.py

## lint: buf lint, buf format, buf breaking against main, ruff, mypy --strict
lint: install
	$(PY) tools/lint.py

## up: provision and run the whole platform in the foreground (Ctrl-C stops it)
up: install
	$(VENV)/bin/shop up

## up-mesh: the platform behind Envoy sidecars (STRICT mTLS, per-method RBAC from deploy/mesh/policy.yaml)
up-mesh: install
	$(VENV)/bin/shop up --mesh

down: install
	$(VENV)/bin/shop down

## test: lint, then unit, contract, integration and end-to-end tests on real servers
test: install lint test-unit test-contract test-deploy test-integration test-e2e test-browser

test-unit: install
	$(PY) -m pytest tests/unit

test-contract: install
	$(PY) -m pytest tests/contract

test-deploy: install
	$(PY) -m pytest tests/deploy

test-integration: install
	$(PY) -m pytest tests/integration

test-e2e: install
	$(PY) -m pytest tests/e2e

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
