# The front door. `make dev` and `make test` install what they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: install dev test unit integration infra-tests lint format bench synth deploy clean openapi

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Run the local stack: DynamoDB Local + the API on http://127.0.0.1:$${PORT:-8787}
dev: install
	$(PY) -m infra.local.dev

## Every suite: lint, unit, integration (DynamoDB Local), infra (synth, cdk-nag, cfn-lint)
test: install lint unit integration infra-tests

unit: install
	$(PY) -m pytest tests/unit -q

integration: install
	$(PY) -m pytest tests/integration -q

infra-tests: install
	$(PY) -m pytest tests/infra -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(PY) -m bench

## Regenerate docs/openapi.json from the code (a unit test fails when it is stale)
openapi: install
	$(PY) -m infra.openapi

synth: install
	npx cdk synth --no-notices -q

deploy: install
	npx cdk deploy --no-notices

clean:
	rm -rf $(VENV) node_modules cdk.out .local .pytest_cache .mypy_cache .ruff_cache
