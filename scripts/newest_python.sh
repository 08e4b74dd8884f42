#!/usr/bin/env bash
# The catalog on the newest CPython this machine has (3.13, else 3.12): a venv of its own under
# .venv-newest/, the project installed in it, `manage.py check` and the fast unit tests (SQLite; no
# browser, live server or SigmaHQ corpus). The main suite runs on .venv's Python 3.11 (the oldest
# supported); this keeps the newest honest. No newer interpreter: says so and exits 0.
#
#   bash scripts/newest_python.sh            # pytest arguments may follow, e.g. -x or -k health
set -euo pipefail
cd "$(dirname "$0")/.."

works() { [ -n "$1" ] && "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; }

candidates() {
    local minor=$1
    # On PATH (a pyenv shim answers only for the versions selected, so each one is tried, not trusted).
    command -v "python3.$minor" || true
    ls -d /root/.pyenv/versions/3."$minor"*/bin/python3."$minor" "$HOME"/.pyenv/versions/3."$minor"*/bin/python3."$minor" \
        2>/dev/null | sort -rV || true
    echo "/usr/bin/python3.$minor"
    echo "/usr/local/bin/python3.$minor"
}

PYTHON_NEWEST=""
for minor in 13 12; do
    while read -r candidate; do
        if works "$candidate"; then
            PYTHON_NEWEST=$candidate
            break 2
        fi
    done < <(candidates "$minor")
done

if [ -z "$PYTHON_NEWEST" ]; then
    echo "newest_python: no CPython 3.12 or 3.13 on this machine; nothing to run beyond the main suite (3.11)."
    exit 0
fi

VERSION=$("$PYTHON_NEWEST" -c 'import platform; print(platform.python_version())')
VENV=.venv-newest
PY=$VENV/bin/python
if ! [ -x "$PY" ] || [ "$("$PY" -c 'import platform; print(platform.python_version())')" != "$VERSION" ]; then
    rm -rf "$VENV"
    "$PYTHON_NEWEST" -m venv "$VENV"
fi
# Reinstalled only when pyproject.toml or requirements.lock changed since the last install into this venv.
STAMP=$VENV/.installed
# uv installs, as `make install` does (uv itself pinned and hashed in requirements-tools.lock).
if ! [ -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || [ requirements.lock -nt "$STAMP" ] \
    || [ requirements-tools.lock -nt "$STAMP" ]; then
    "$PY" -m pip install --quiet --require-hashes -r requirements-tools.lock
    UV=$VENV/bin/uv
    # the same lock as .venv: one environment. Not --compile-bytecode: compiling every package costs 8 CPU-s, and
    # this venv runs one pytest process, which compiles only what it imports.
    "$UV" pip install --python "$PY" --quiet --require-hashes -r requirements.lock
    "$UV" pip install --python "$PY" --quiet --no-deps -e .
    "$UV" pip check --python "$PY"
    touch "$STAMP"
fi

# SQLite (the default DATABASE_URL): the newest interpreter is what is tested here, not the database.
export DATABASE_URL="sqlite:///$(pwd)/$VENV/check.sqlite3"
unset CATALOG_PRODUCTION
"$PY" manage.py check

# The fast unit tests: no SigmaHQ corpus, no browser, no live gunicorn, no two-node or production runs.
IGNORED=(
    tests/browse/test_e2e.py tests/browse/test_e2e_accessibility.py tests/conversion/test_e2e_conversion.py tests/browse/test_e2e_phone.py
    tests/coverage/test_e2e_coverage.py tests/matching/test_e2e_match_files.py tests/platform/test_two_nodes.py tests/platform/test_production.py
    tests/coverage/test_coverage_profile.py tests/platform/test_api_schema_fuzz.py tests/exports/test_rule_downloads.py
)
status=0
"$PY" -m pytest -q -m "not corpus" "${IGNORED[@]/#/--ignore=}" "$@" || status=$?

echo "newest_python: ran manage.py check and the fast unit tests on CPython $VERSION ($PYTHON_NEWEST);"
echo "newest_python: the main suite runs on $(.venv/bin/python --version 2>/dev/null || echo 'the .venv Python (3.11)')."
exit $status
