# Two commands matter: `make run` (serve the catalog) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
UV := $(VENV)/bin/uv
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
CORPUS ?= ../shared/corpus/sigmahq

.PHONY: run test lint format bench stress serve install lock migrate import clean sigmahq

# Every package, transitive ones included, at the version and hash requirements.lock names; then the project.
# uv installs them (pinned and hashed in requirements-tools.lock; pip only installs uv): a fresh .venv in ~15 s of
# CPU where pip took ~45. --compile-bytecode as pip does: no process then compiles a package's modules on import.
$(STAMP): pyproject.toml requirements.lock requirements-tools.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-tools.lock
	$(UV) pip install --python $(PY) --quiet --require-hashes --compile-bytecode -r requirements.lock
	$(UV) pip install --python $(PY) --quiet --no-deps -e .
	$(UV) pip check --python $(PY)
	touch $(STAMP)

# Re-resolve requirements.lock from pyproject.toml after changing a dependency: one file for every supported
# Python (3.11 and newer) and platform, with hashes.
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-tools.lock
	$(UV) pip compile pyproject.toml --extra test --universal --python-version 3.11 --generate-hashes \
		--quiet --output-file requirements.lock

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py createcachetable -v0

# Import problems are reported but never stop the site from being served.
import: migrate
	-$(PY) manage.py import_rules rules --source examples
	-@IFS=':'; for p in $$CATALOG_RULE_PATHS; do [ -n "$$p" ] && $(PY) manage.py import_rules "$$p"; done; true

# SigmaHQ's rules as the git source "sigmahq": cloned into CATALOG_SOURCES_DIR (sources/) the first time, fetched
# after, and its rule folders imported at the fetched commit (skipped when it has not moved). Synced daily by
# `manage.py sync_sources --due` from cron. The front page of a catalog holding only the example rules names this.
SIGMA_FOLDERS = rules,rules-emerging-threats,rules-threat-hunting
sigmahq: migrate
	$(PY) manage.py add_source sigmahq https://github.com/SigmaHQ/sigma --paths $(SIGMA_FOLDERS) --interval 1d

# BIND=host:port (or PORT=8001) chooses where it listens, as for `make serve`.
# One task worker (`manage.py db_worker`: re-imports, /match/ files, export builds) runs beside the server
# and is stopped with it.
run: import
	$(PY) manage.py db_worker --no-reload & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $${BIND:-127.0.0.1:$${PORT:-8000}}

test: install lint
	bash scripts/test.sh

# Lint and format check (ruff), and the import contracts (lint-imports), both configured in pyproject.toml;
# `make format` rewrites the tree.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Every benchmark, then one summary table of issue 22's figures (benchmarks/summary.py): SQLite and PostgreSQL at
# 1x and 20x the corpus, each a ratio to a baseline of the same run beside its goal. The databases are built once per
# engine and scale (import_bench's cold import is the build) and kept under BENCH_CACHE with the EVTX replicas.
# On this 2-core machine shared with other work: 28 minutes at a load of 2-4, 46 at 4-15; the first run takes the
# same as one with the builds kept (import_bench imports every scale cold each time: those are figures). Each part's
# time follows it (bash's `time`); `python -m benchmarks.summary --help` lists them. The PostgreSQL databases are
# named BENCH_PG_PREFIX<scale> (defaults: BENCH_CACHE=/tmp/catalog-bench, BENCH_PG_PREFIX=bench).
# `make bench 2>&1 | tee bench.txt` keeps the whole output; `python -m benchmarks.summary` prints the table again.
bench: install
	$(PY) -m benchmarks.summary --reset
	$(PY) -m compileall -q catalog config  # the project's bytecode, as installed (the environment may say not to write it)
	-time $(PY) -m benchmarks.import_bench $(CORPUS)
	-time $(PY) -m benchmarks.scale_bench $(CORPUS)
	-time $(PY) -m benchmarks.scan_bench $(CORPUS)
	-time $(PY) -m benchmarks.sync_bench $(CORPUS)
	-time $(PY) -m benchmarks.serve_bench $(CORPUS)
	-time $(PY) -m benchmarks.search_bench $(CORPUS)
	-time $(PY) -m benchmarks.convert_bench $(CORPUS)
	-time $(PY) -m benchmarks.conversion_isolation_bench $(CORPUS)
	-time $(PY) -m benchmarks.coverage_bench $(CORPUS)
	-time $(PY) -m benchmarks.match_bench $(CORPUS)
	-time $(PY) -m benchmarks.correlation_bench
	$(PY) -m benchmarks.summary

# The high-severity attacks of the hardening issues against gunicorn (2 workers), with a visitor searching meanwhile.
stress: install
	$(PY) -m benchmarks.stress $(CORPUS)

# Production: settings from the environment (CATALOG_PRODUCTION=1, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL).
serve: install
	CATALOG_PRODUCTION=1 $(PY) manage.py collectstatic --noinput -v0
	CATALOG_PRODUCTION=1 $(PY) manage.py migrate --noinput -v0
	CATALOG_PRODUCTION=1 $(PY) manage.py createcachetable -v0
	@# Metrics of a previous run's workers are dropped (PROMETHEUS_MULTIPROC_DIR: see README, Deploying).
	if [ -n "$$PROMETHEUS_MULTIPROC_DIR" ]; then mkdir -p "$$PROMETHEUS_MULTIPROC_DIR" && find "$$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -name '*.db' -delete; fi
	CATALOG_PRODUCTION=1 $(VENV)/bin/gunicorn --config config/gunicorn.conf.py config.wsgi --bind $${BIND:-127.0.0.1:$${PORT:-8000}} --workers $${WORKERS:-3}

clean:
	rm -rf $(VENV) db.sqlite3* staticfiles test-artifacts
