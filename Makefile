# The two commands of the quick start, and a few conveniences around them.
.PHONY: up test lint audit fmt lock clean bootstrap docs

VENV := .venv
BIN := $(VENV)/bin
# pytest workers: they share one server and template (each works in clones of its own),
# so two processes fit two cores; a file stays on one worker so its module-wide scene is
# built once. `make test PYTEST_ARGS=...` replaces this.
PYTEST_ARGS ?= -n 2 --dist loadfile
# `flagship audit` options; `--no-pip-audit` skips the dependency audit where PyPI is out of reach.
AUDIT_ARGS ?=

up: ## run database, edge service and sync worker on the embedded default
	@scripts/bootstrap.sh
	@$(BIN)/flagship up

test: ## every check: lint, audit, pytest (embedded), then the PostgreSQL 15 and PgBouncer stages
	@scripts/bootstrap.sh --with-pgtap
	@$(BIN)/flagship lint
	@$(BIN)/flagship audit $(AUDIT_ARGS)
	@$(BIN)/pytest $(PYTEST_ARGS)
	@$(BIN)/flagship test-stage pg15 $(PYTEST_ARGS)
	@$(BIN)/flagship test-stage pgbouncer $(PYTEST_ARGS)

audit: ## secret scan, bandit and pip-audit (requirements.lock against PyPI)
	@scripts/bootstrap.sh
	@$(BIN)/flagship audit $(AUDIT_ARGS)

docs: ## the developer portal, offline, into site/ (mkdocs --strict: a broken link or anchor fails)
	@scripts/bootstrap.sh
	@NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
	@echo "docs: open site/index.html"

lint:
	@scripts/bootstrap.sh
	@$(BIN)/flagship lint

fmt:
	@scripts/bootstrap.sh
	@$(BIN)/flagship lint --fix

bootstrap:
	@scripts/bootstrap.sh --with-pgtap

lock: ## refresh requirements.lock from pyproject.toml (needs the registry)
	@rm -rf /tmp/flagship-lock && python3 -m venv /tmp/flagship-lock
	@/tmp/flagship-lock/bin/pip install --quiet -e '.[dev]'
	@/tmp/flagship-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean: ## stop the embedded server and forget all local data
	-@$(BIN)/flagship db stop
	rm -rf .flagship
