#!/usr/bin/env bash
# A PostgreSQL primary and its streaming replica for the failover tests: two clusters built with the PostgreSQL
# binaries postgres.sh found or installed (PBXKIT_SVC_PG_BIN), primary on 127.0.0.1:$PBXKIT_PG_PAIR_PORT
# (default 54371), replica on $PBXKIT_PG_PAIR_REPLICA_PORT (default the port after), data in
# $PBXKIT_PG_PAIR_DIR (default $state_dir/pg-pair-<primary port>). Each failover test brings up a pair of its
# own on ports it chose (`up`) and removes it after (`down`): a test crashes the primary, so two test runs at
# once must never share a pair. Not in with-test-services.sh's list for that reason.
#
# Replication is synchronous (the primary acknowledges a commit once the replica has flushed it): with
# asynchronous replication a commit the client saw can be missing on the promoted replica, and no client can
# make up for that. Only the primary's command line names the synchronous standby, so that a promoted replica
# does not wait for a standby it does not have.
#
#   up             reuse a healthy pair (primary writable, replica streaming synchronously), else build it;
#                  prints PBXKIT_TEST_PG_PRIMARY_URL and PBXKIT_TEST_PG_REPLICA_URL (database `postgres`)
#   down           stop the pair and delete its directory
#   repair         rebuild the pair when a test left it failed over; prints nothing
#   crash-primary  stop the primary the way a crash does (`pg_ctl -m immediate`: no shutdown checkpoint)
#   promote        promote the replica (`pg_ctl promote`) and wait until it takes writes
set -euo pipefail
. "$(dirname "$0")/lib.sh"

primary_port=${PBXKIT_PG_PAIR_PORT:-54371}
replica_port=${PBXKIT_PG_PAIR_REPLICA_PORT:-$((primary_port + 1))}
dir=${PBXKIT_PG_PAIR_DIR:-$state_dir/pg-pair-$primary_port}

bin=${PBXKIT_SVC_PG_BIN:-$(find_pg_bin)}
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  apt_install PostgreSQL postgresql
  bin=$(find_pg_bin)
fi

replica_synchronous() {
  [ "$(sql "$primary_port" "select sync_state from pg_stat_replication where application_name = 'replica'")" = sync ]
}

# sql <port> <statement>: one value, unaligned, from the server on that port.
sql() { "$bin/psql" -qtAX -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2" 2>/dev/null; }

healthy() {
  [ "$(sql "$primary_port" 'select pg_is_in_recovery()')" = f ] &&
    [ "$(sql "$replica_port" 'select pg_is_in_recovery()')" = t ] &&
    replica_synchronous
}

stop_node() {
  local data=$1 mode=$2
  if [ -f "$data/postmaster.pid" ]; then
    as_pg_owner "$bin/pg_ctl" -D "$data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
  fi
}

start_node() {
  local data=$1 port=$2 extra=$3
  as_pg_owner "$bin/pg_ctl" -D "$data" -l "$dir/$(basename "$data").log" -w -t 120 start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=120 $extra" >/dev/null ||
    {
      log "PostgreSQL in $data did not start:"
      tail -n 20 "$dir/$(basename "$data").log" >&2
      exit 1
    }
}

rebuild() {
  local t0=$SECONDS
  log "building a PostgreSQL primary (:$primary_port) and streaming replica (:$replica_port) in $dir"
  stop_node "$dir/primary" immediate
  stop_node "$dir/replica" immediate
  rm -rf "$dir"
  mkdir -p "$dir"
  if is_root; then chown postgres:postgres "$dir" && chmod 700 "$dir"; fi
  as_pg_owner "$bin/initdb" -D "$dir/primary" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
  start_node "$dir/primary" "$primary_port" \
    "-c wal_level=replica -c max_wal_senders=4 -c synchronous_standby_names=replica -c synchronous_commit=on"
  as_pg_owner "$bin/pg_basebackup" -D "$dir/replica" -R -X stream --no-sync \
    -d "host=127.0.0.1 port=$primary_port user=postgres application_name=replica" >/dev/null
  start_node "$dir/replica" "$replica_port" "-c hot_standby=on"
  wait_until 120 "the replica to stream synchronously" replica_synchronous || exit 1
  log "PostgreSQL pair ready in $((SECONDS - t0)) s"
}

up() {
  if healthy; then
    log "PostgreSQL pair already running on 127.0.0.1:$primary_port/$replica_port: reusing it"
  else
    rebuild
  fi
  emit PBXKIT_TEST_PG_PRIMARY_URL "postgres://postgres@127.0.0.1:$primary_port/postgres"
  emit PBXKIT_TEST_PG_REPLICA_URL "postgres://postgres@127.0.0.1:$replica_port/postgres"
}

repair() {
  healthy || rebuild
}

down() {
  stop_node "$dir/replica" immediate
  stop_node "$dir/primary" immediate
  rm -rf "$dir"
}

crash-primary() { stop_node "$dir/primary" immediate; }

promote() {
  as_pg_owner "$bin/pg_ctl" -D "$dir/replica" -w -t 60 promote >/dev/null
}

"$1"
