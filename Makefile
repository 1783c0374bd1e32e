# Caisse - the two commands a newcomer needs are `make local` and `make test`.
# Everything is installed into ./.venv (runtime + dev tools, Python 3.13 like the Lambda runtime)
# and ./.venv-sam (the SAM CLI, which pins its own boto3 and pydantic).

SHELL := /bin/bash
# The first Python 3.13 that runs (a pyenv shim may exist without the version being selected).
PYTHON313 ?= $(shell for p in $(HOME)/.pyenv/versions/3.13*/bin/python3.13 $$(command -v python3.13); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && echo "$$p" && break; done)
VENV := .venv
SAMVENV := .venv-sam
PY := $(VENV)/bin/python
SAM := $(SAMVENV)/bin/sam
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
# The SAM build of the layers runs pip and compileall with the same Python as the runtime.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

REQS := requirements/runtime.txt requirements/imaging.txt requirements/dev.txt

.PHONY: help local test unit functional e2e lint validate build admin-token seed openapi bench clean

help:
	@echo "make local        run the whole system offline (API :3000, AWS :4566, provider sandbox :4010)"
	@echo "make test         install what is needed, then run lint, sam validate/build and every test"
	@echo "make admin-token  print a staff token for the local stack (MERCHANT=<id> for a scoped one)"
	@echo "make bench        cold-start and DynamoDB-request benchmark of the functions"
	@echo "make openapi      write openapi.json from the API functions' code"
	@echo "make build        sam build (Linux arm64 layers, .pyc compiled)"
	@echo "make bench-images / bench-email   image pipeline and email throughput benchmarks"
	@echo "make run-scheduled FUNCTION=ReconcilePaymentsFunction   run a scheduled job now (local stack)"
	@echo "make redrive      send the notification DLQ back to its queue (local stack)"

$(VENV)/.installed: $(REQS) pyproject.toml
	@test -n "$(PYTHON313)" || { echo "Python 3.13 not found (pyenv install 3.13 or apt-get install python3.13)"; exit 1; }
	@test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/runtime.txt -r requirements/imaging.txt -r requirements/dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps -e .
	@touch $@

$(SAMVENV)/.installed: requirements/sam.txt
	@test -x $(SAMVENV)/bin/python || $(PYTHON313) -m venv $(SAMVENV)
	$(SAMVENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/sam.txt
	@touch $@

local: $(VENV)/.installed
	$(PY) -m caisse_local

test: $(VENV)/.installed $(SAMVENV)/.installed lint validate build
	$(PY) -m pytest -q -n 2 --dist loadgroup tests

unit: $(VENV)/.installed
	$(PY) -m pytest -q tests/unit

functional: $(VENV)/.installed
	$(PY) -m pytest -q tests/functional

e2e: $(VENV)/.installed
	$(PY) -m pytest -q tests/e2e

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check shared functions scripts tests
	$(VENV)/bin/ruff format --check shared functions scripts tests

validate: $(SAMVENV)/.installed
	$(SAM) validate --lint --template template.yaml

build: $(VENV)/.installed $(SAMVENV)/.installed
	$(SAM) build --template template.yaml --parallel

admin-token: $(VENV)/.installed
	@$(PY) -m caisse_local.authorizer $(if $(MERCHANT),--merchant $(MERCHANT))

seed: $(VENV)/.installed
	$(PY) scripts/seed_catalog.py --endpoint-url http://127.0.0.1:4566

openapi: $(VENV)/.installed
	$(PY) scripts/openapi.py > openapi.json

bench: $(VENV)/.installed
	$(PY) scripts/bench_cold_start.py

# The image pipeline: wall time, CPU time and peak memory per photo, beside plain Pillow.
.PHONY: bench-images
bench-images: $(VENV)/.installed
	$(PY) scripts/bench_images.py

# Emails per second and AWS requests per email for a batch of paid orders on the local stack.
.PHONY: bench-email
bench-email: $(VENV)/.installed
	$(PY) scripts/bench_email.py

# Run a scheduled function once against the running local stack, e.g. FUNCTION=ReconcilePaymentsFunction.
.PHONY: run-scheduled
run-scheduled: $(VENV)/.installed
	$(PY) scripts/run_scheduled.py $(FUNCTION)

# Send the notification DLQ's messages back to their queue (local stack; see the script for AWS).
.PHONY: redrive
redrive: $(VENV)/.installed
	$(PY) scripts/redrive_dlq.py --local

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache .bench
