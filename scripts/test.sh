#!/usr/bin/env bash
# `make test`: the whole suite, as two pytest processes at once, then one coverage report.
#
# The suite spends much of its time waiting (servers starting, child processes killed and
# resumed, a Ray cluster, a Temporal dev server), so on a 2-core machine two processes finish in
# about half the time of one. The split is by folder and fixed, so each half's session fixtures
# (the Ray cluster, DBOS, Temporal) start once, in the half that needs them. Each half has its
# own coverage data file and temporary folder; the two are combined and held to .coverage-floor.
# Arguments are passed to both halves (e.g. `make test PYTEST_ARGS=-x`).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
OUT=${TETHER_TEST_OUT:-.test-logs}
FLOOR=$(cat .coverage-floor 2>/dev/null || echo 0)

# The half with the engines and the slow process-level tests; the other half is the rest.
ENGINES=(tests/distributed tests/durable tests/durability tests/release)
ignore=()
for folder in "${ENGINES[@]}"; do ignore+=("--ignore=$folder"); done

rm -rf "$OUT" .coverage .coverage.*
mkdir -p "$OUT"
# Job control: without it bash starts background jobs with SIGINT ignored, which their children
# inherit, and the tests that press Ctrl-C in a terminal would see it do nothing. With it each
# half is a process group of its own, stopped as one below.
set -m
common=(-p no:cacheprovider --cov --cov-report= "$@")

COVERAGE_FILE=.coverage.engines "$BIN/python" -m pytest "${ENGINES[@]}" "${common[@]}" \
    --basetemp="$OUT/tmp-engines" >"$OUT/engines.log" 2>&1 &
engines=$!
COVERAGE_FILE=.coverage.library "$BIN/python" -m pytest tests "${ignore[@]}" "${common[@]}" \
    --basetemp="$OUT/tmp-library" >"$OUT/library.log" 2>&1 &
library=$!

# Stop both halves when make is interrupted.
trap 'kill -- -"$engines" -"$library" 2>/dev/null; exit 130' INT TERM
wait "$library"
library_rc=$?
wait "$engines"
engines_rc=$?
trap - INT TERM

echo "================ tests of the library (everything but the engines) ================"
cat "$OUT/library.log"
echo "================ tests of the engines (${ENGINES[*]}) ================"
cat "$OUT/engines.log"

"$BIN/python" -m coverage combine --quiet .coverage.engines .coverage.library
"$BIN/python" -m coverage report --fail-under="$FLOOR"
coverage_rc=$?

echo "library: exit $library_rc, engines: exit $engines_rc, coverage (floor $FLOOR%): exit $coverage_rc"
if [ "$library_rc" -ne 0 ] || [ "$engines_rc" -ne 0 ] || [ "$coverage_rc" -ne 0 ]; then
    exit 1
fi
