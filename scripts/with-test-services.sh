#!/usr/bin/env bash
# Runs a command (the test suite) with the real services the integration tests need, started idempotently:
#
#   PostgreSQL  a private cluster built with the machine's PostgreSQL binaries (installed from Debian's
#               packages with apt-get when missing), listening on 127.0.0.1:${PBXKIT_PG_PORT:-54329}.
#               Each run gets a fresh database; its URL is in PBXKIT_TEST_DATABASE_URL.
#
# A server that already runs is reused (so repeated runs are quick) and is never stopped by this script;
# a server this script started is stopped when the command ends (set PBXKIT_KEEP_SERVICES=1 to keep it).
# Set PBXKIT_TEST_DATABASE_URL yourself to use a server of your own instead.
set -euo pipefail

state_dir=${PBXKIT_TEST_STATE_DIR:-/var/tmp/pbxkit-test}
pg_port=${PBXKIT_PG_PORT:-54329}
started_pg=0
created_db=""

log() { printf '[test-services] %s\n' "$*" >&2; }

as_pg_owner() {
  # initdb and the server refuse to run as root: use the postgres system user when we are root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

find_pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] && command -v pg_config >/dev/null 2>&1; then dir=$(pg_config --bindir); fi
  printf '%s' "$dir"
}

install_pg() {
  if [ "$(id -u)" != 0 ]; then
    log "PostgreSQL is not installed and this user cannot install it: run 'sudo apt-get install postgresql'"
    exit 1
  fi
  log "installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
}

start_pg() {
  pg_bin=$(find_pg_bin)
  if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    install_pg
    pg_bin=$(find_pg_bin)
  fi
  if "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port"; then
    log "PostgreSQL already running on 127.0.0.1:$pg_port: reusing it"
  else
    local data="$state_dir/pg-$pg_port"
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$data" && chmod 700 "$data"
    if [ ! -s "$data/PG_VERSION" ]; then
      log "initialising a test cluster in $data"
      as_pg_owner "$pg_bin/initdb" -D "$data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    log "starting PostgreSQL on 127.0.0.1:$pg_port"
    as_pg_owner "$pg_bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start \
      -o "-p $pg_port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" >/dev/null
    started_pg=1
    pg_data=$data
  fi
  created_db="pbxkit_test_$(date +%Y%m%d%H%M%S)_$$"
  "$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "create database $created_db" >/dev/null
  export PBXKIT_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/$created_db"
  log "fresh database: $PBXKIT_TEST_DATABASE_URL"
}

cleanup() {
  if [ -n "$created_db" ] && [ "${PBXKIT_KEEP_TEST_DB:-0}" != 1 ]; then
    "$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
      -c "drop database if exists $created_db with (force)" >/dev/null 2>&1 || true
  fi
  if [ "$started_pg" = 1 ] && [ "${PBXKIT_KEEP_SERVICES:-0}" != 1 ]; then
    log "stopping the PostgreSQL this run started"
    as_pg_owner "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null || true
  fi
}

if [ -z "${PBXKIT_TEST_DATABASE_URL:-}" ]; then
  trap cleanup EXIT
  start_pg
fi

set +e
"$@"
status=$?
set -e
exit "$status"
