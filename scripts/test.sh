#!/usr/bin/env bash
# The whole suite, on SQLite and then on PostgreSQL (DATABASE_URL or the local server).
# On a developer machine without PostgreSQL the second run is skipped, and we say so;
# under CI (CI=true) an unreachable PostgreSQL is a failure, never a silent skip.
#
# Each pass runs on pytest-xdist workers (TEST_WORKERS, default 3: one more than the 2 cores, since browser, two-node
# and queue tests spend much of their time waiting on other processes), each worker with its
# own test database, live-site databases and ports; `--dist loadgroup` keeps a module's live site on one
# worker (tests/suite_layout.py). Tests that can reach no database run in the SQLite pass only.
# Arguments go to both pytest runs, e.g. `bash scripts/test.sh -x tests/browse/test_api.py`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# A run starts a hundred-odd Python processes (xdist workers, manage.py, gunicorn and task workers): let the first
# write the project's bytecode (and pytest its rewritten test modules) for the others, even where the environment
# says not to (the packages in .venv are compiled at install).
unset PYTHONDONTWRITEBYTECODE
PG_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PYTEST=("$PY" -m pytest -n "${TEST_WORKERS:-3}" --dist loadgroup --durations=15)

echo "== test suite on SQLite =="
env -u DATABASE_URL "${PYTEST[@]}" --skip-postgresql-only "$@"

if $PY - "$PG_URL" <<'PYEOF'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].replace("postgres://", "postgresql://"), connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL unreachable at {sys.argv[1]}: {exc}", file=sys.stderr)
    sys.exit(1)
PYEOF
then
  echo "== test suite on PostgreSQL ($PG_URL), less the database-free tests the SQLite pass ran =="
  status=0
  DATABASE_URL="$PG_URL" "${PYTEST[@]}" --skip-database-free "$@" || status=$?
  if [ "$status" -eq 5 ] && [ "${CI:-}" != "true" ]; then
    echo "Every selected test is database-free: they ran in the SQLite pass." >&2
  elif [ "$status" -ne 0 ]; then
    exit "$status"
  fi
elif [ "${CI:-}" = "true" ]; then
  echo "FAIL: CI must run the suite on PostgreSQL too, and it is unreachable." >&2
  exit 1
else
  echo "SKIPPED the PostgreSQL run: no server at $PG_URL (set TEST_DATABASE_URL to point at one)." >&2
fi
