# Caisse - the two commands a newcomer needs are `make local` and `make test`.
# Everything is installed into ./.venv (runtime + dev tools, Python 3.13 like the Lambda runtime)
# and ./.venv-sam (the SAM CLI, which pins its own boto3 and pydantic).

SHELL := /bin/bash
ROOT := $(CURDIR)
include layers/python.mk
VENV := .venv
SAMVENV := .venv-sam
SCANVENV := .venv-scan
PY := $(VENV)/bin/python
SAM := $(SAMVENV)/bin/sam
PIP := --quiet --disable-pip-version-check
UV := $(VENV)/bin/uv
UV_PIP := --quiet
E2E_WORKERS := -n 3 --dist loadfile --no-loadscope-reorder  # tests/e2e/conftest.py orders the files
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
# The SAM build of the layers runs pip and compileall with the same Python as the runtime.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

REQS := requirements/runtime.txt requirements/imaging.txt requirements/encryption.txt requirements/tickets.txt \
	requirements/dev.txt
# The browser tests drive Debian's chromium (Playwright's own browser download is not reachable)
# and inject axe-core, pinned in tests/browser/package-lock.json.
CHROMIUM := /usr/bin/chromium
AXE := tests/browser/node_modules/axe-core/axe.min.js
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# One line per step, then how long it took: `$(call step,what it does,command)`.
step = @printf '==> %s\n' "$(1)"; started=$$(date +%s); $(2) && printf '    done in %s s\n' "$$(( $$(date +%s) - started ))"

.PHONY: help local test unit functional local-stack emulation sandbox e2e lint validate scan build deploy invoke admin-token seed openapi bench clean

help:
	@echo "make local        run the whole system offline (API :3000, AWS :4566, provider sandbox :4010)"
	@echo "make test         install what is needed, then run lint, sam validate/build and every test"
	@echo "make admin-token  print a staff token for the local stack (MERCHANT=<id> for a scoped one)"
	@echo "make invoke FUNCTION=HealthFunction [EVENT=file.json]   invoke one function on the local stack"
	@echo "make bench        cold-start and DynamoDB-request benchmark of the functions"
	@echo "make openapi      write functions/api_docs/openapi.json (served at /openapi.json) from the functions' code"
	@echo "make cost         what 1 000 orders cost on AWS per shop (measured on the local stack)"
	@echo "make scan         checkov's IaC scan of template.yaml (fails on any finding)"
	@echo "make build        sam build (Linux arm64 layers, .pyc compiled); make deploy: sam deploy --guided"
	@echo "make bench-images / bench-email / bench-gallery   images, email throughput, a 500-photo gallery"
	@echo "make bench-tickets   an order of 10 admissions: tickets, email, its size"
	@echo "make bench-orders one page of the staff order list at 1 000 and 20 000 orders"
	@echo "make bench-reconciliation   2 000 orders paid while their webhooks were lost, reconciled and resumed"
	@echo "make bench-brief  a checkout with and without an encrypted brief (latency, DynamoDB and KMS requests)"
	@echo "make bench-plans  platform plans: Pay -> plan active, AWS requests per billing event and per booking"
	@echo "make bench-settings   a merchant's settings change (copies and record in one transaction) and the change list"
	@echo "make bench-scale  memory and checkout p50 of the local stack over 5 000 paid orders"
	@echo "make run-scheduled FUNCTION=ReconcilePaymentsFunction   run a scheduled job now (local stack)"
	@echo "make redrive      send the notification DLQ back to its queue (local stack)"
	@echo "make fuzz         fuzz the API from its OpenAPI document for 15 minutes (FUZZ_SECONDS=...)"
	@echo "The local stack's ports move with CAISSE_API_PORT, CAISSE_AWS_PORT and CAISSE_SANDBOX_PORT."

# uv installs the pinned requirements (the same versions pip would) in seconds where pip took two
# minutes; pip installs uv itself, pinned, into .venv, and that uv fills all three virtualenvs.
$(UV): requirements/uv.txt
	$(NEED_PYTHON313)
	@test -x $(PY) || { echo "==> Creating .venv with $(PYTHON313)"; $(PYTHON313) -m venv $(VENV); }
	$(call step,Installing uv into .venv (pip),$(PY) -m pip install $(PIP) -r requirements/uv.txt)
	@touch $@

$(VENV)/.installed: $(UV) $(REQS) pyproject.toml
	$(call step,Installing the runtime and dev dependencies into .venv (uv),\
		$(UV) pip install $(UV_PIP) --python $(PY) -r requirements/runtime.txt -r requirements/imaging.txt \
			-r requirements/encryption.txt -r requirements/tickets.txt -r requirements/dev.txt)
	$(call step,Installing Caisse itself into .venv (editable),\
		$(UV) pip install $(UV_PIP) --python $(PY) --no-build-isolation --no-deps -e .)
	@touch $@

$(SAMVENV)/.installed: $(UV) requirements/sam.txt
	@test -x $(SAMVENV)/bin/python || $(PYTHON313) -m venv $(SAMVENV)
	$(call step,Installing the SAM CLI into .venv-sam (uv),\
		$(UV) pip install $(UV_PIP) --python $(SAMVENV)/bin/python -r requirements/sam.txt)
	@touch $@

$(SCANVENV)/.installed: $(UV) requirements/scan.txt
	@test -x $(SCANVENV)/bin/python || $(PYTHON313) -m venv $(SCANVENV)
	$(call step,Installing checkov into .venv-scan (uv),\
		$(UV) pip install $(UV_PIP) --python $(SCANVENV)/bin/python -r requirements/scan.txt)
	@touch $@

$(CHROMIUM):
	$(call step,Installing Debian's chromium for the browser tests (apt),\
		{ $(SUDO) apt-get install -y -q chromium >/dev/null 2>&1 || \
		  { $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q chromium >/dev/null; }; })

$(AXE): tests/browser/package-lock.json
	$(call step,Installing axe-core for the browser tests (npm ci),\
		npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >/dev/null)
	@touch $@

.PHONY: browser
browser: $(CHROMIUM) $(AXE)

# Swagger UI for GET /docs, from the npm registry (versions pinned in the lock file), copied where
# the local stack serves it from; `sam build` does the same for Lambda (functions/api_docs/Makefile).
DOCS := functions/api_docs
SWAGGER_UI := $(DOCS)/swagger-ui/swagger-ui-bundle.js
$(SWAGGER_UI): $(DOCS)/package-lock.json
	@if command -v npm >/dev/null; then \
		printf '==> %s\n' "Installing Swagger UI for /docs (npm ci, pinned)"; \
		npm ci --prefix $(DOCS) --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null && \
		mkdir -p $(DOCS)/swagger-ui && \
		cp $(DOCS)/node_modules/swagger-ui-dist/swagger-ui-bundle.js $(DOCS)/node_modules/swagger-ui-dist/swagger-ui.css \
			$(DOCS)/node_modules/swagger-ui-dist/LICENSE $(DOCS)/swagger-ui/; \
	else echo "npm not found: /docs will answer without Swagger UI (GET /openapi.json works)"; fi

.PHONY: docs-assets
docs-assets: $(SWAGGER_UI)

local: $(VENV)/.installed docs-assets
	@echo "==> Starting the local stack (Ctrl-C stops it)"
	$(PY) -m caisse_local

# What `make test` installs (three virtualenvs, chromium, axe-core, Swagger UI) and the checks that read
# the code (ruff and import-linter, sam validate, checkov) need nothing of each other, nor does `sam build`
# need the checks: each group runs side by side (a sub-make with -j, each step's lines kept together),
# the Python chosen once for all of them.
.PHONY: installs checks
installs:
	@$(MAKE) --no-print-directory -j 5 --output-sync=target PYTHON313=$(PYTHON313) \
		$(VENV)/.installed $(SAMVENV)/.installed $(SCANVENV)/.installed browser docs-assets
checks: installs
	@$(MAKE) --no-print-directory -j 4 --output-sync=target lint validate scan build

# Unit, functional and the local stack's two tiers (emulation, provider sandbox) in parallel, then the e2e
# tests as their own run (the way powertools-lambda-python runs its tiers), on three workers with a local
# stack each, a file's tests on one (the e2e tests wait on the stack as much as they use the CPU: three
# stacks on 2 cores finished in 559 s where two took 660 s).
test: installs checks
	$(call step,Unit + functional + emulation + sandbox tests (2 workers),\
		$(PY) -m pytest -q -n 2 tests/unit tests/functional tests/emulation tests/sandbox)
	$(call step,End-to-end tests (3 workers: a local stack each),$(PY) -m pytest -q $(E2E_WORKERS) tests/e2e)
	$(call step,Fuzzing the API from its OpenAPI document (schemathesis; 60 s budget),\
		$(PY) scripts/fuzz.py --max-time 60)

# Reconciliation of a busy day (2 000 orders on a local stack of its own), with its figures.
.PHONY: bench-reconciliation
bench-reconciliation: $(VENV)/.installed
	CAISSE_RECONCILE_ORDERS=$(or $(ORDERS),2000) $(PY) -m pytest -q -s tests/e2e/test_reconciliation_at_volume.py

# The longer fuzzing run (figures in the README): FUZZ_SECONDS of testing, the same checks.
.PHONY: fuzz
fuzz: $(VENV)/.installed
	$(PY) scripts/fuzz.py --max-time $(or $(FUZZ_SECONDS),900)

unit: $(VENV)/.installed
	$(PY) -m pytest -q tests/unit

functional: $(VENV)/.installed $(SAMVENV)/.installed
	$(PY) -m pytest -q -n 2 tests/functional

# The local stack's own tiers: the AWS emulation (scripts/caisse_local) and the provider sandbox
# (scripts/provider_sandbox). Tooling, not the product.
emulation: $(VENV)/.installed
	$(PY) -m pytest -q -n 2 tests/emulation

sandbox: $(VENV)/.installed
	$(PY) -m pytest -q -n 2 tests/sandbox

local-stack: $(VENV)/.installed
	$(PY) -m pytest -q -n 2 tests/emulation tests/sandbox

e2e: $(VENV)/.installed browser docs-assets
	$(PY) -m pytest -q $(E2E_WORKERS) tests/e2e

# The pages as people see them, at desktop and phone size, for the README (docs/screenshots).
.PHONY: screenshots
screenshots: $(VENV)/.installed browser
	CAISSE_SCREENSHOTS=1 $(PY) -m pytest -q tests/e2e/test_console.py tests/e2e/test_order_page.py \
		tests/e2e/test_provider_pages_in_a_browser.py tests/e2e/test_settings_console.py

lint: $(VENV)/.installed
	$(call step,ruff (lint and format),$(VENV)/bin/ruff check shared functions scripts tests && \
		$(VENV)/bin/ruff format --check shared functions scripts tests)
	$(call step,import-linter (the domain's layers in pyproject.toml),$(VENV)/bin/lint-imports --no-cache)
	$(call step,mypy (shared/caisse and the functions' handlers),$(VENV)/bin/mypy shared/caisse functions/*/*.py)

validate: $(SAMVENV)/.installed
	$(call step,sam validate --lint,$(SAM) validate --lint --template template.yaml)

# The IaC scan: checkov's CloudFormation checks on template.yaml, offline, failing on any finding
# (.checkov.yaml: the checks skipped for every function and why; per resource: its Metadata).
# checkov does not expand Fn::ForEach (it would skip every function's log group and alarms), so it
# reads the template as CloudFormation sees it after AWS::LanguageExtensions, written by the local
# stack's reader (the same 390 resources; tests/functional/test_template_expansion.py).
SCANNED := .aws-sam/scan/template.json
scan: $(VENV)/.installed $(SCANVENV)/.installed
	@mkdir -p $(dir $(SCANNED)) && $(PY) -m caisse_local.template template.yaml > $(SCANNED)
	$(call step,checkov (IaC scan of template.yaml, Fn::ForEach expanded),\
		$(SCANVENV)/bin/checkov --config-file .checkov.yaml -f $(SCANNED))

build: $(VENV)/.installed $(SAMVENV)/.installed
	$(call step,sam build (layers for Linux arm64; unchanged ones come from the cache),\
		$(SAM) build --template template.yaml)

# What 1 000 orders cost on AWS per shop, from one local stack's measured figures (README "Cost").
.PHONY: cost
cost: $(VENV)/.installed
	$(PY) scripts/cost_per_orders.py $(if $(ORDERS),--orders $(ORDERS))

# The guided deploy asks for the stack name, region and parameters, and saves them in samconfig.toml.
deploy: build
	$(SAM) deploy --guided

invoke: $(VENV)/.installed
	@test -n "$(FUNCTION)" || { echo "usage: make invoke FUNCTION=HealthFunction [EVENT=events/health.json]"; exit 2; }
	@$(PY) scripts/invoke.py $(FUNCTION) $(if $(EVENT),--event $(EVENT))

admin-token: $(VENV)/.installed
	@$(PY) -m caisse_local.authorizer $(if $(MERCHANT),--merchant $(MERCHANT))

seed: $(VENV)/.installed
	$(PY) scripts/seed_catalog.py --local

# The committed document GET /openapi.json serves; `make test` fails when it differs from the code.
openapi: $(VENV)/.installed
	$(PY) scripts/openapi.py > $(DOCS)/openapi.json

bench: $(VENV)/.installed
	$(PY) scripts/bench_cold_start.py

# One benchmark per script: `make bench-NAME` runs scripts/bench_NAME.py (what each measures: `make help`).
BENCHES := images email tickets brief plans settings gallery orders scale
.PHONY: $(addprefix bench-,$(BENCHES))
$(addprefix bench-,$(BENCHES)): bench-%: $(VENV)/.installed
	$(PY) scripts/bench_$*.py

# Run a scheduled function once against the running local stack, e.g. FUNCTION=ReconcilePaymentsFunction.
.PHONY: run-scheduled
run-scheduled: $(VENV)/.installed
	$(PY) scripts/run_scheduled.py $(FUNCTION)

# Send the notification DLQ's messages back to their queue (local stack; see the script for AWS).
.PHONY: redrive
redrive: $(VENV)/.installed
	$(PY) scripts/redrive_dlq.py --local

# Stream batches whose replay kept failing for a day, back to the failure queue the replay reads.
.PHONY: redrive-stream-failures
redrive-stream-failures: $(VENV)/.installed
	$(PY) scripts/redrive_dlq.py --local --stream-failures

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache .bench
