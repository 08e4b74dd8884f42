#!/usr/bin/env bash
# The whole suite, on SQLite and on PostgreSQL (DATABASE_URL or the local server), the two passes side by side.
# On a developer machine without PostgreSQL the second pass is skipped, and we say so;
# under CI (CI=true) an unreachable PostgreSQL is a failure, never a silent skip.
#
# Why side by side: a pass spends about half its time waiting (on gunicorn sites, Chromium, task workers and
# queues), so one pass after the other leaves a core idle for half the run. Each pass has its own scratch
# folders (TMPDIR, so its own pytest temporary folders; built exports, uploads and collected static files), its
# own databases (SQLite files in its TMPDIR; PostgreSQL names prefixed by the run's database) and its own ports.
# The SQLite pass prints as it goes; the PostgreSQL pass's output follows it.
#
# Each pass runs on pytest-xdist workers (TEST_WORKERS each, default 2). On the 2-core CI machine four workers (and
# their sites, browsers and task workers) keep both cores busy to the end; six did too, but spent more CPU in all
# (clean-clone runs of the same tree: 536 s and 1,018 CPU-s with 2 a pass, 587 s and 1,088 CPU-s with 3; an older
# tree, with more waiting, had left the cores idle a quarter of the time with 2). Each worker has its own test database,
# live-site databases and ports; `--dist loadgroup` keeps a module's live site on one worker
# (tests/suite_layout.py). Tests that can reach no database, and whole-corpus computations that only read the
# rules (marker `one_database`), run in the SQLite pass only. SERIAL=1 runs the passes one after the other.
# Arguments go to both pytest runs, e.g. `bash scripts/test.sh -x tests/browse/test_api.py`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# A run starts a hundred-odd Python processes (xdist workers, manage.py, gunicorn and task workers): let the first
# write the project's bytecode (and pytest its rewritten test modules) for the others, even where the environment
# says not to (the packages in .venv are compiled at install).
unset PYTHONDONTWRITEBYTECODE
PG_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# A test run's databases are thrown away: their commits need not wait for the WAL to reach the disk (libpq reads
# PGOPTIONS in every process of the run, live sites and task workers included; the server's settings are untouched).
export PGOPTIONS="${PGOPTIONS:--c synchronous_commit=off}"
PYTEST=("$PY" -m pytest -n "${TEST_WORKERS:-2}" --dist loadgroup --durations=15)
# Browser modules drive Chromium against a live site: markup, scripts, layout, accessibility. The database kind
# doesn't change what they check (the page and API tests check what those pages read, on both databases), so each
# runs in one pass, half in each. Measured on the 2-core CI machine: the whole CI run took 677 s and 1,238 CPU-s
# this way, against 860 s and 1,600 CPU-s with every browser module in both passes. (`--ignore` leaves out only
# what a pass collects from folders: a browser module named on the command line runs in both passes.)
BROWSER_SQLITE=(tests/browse/test_e2e_accessibility.py tests/browse/test_e2e_rule_list.py
  tests/conversion/test_e2e_conversion.py tests/matching/test_e2e_match_files.py)
BROWSER_POSTGRESQL=(tests/browse/test_e2e.py tests/browse/test_e2e_phone.py tests/coverage/test_e2e_coverage.py
  tests/coverage/test_e2e_coverage_layout.py)
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/catalog-test-run.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# Run one pass with its own scratch folders: pass NAME, then the command.
in_scratch() {
  local folder="$SCRATCH/$1"
  shift
  mkdir -p "$folder/tmp" "$folder/exports" "$folder/uploads" "$folder/static"
  TMPDIR="$folder/tmp" CATALOG_EXPORT_DIR="$folder/exports" CATALOG_MATCH_JOB_DIR="$folder/uploads" \
    CATALOG_STATIC_ROOT="$folder/static" "$@"
}

postgres_reachable() {
  $PY - "$PG_URL" <<'PYEOF'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].replace("postgres://", "postgresql://"), connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL unreachable at {sys.argv[1]}: {exc}", file=sys.stderr)
    sys.exit(1)
PYEOF
}

postgres_pass() {
  local status=0
  echo "== test suite on PostgreSQL ($PG_URL), less the tests the SQLite pass ran alone =="
  in_scratch postgresql env DATABASE_URL="$PG_URL" "${PYTEST[@]}" --skip-database-free "${BROWSER_SQLITE[@]/#/--ignore=}" "$@" || status=$?
  if [ "$status" -eq 5 ] && [ "${CI:-}" != "true" ]; then
    echo "Every selected test is database-free: they ran in the SQLite pass." >&2
    status=0
  fi
  return "$status"
}

# Collect once before the passes start: the first collection rewrites every test module's asserts and compiles the
# project, and writes both to __pycache__. Four xdist workers (and the newest-Python run) starting at the same moment
# on a fresh clone would each do all of it (about 5 CPU-s each); after this they read it (3 CPU-s each).
"$PY" -m pytest --collect-only -q -p no:cacheprovider >/dev/null 2>&1 || true

started=$SECONDS
pg_status=skipped
if postgres_reachable; then
  if [ "${SERIAL:-}" = "1" ]; then
    pg_status=serial
  else
    pg_log="$SCRATCH/postgresql.log"
    postgres_pass "$@" >"$pg_log" 2>&1 &
    pg_pid=$!
    pg_status=running
  fi
elif [ "${CI:-}" = "true" ]; then
  echo "FAIL: CI must run the suite on PostgreSQL too, and it is unreachable." >&2
  exit 1
else
  echo "SKIPPED the PostgreSQL run: no server at $PG_URL (set TEST_DATABASE_URL to point at one)." >&2
fi

echo "== test suite on SQLite =="
sqlite_status=0
in_scratch sqlite env -u DATABASE_URL "${PYTEST[@]}" --skip-postgresql-only "${BROWSER_POSTGRESQL[@]/#/--ignore=}" "$@" || sqlite_status=$?
echo "== the SQLite pass ended after $((SECONDS - started)) s (status $sqlite_status) =="

pg_exit=0
case "$pg_status" in
  running)
    wait "$pg_pid" || pg_exit=$?
    cat "$pg_log"
    ;;
  serial) postgres_pass "$@" || pg_exit=$? ;;
esac
if [ "$pg_status" != skipped ]; then
  echo "== the PostgreSQL pass ended after $((SECONDS - started)) s (status $pg_exit) =="
fi
if [ "$sqlite_status" -ne 0 ]; then exit "$sqlite_status"; fi
exit "$pg_exit"
