#!/usr/bin/env bash
# Start the PostgreSQL with pgvector that the vector-memory tests use (run by services.sh).
#
# Debian's PostgreSQL has no pgvector package, so this server runs from the binaries of the
# `pgserver` wheel (a PostgreSQL 16 build with the pgvector extension), which the dev extra
# installs into .venv. It is a second throwaway cluster beside the main test server, so the
# suite's other tests keep the system PostgreSQL, and the memory tests see both a database with
# pgvector and one without (the exact-scan fallback). Idempotent and fast when already running.
# Set TETHER_TEST_PGVECTOR_URL to use a pgvector server of your own; this script then does nothing.
set -euo pipefail

PORT="${TETHER_PGVECTOR_PORT:-54330}"
ROOT="${TETHER_PGVECTOR_DIR:-/tmp/tether-pgvector}"
DATA="$ROOT/data"
URL="postgresql://tether:tether@127.0.0.1:$PORT/tether_test"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${TETHER_PYTHON:-$REPO/.venv/bin/python}"

log() { echo "pgvector: $*" >&2; }

if [ -n "${TETHER_TEST_PGVECTOR_URL:-}" ]; then
    exit 0
fi

# The server runs from a copy of pgserver's files, so reinstalling the venv never pulls them from
# under it (and a running server needs no venv).
# The copy keeps the wheel's layout: the binaries find the wheel's libraries by a relative path.
COPY="$ROOT/pgserver/pginstall"
BIN="$COPY/bin"

ready() {
    [ -x "$BIN/psql" ] && PGPASSWORD=tether "$BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U tether \
        -d tether_test -Atc "select 1 from pg_extension where extname = 'vector'" 2>/dev/null \
        | grep -q 1
}

if ready; then
    exit 0
fi

mkdir -p "$ROOT"
exec 8>"$ROOT.lock"
flock 8
if ready; then
    exit 0
fi

if [ ! -x "$BIN/postgres" ]; then
    # pgserver's files, found without importing it (its import does work we do not need).
    INSTALL="$("$PY" -c 'import importlib.util as u, os
s = u.find_spec("pgserver")
print(os.path.join(os.path.dirname(s.origin), "pginstall") if s and s.origin else "")' \
        2>/dev/null || true)"
    if [ -z "$INSTALL" ] || [ ! -x "$INSTALL/bin/postgres" ]; then
        log "the pgserver package (PostgreSQL with pgvector) is not installed in $PY: run" \
            "\`make install\` (it is in the dev extra) or set TETHER_TEST_PGVECTOR_URL"
        exit 1
    fi
    rm -rf "$ROOT/pgserver" "$ROOT/pgserver.libs"
    mkdir -p "$ROOT/pgserver"
    if [ -d "$(dirname "$(dirname "$INSTALL")")/pgserver.libs" ]; then
        cp -a "$(dirname "$(dirname "$INSTALL")")/pgserver.libs" "$ROOT/pgserver.libs"
    fi
    cp -a "$INSTALL" "$COPY.tmp"
    mv "$COPY.tmp" "$COPY"  # last: a copy cut short is never taken for a whole one
fi

as_owner() {  # the server refuses to run as root
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown -R postgres "$ROOT"
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

if [ ! -f "$DATA/PG_VERSION" ]; then
    log "creating a throwaway cluster with pgvector in $DATA (port $PORT)"
    rm -rf "$DATA"
    mkdir -p "$DATA"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --no-sync >/dev/null
fi

if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$ROOT/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $ROOT -c fsync=off -c max_connections=100" \
        >/dev/null || {
        log "PostgreSQL (pgserver) did not start; its log says:"
        tail -n 20 "$ROOT/server.log" >&2 || true
        exit 1
    }
fi

admin() { PGOPTIONS="-c client_min_messages=warning" "$BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -d "$1" -Atc "$2"; }
if [ -z "$(admin postgres "select 1 from pg_roles where rolname = 'tether'")" ]; then
    admin postgres "create role tether login password 'tether' createdb" >/dev/null
fi
if [ -z "$(admin postgres "select 1 from pg_database where datname = 'tether_test'")" ]; then
    admin postgres "create database tether_test owner tether" >/dev/null
fi
# pgvector is not a trusted extension: the superuser creates it; the tether role uses it.
admin tether_test "create extension if not exists vector" >/dev/null

if ! ready; then
    log "PostgreSQL with pgvector runs but $URL is not reachable"
    exit 1
fi
log "PostgreSQL with pgvector ready at $URL"
