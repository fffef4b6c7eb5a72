# Day-2 operations for llmzd; targets mirror those of the zero-downtime update guide with Argo Rollouts.
# Every target echoes the command it runs, and a missing tool stops with a one-line hint.
# Override any variable: make load LOAD_CONCURRENCY=8 LOAD_DURATION=60
STACK ?= dev
NAMESPACE ?= llm-serving
MODEL ?= vllm
STABLE_SVC ?= $(MODEL)-stable
# PORT: the local end of `make port-forward` (and of the default URL); SERVICE_PORT: the model's `port`.
PORT ?= 8000
SERVICE_PORT ?= 8000
URL ?= http://127.0.0.1:$(PORT)
VENV ?= .venv
PYTHON ?= $(VENV)/bin/python
BOOTSTRAP_PYTHON ?= python3
BASE_REF ?= origin/main
OUT ?= out/$(STACK)
PLAN_FLAGS ?=
PULUMI_FLAGS ?=
POLICY_PACK ?= policy
LOG_TAIL ?= 200
# Load and acceptance defaults of the zero-downtime update guide (loadgen reads the same names from the environment too).
LOAD_CONCURRENCY ?= 4
LOAD_DURATION ?= 30
MAX_ERROR_RATE ?= 0.05
MAX_5XX_RATE ?= 0.02
MIN_STREAM_COMPLETION ?= 0.9

PULUMI_HINT := install it from https://www.pulumi.com/docs/install/
KUBECTL_HINT := install it from https://kubernetes.io/docs/tasks/tools/
ARGO_HINT := install the kubectl plugin from https://argo-rollouts.readthedocs.io/en/stable/installation/\#kubectl-plugin-installation
VENV_HINT := run 'make install' first

# $(call need,TOOL,HINT): stop with "TOOL not found: HINT" instead of a shell error further down.
need = command -v $(1) >/dev/null 2>&1 || { echo "$(1) not found: $(2)" >&2; exit 1; }
need_venv = test -x $(PYTHON) || { echo "$(PYTHON) not found: $(VENV_HINT)" >&2; exit 1; }
ROLLOUT_LABEL := app.kubernetes.io/instance=$(MODEL)

.PHONY: help install render test e2e e2e-toolchain lint plan preview up down port-forward smoke load verify status logs promote abort

help:
	@echo "targets: install render test e2e e2e-toolchain lint plan preview up down port-forward smoke load verify status logs promote abort"
	@echo "variables: STACK=$(STACK) NAMESPACE=$(NAMESPACE) MODEL=$(MODEL) STABLE_SVC=$(STABLE_SVC) URL=$(URL)"
	@echo "           PORT=$(PORT) (local end of port-forward) SERVICE_PORT=$(SERVICE_PORT) (the model's port)"

install:
	@$(call need,$(BOOTSTRAP_PYTHON),install Python 3.11+ from https://www.python.org/downloads/)
	test -x $(PYTHON) || $(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install -e '.[test]' -c e2e/requirements.txt

render:
	@$(need_venv)
	$(PYTHON) -m llmzd_infra render --stack $(STACK) --out $(OUT)

test:
	@$(need_venv)
	$(PYTHON) -m pytest

# The real control plane's binaries, built from the Go module proxy into a cache outside the repo (a cold build
# takes tens of minutes on 2 cores; a warm one nothing). See docs/e2e.md.
e2e-toolchain:
	@$(call need,go,install Go 1.26+ from https://go.dev/dl/)
	bash e2e/toolchain/build.sh

# End-to-end tests (root: they make a network namespace): build what is missing, then run the scenarios.
# Writes out/e2e/summary.json and the components' logs to out/e2e/logs/.
e2e: e2e-toolchain
	@$(need_venv)
	LLMZD_E2E_REQUIRED=1 $(PYTHON) -m pytest -m e2e tests/e2e -o addopts="-q -ra" $(E2E_FLAGS)

lint:
	@$(need_venv)
	$(VENV)/bin/ruff check .

plan: render
	@$(call need,git,install git from https://git-scm.com/downloads)
	$(PYTHON) -m llmzd_infra plan --stack $(STACK) --base-ref $(BASE_REF) --head $(OUT) $(PLAN_FLAGS)

preview:
	@$(call need,pulumi,$(PULUMI_HINT))
	pulumi preview --stack $(STACK) --policy-pack $(POLICY_PACK) $(PULUMI_FLAGS)

up:
	@$(call need,pulumi,$(PULUMI_HINT))
	pulumi up --stack $(STACK) --policy-pack $(POLICY_PACK) $(PULUMI_FLAGS)

down:
	@$(call need,pulumi,$(PULUMI_HINT))
	pulumi destroy --stack $(STACK) $(PULUMI_FLAGS)

port-forward:
	@$(call need,kubectl,$(KUBECTL_HINT))
	kubectl -n $(NAMESPACE) port-forward svc/$(STABLE_SVC) $(PORT):$(SERVICE_PORT)

smoke:
	@$(need_venv)
	$(PYTHON) -m loadgen smoke $(URL)

load:
	@$(need_venv)
	$(PYTHON) -m loadgen run --url $(URL) --concurrency $(LOAD_CONCURRENCY) --duration $(LOAD_DURATION)

verify:
	@$(need_venv)
	$(PYTHON) -m loadgen verify --url $(URL) --concurrency $(LOAD_CONCURRENCY) --duration $(LOAD_DURATION) --max-error-rate $(MAX_ERROR_RATE) --max-5xx-rate $(MAX_5XX_RATE) --min-stream-completion $(MIN_STREAM_COMPLETION)

status:
	@$(call need,kubectl,$(KUBECTL_HINT))
	kubectl -n $(NAMESPACE) get rollouts.argoproj.io,pods,services -l app.kubernetes.io/part-of=llmzd -o wide
	@if kubectl argo rollouts version >/dev/null 2>&1; then \
		echo "kubectl argo rollouts get rollout $(MODEL) -n $(NAMESPACE)"; \
		kubectl argo rollouts get rollout $(MODEL) -n $(NAMESPACE); \
	else \
		echo "(kubectl argo rollouts plugin not found, showing the Rollout's status instead: $(ARGO_HINT))"; \
		echo "kubectl -n $(NAMESPACE) describe rollouts.argoproj.io $(MODEL)"; \
		kubectl -n $(NAMESPACE) describe rollouts.argoproj.io $(MODEL); \
	fi

logs:
	@$(call need,kubectl,$(KUBECTL_HINT))
	kubectl -n $(NAMESPACE) logs -l $(ROLLOUT_LABEL) -c vllm --prefix --tail=$(LOG_TAIL) --max-log-requests=10 -f

promote:
	@$(call need,kubectl,$(KUBECTL_HINT))
	@$(call need,kubectl-argo-rollouts,$(ARGO_HINT))
	kubectl argo rollouts promote $(MODEL) -n $(NAMESPACE)

abort:
	@$(call need,kubectl,$(KUBECTL_HINT))
	@$(call need,kubectl-argo-rollouts,$(ARGO_HINT))
	kubectl argo rollouts abort $(MODEL) -n $(NAMESPACE)
