# Two commands for a new user: `make run` (embedded demo) and `make test` (full suite on PostgreSQL + Redis).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

# Test services: the local PostgreSQL and Redis unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test lint migrations-check worker beat clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# A laptop's settings file: debug on and a random secret, so manage.py commands work in this checkout.
# Variables set in the environment still win over it.
.env:
	printf 'DEBUG=1\nSECRET_KEY=%s\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > $@

# Embedded mode unless DATABASE_URL / REDIS_URL are set: SQLite, tasks run in the web process.
run: $(VENV)/.installed .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo_data --url http://$(HOST):$(PORT)
	$(PY) manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) CELERY_TASK_ALWAYS_EAGER=1 \
	SECRET_KEY=test-only-secret-key DEBUG=0 SECURE_SSL_REDIRECT=0 $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

migrations-check: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

# With DATABASE_URL and REDIS_URL set: the processes of a production-like deployment.
worker: $(VENV)/.installed
	$(VENV)/bin/celery -A customer_memory worker --loglevel=INFO

beat: $(VENV)/.installed
	$(VENV)/bin/celery -A customer_memory beat --loglevel=INFO

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
