# The two commands a newcomer needs:  make run   and   make test
# Both work from a clean clone: they create .venv and install the project into it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: run test setup lint lint-imports bench clean

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[dev]"
	touch $@

# A local .env with fresh secrets and DEBUG on, made once (the real environment always wins over it).
.env:
	@printf '# Made by `make run` for a local demo; see .env.example for every variable.\nDEBUG=true\nSECRET_KEY=%s\nENCRYPTION_KEYS=k1:%s\n' \
		"$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
		"$$($(PYTHON) -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')" > .env
	@echo "wrote .env (DEBUG on, fresh SECRET_KEY and ENCRYPTION_KEYS)"

setup: $(VENV)/.installed .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo

## Set up and run the hub: web on http://127.0.0.1:8000 + Celery worker + beat, demo organization seeded.
run: setup
	$(PY) manage.py runhub

## Run the test suite. Without DATABASE_URL/REDIS_URL, throwaway PostgreSQL/Redis are started when their
## binaries are installed (config/pytest_services.py); the summary names any that is missing.
test: $(VENV)/.installed
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: lint-imports
	$(VENV)/bin/ruff check .

## The import graph's contracts (layers, independent providers) in pyproject.toml [tool.importlinter].
lint-imports: $(VENV)/.installed
	$(VENV)/bin/lint-imports --no-cache

## Benchmarks (PostgreSQL + Redis): see benchmarks/README.md
bench: $(VENV)/.installed
	$(PY) benchmarks/upsert_bench.py
	$(PY) benchmarks/webhook_bench.py
	$(PY) benchmarks/services_bench.py

clean:
	rm -rf var
