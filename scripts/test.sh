#!/usr/bin/env bash
# The whole suite, on SQLite and then on PostgreSQL (DATABASE_URL or the local server).
# On a developer machine without PostgreSQL the second run is skipped, and we say so;
# under CI (CI=true) an unreachable PostgreSQL is a failure, never a silent skip.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

echo "== test suite on SQLite =="
env -u DATABASE_URL $PY -m pytest "$@"

if $PY - "$PG_URL" <<'PYEOF'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].replace("postgres://", "postgresql://"), connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL unreachable at {sys.argv[1]}: {exc}", file=sys.stderr)
    sys.exit(1)
PYEOF
then
  echo "== test suite on PostgreSQL ($PG_URL) =="
  DATABASE_URL="$PG_URL" $PY -m pytest "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "FAIL: CI must run the suite on PostgreSQL too, and it is unreachable." >&2
  exit 1
else
  echo "SKIPPED the PostgreSQL run: no server at $PG_URL (set TEST_DATABASE_URL to point at one)." >&2
fi
