#!/usr/bin/env bash
# Start the services the test suite needs: a throwaway PostgreSQL on 127.0.0.1.
#
# Idempotent and fast when the server already runs. On a fresh Debian/Ubuntu machine (CI, root,
# no stdin) it installs PostgreSQL with apt-get first. The tests connect to
# $TETHER_TEST_POSTGRES_URL, or to the URL below, and fail loudly when it cannot be reached.
# Set TETHER_TEST_POSTGRES_URL to use a server of your own; this script then does nothing.
set -euo pipefail

PORT="${TETHER_PG_PORT:-54329}"
ROOT="${TETHER_PG_DIR:-/tmp/tether-pg}"
DATA="$ROOT/data"
URL="postgresql://tether:tether@127.0.0.1:$PORT/tether_test"

log() { echo "services: $*" >&2; }
# Then the second server, with pgvector, for the vector-memory tests (its exit code is ours).
pgvector() { exec bash "$(dirname "${BASH_SOURCE[0]}")/pgvector.sh"; }

if [ -n "${TETHER_TEST_POSTGRES_URL:-}" ]; then
    log "using TETHER_TEST_POSTGRES_URL; not starting a server"
    pgvector
fi

pg_bin() {
    # Newest installed PostgreSQL's bin directory (Debian puts them under /usr/lib/postgresql).
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

ready() {
    [ -n "$BIN" ] && "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d tether_test -U tether 2>/dev/null \
        && PGPASSWORD=tether "$BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U tether -d tether_test \
            -Atc 'select 1' >/dev/null 2>&1
}

BIN="$(pg_bin)"
if ready; then
    pgvector  # fast path: already running
fi

mkdir -p "$ROOT"
exec 9>"$ROOT.lock"
flock 9  # several `make test` at once must not race to create the cluster
BIN="$(pg_bin)"
if ready; then
    pgvector
fi

if [ -z "$BIN" ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        log "PostgreSQL is not installed and apt-get is not available: install PostgreSQL" \
            "or set TETHER_TEST_POSTGRES_URL"
        exit 1
    fi
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
    log "installing PostgreSQL with apt-get (once)"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends postgresql postgresql-client </dev/null >/dev/null
    BIN="$(pg_bin)"
    if [ -z "$BIN" ]; then
        log "apt-get installed PostgreSQL but no initdb was found"
        exit 1
    fi
fi

# The server refuses to run as root: run it as the postgres user when we are root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown -R postgres "$ROOT"
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

if [ ! -f "$DATA/PG_VERSION" ]; then
    log "creating a throwaway cluster in $DATA (port $PORT)"
    rm -rf "$DATA"
    mkdir -p "$DATA"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --no-sync >/dev/null
fi

# fsync off: a throwaway test cluster; the tests kill clients, never this server.
as_owner "$BIN/pg_ctl" -D "$DATA" -l "$ROOT/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $ROOT -c fsync=off -c max_connections=200" \
    >/dev/null || {
    log "PostgreSQL did not start; its log says:"
    tail -n 20 "$ROOT/server.log" >&2 || true
    exit 1
}

psql_admin() { "$BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -Atc "$1"; }
if [ -z "$(psql_admin "select 1 from pg_roles where rolname = 'tether'")" ]; then
    psql_admin "create role tether login password 'tether' createdb" >/dev/null
fi
if [ -z "$(psql_admin "select 1 from pg_database where datname = 'tether_test'")" ]; then
    psql_admin "create database tether_test owner tether" >/dev/null
fi

if ! ready; then
    log "PostgreSQL runs but $URL is not reachable"
    exit 1
fi
log "PostgreSQL ready at $URL"
pgvector
