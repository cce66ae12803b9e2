#!/usr/bin/env bash
# PostgreSQL for the integration tests: a private cluster built with the machine's PostgreSQL binaries
# (installed from Debian's packages when missing) on 127.0.0.1:${PBXKIT_PG_PORT:-54329}, reused when one runs
# there. Every run gets a fresh database (PBXKIT_TEST_DATABASE_URL), dropped by `stop` unless
# PBXKIT_KEEP_TEST_DB=1. Set PBXKIT_TEST_DATABASE_URL yourself to use a server of your own.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pg_port=${PBXKIT_PG_PORT:-54329}
data="$state_dir/pg-$pg_port"

start() {
  if [ -n "${PBXKIT_TEST_DATABASE_URL:-}" ]; then
    log "PostgreSQL: using PBXKIT_TEST_DATABASE_URL as given"
    return
  fi
  local pg_bin
  pg_bin=$(find_pg_bin)
  if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    apt_install PostgreSQL postgresql
    pg_bin=$(find_pg_bin)
  fi
  emit PBXKIT_SVC_PG_BIN "$pg_bin"
  if "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port"; then
    log "PostgreSQL already running on 127.0.0.1:$pg_port: reusing it"
  else
    mkdir -p "$data"
    if is_root; then chown postgres:postgres "$data" && chmod 700 "$data"; fi
    if [ ! -s "$data/PG_VERSION" ]; then
      log "initialising a test cluster in $data"
      as_pg_owner "$pg_bin/initdb" -D "$data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    log "starting PostgreSQL on 127.0.0.1:$pg_port"
    as_pg_owner "$pg_bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start \
      -o "-p $pg_port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" >/dev/null ||
      { log "PostgreSQL did not start:"; tail -n 20 "$data/server.log" >&2; exit 1; }
    emit PBXKIT_SVC_PG_STARTED 1
  fi
  local db
  db="pbxkit_test_$(date +%Y%m%d%H%M%S)_$$"
  "$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "create database $db" >/dev/null
  emit PBXKIT_SVC_PG_DB "$db"
  emit PBXKIT_TEST_DATABASE_URL "postgres://postgres@127.0.0.1:$pg_port/$db"
  log "fresh database: postgres://postgres@127.0.0.1:$pg_port/$db"
}

stop() {
  local pg_bin=${PBXKIT_SVC_PG_BIN:-}
  [ -n "$pg_bin" ] || return 0
  if [ -n "${PBXKIT_SVC_PG_DB:-}" ] && [ "${PBXKIT_KEEP_TEST_DB:-0}" != 1 ]; then
    "$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
      -c "drop database if exists $PBXKIT_SVC_PG_DB with (force)" >/dev/null 2>&1 || true
  fi
  if [ "${PBXKIT_SVC_PG_STARTED:-0}" = 1 ] && [ "${PBXKIT_KEEP_SERVICES:-0}" != 1 ]; then
    log "stopping the PostgreSQL this run started"
    as_pg_owner "$pg_bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
  fi
}

"$1"
