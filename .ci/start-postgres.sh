#!/usr/bin/env bash
# Start a PostgreSQL server for openmaker's tests and print the URL to export.
#
#   eval "$(.ci/start-postgres.sh)"     # then: pytest tests/store
#
# Installs Debian's postgresql when no /usr/lib/postgresql/*/bin/initdb exists, creates a
# cluster under /tmp (data dir $OPENMAKER_PG_DATA, default /tmp/openmaker-pg/data) listening on
# 127.0.0.1:$OPENMAKER_PG_PORT (default 5433), and a user and database openmaker/openmaker
# (password openmaker). Idempotent: when the server already runs it only makes sure the user
# and database exist. Progress goes to stderr; stdout is only the export line.
set -euo pipefail

PORT="${OPENMAKER_PG_PORT:-5433}"
DATA="${OPENMAKER_PG_DATA:-/tmp/openmaker-pg/data}"
ROOT="$(dirname "$DATA")"
SOCKET_DIR="$ROOT"
USER_NAME=openmaker
PASSWORD=openmaker
DB_NAME=openmaker
URL="postgresql+psycopg2://${USER_NAME}:${PASSWORD}@127.0.0.1:${PORT}/${DB_NAME}"

log() { echo "start-postgres: $*" >&2; }

find_bindir() {
    local initdb
    initdb="$(ls -1 /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$initdb" ]]; then dirname "$initdb"; fi
}

BINDIR="$(find_bindir)"
if [[ -z "$BINDIR" ]]; then
    log "installing postgresql (apt-get)"
    SUDO=""
    if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi
    $SUDO apt-get update >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends postgresql >&2
    BINDIR="$(find_bindir)"
    if [[ -z "$BINDIR" ]]; then log "postgresql installed but initdb not found"; exit 1; fi
fi

# PostgreSQL refuses to run as root: run the server as the postgres user then.
if [[ "$(id -u)" == 0 ]]; then
    OWNER=postgres
    as_owner() { runuser -u "$OWNER" -- "$@"; }
else
    OWNER="$(id -un)"
    as_owner() { "$@"; }
fi

psql_admin() {
    as_owner "$BINDIR/psql" -h "$SOCKET_DIR" -p "$PORT" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -tA "$@"
}

if as_owner "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "server already running ($DATA)"
else
    mkdir -p "$ROOT"
    chown "$OWNER" "$ROOT"
    chmod 700 "$ROOT"
    if [[ ! -s "$DATA/PG_VERSION" ]]; then
        log "initdb $DATA"
        as_owner "$BINDIR/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C \
            --auth-local=trust --auth-host=scram-sha-256 >&2
    fi
    log "starting on 127.0.0.1:$PORT"
    as_owner "$BINDIR/pg_ctl" -D "$DATA" -l "$ROOT/server.log" -w -t 60 \
        -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$SOCKET_DIR" \
        start >&2
fi

if [[ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$USER_NAME'")" != 1 ]]; then
    log "creating user $USER_NAME"
    psql_admin -c "CREATE ROLE $USER_NAME LOGIN PASSWORD '$PASSWORD'" >/dev/null
fi
if [[ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]]; then
    log "creating database $DB_NAME"
    psql_admin -c "CREATE DATABASE $DB_NAME OWNER $USER_NAME" >/dev/null
fi

echo "export OPENMAKER_TEST_POSTGRES_URL=$URL"
