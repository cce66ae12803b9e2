#!/usr/bin/env bash
# pgpool-II (Debian's pgpool2) for the failover tests, in front of a pair from pg-pair.sh (the same
# PBXKIT_PG_PAIR_* variables), on 127.0.0.1:$PBXKIT_PGPOOL_PORT (default 54373; PCP on
# $PBXKIT_PGPOOL_PCP_PORT, default the port after), files in $PBXKIT_PGPOOL_DIR (default
# $state_dir/pgpool-<port>: config, pgpool.log, failover.log with one line per failover). Streaming-replication
# mode, every write on the primary (no load balancing). Failover is pgpool's own: a backend error or a failed
# health check (every second) detaches the primary, and the failover command promotes the replica
# (`pg_ctl promote`); pgpool then finds the new primary by itself. Runs as the postgres user, which owns the
# replica's data.
#
#   start   (with-test-services.sh) install pgpool2 when missing; prints PBXKIT_TEST_PGPOOL_BIN. Nothing is
#           started: each failover test brings up its own pair and pgpool on ports it chose (see pg-pair.sh).
#   stop    nothing to undo
#   up      reuse a pgpool that sees node 0 as primary and node 1 as standby, else (re)start it forgetting the
#           node states of an earlier failover (-D); prints PBXKIT_TEST_PGPOOL_URL (database `postgres`)
#   down    stop pgpool and delete its directory
#   repair  after pg-pair.sh repair: restart pgpool when it still sees a failed-over layout; prints nothing
set -euo pipefail
. "$(dirname "$0")/lib.sh"

port=${PBXKIT_PGPOOL_PORT:-54373}
pcp_port=${PBXKIT_PGPOOL_PCP_PORT:-$((port + 1))}
primary_port=${PBXKIT_PG_PAIR_PORT:-54371}
replica_port=${PBXKIT_PG_PAIR_REPLICA_PORT:-$((primary_port + 1))}
pair_dir=${PBXKIT_PG_PAIR_DIR:-$state_dir/pg-pair-$primary_port}
dir=${PBXKIT_PGPOOL_DIR:-$state_dir/pgpool-$port}

bin=${PBXKIT_SVC_PG_BIN:-$(find_pg_bin)}
find_pgpool() { PATH="$PATH:/usr/sbin:/sbin" command -v pgpool 2>/dev/null || true; }
pgpool_bin=${PBXKIT_TEST_PGPOOL_BIN:-$(find_pgpool)}

# The nodes as pgpool sees them: "<id>:<status>:<role>" per line.
nodes() {
  "$bin/psql" -qtAX -F: -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c 'show pool_nodes' 2>/dev/null | cut -d: -f1,4,7
}

healthy() { [ "$(nodes | tr '\n' ' ')" = "0:up:primary 1:up:standby " ]; }

# pgpool ends its pid file with a NUL byte.
pid() { tr -d '\0\n' 2>/dev/null <"$dir/pgpool.pid" || true; }

running() { [ -n "$(pid)" ] && kill -0 "$(pid)" 2>/dev/null; }

write_config() {
  mkdir -p "$dir"
  cat >"$dir/failover.sh" <<SCRIPT
#!/bin/sh
# pgpool's failover_command: <failed node> <new main node> <new main's data directory> <old primary node>.
# When the primary failed, the replica becomes the primary.
echo "\$(date -u +%H:%M:%S.%N) node \$1 failed; new main node \$2; old primary \$4" >>"$dir/failover.log"
if [ "\$1" = "\$4" ] && [ "\$2" -ge 0 ]; then
  "$bin/pg_ctl" -D "\$3" -w -t 60 promote >>"$dir/failover.log" 2>&1
fi
SCRIPT
  chmod 755 "$dir/failover.sh"
  : >"$dir/pcp.conf"
  cat >"$dir/pgpool.conf" <<CONF
backend_clustering_mode = 'streaming_replication'
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
pcp_listen_addresses = '127.0.0.1'
pcp_port = $pcp_port
pcp_socket_dir = '$dir'
pid_file_name = '$dir/pgpool.pid'
logdir = '$dir'
enable_pool_hba = off
pool_passwd = ''
num_init_children = 48
max_pool = 2
load_balance_mode = off
backend_hostname0 = '127.0.0.1'
backend_port0 = $primary_port
backend_weight0 = 1
backend_data_directory0 = '$pair_dir/primary'
backend_flag0 = 'ALLOW_TO_FAILOVER'
backend_application_name0 = 'primary'
backend_hostname1 = '127.0.0.1'
backend_port1 = $replica_port
backend_weight1 = 1
backend_data_directory1 = '$pair_dir/replica'
backend_flag1 = 'ALLOW_TO_FAILOVER'
backend_application_name1 = 'replica'
sr_check_period = 1
sr_check_user = 'postgres'
sr_check_database = 'postgres'
health_check_period = 1
health_check_timeout = 5
health_check_user = 'postgres'
health_check_database = 'postgres'
health_check_max_retries = 0
connect_timeout = 5000
failover_on_backend_error = on
failover_command = '$dir/failover.sh %d %m %R %P'
search_primary_node_timeout = 120
use_watchdog = off
CONF
  if is_root; then chown -R postgres:postgres "$dir"; fi
}

stop_pgpool() {
  running || return 0
  local pid
  pid=$(pid)
  # Only a pgpool process: the pid file may be stale after a reboot.
  if [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = pgpool ]; then kill -INT "$pid" 2>/dev/null || true; fi
  wait_until 30 "pgpool to exit" bash -c "! kill -0 $pid" || true
}

launch() {
  [ -n "$pgpool_bin" ] || { log "pgpool is not installed: run scripts/services/pgpool.sh start"; exit 1; }
  stop_pgpool
  write_config
  log "starting pgpool-II on 127.0.0.1:$port (primary :$primary_port, replica :$replica_port)"
  # -n: stay in the foreground of this background job, so its log is ours; -D: forget node states.
  as_pg_owner setsid "$pgpool_bin" -n -D -f "$dir/pgpool.conf" -F "$dir/pcp.conf" >>"$dir/pgpool.log" 2>&1 &
  wait_until 120 "pgpool-II to see the primary and the standby" healthy || {
    tail -n 20 "$dir/pgpool.log" >&2
    exit 1
  }
}

start() {
  [ -n "$pgpool_bin" ] || apt_install pgpool-II pgpool2
  pgpool_bin=$(find_pgpool)
  [ -x "$pgpool_bin" ] || { log "pgpool not found after installing its package"; exit 1; }
  emit PBXKIT_TEST_PGPOOL_BIN "$pgpool_bin"
  log "pgpool-II: $("$pgpool_bin" --version 2>&1 | head -n 1)"
}

stop() { :; }

up() {
  if healthy; then
    log "pgpool-II already running on 127.0.0.1:$port: reusing it"
  else
    launch
  fi
  emit PBXKIT_TEST_PGPOOL_URL "postgres://postgres@127.0.0.1:$port/postgres"
}

repair() { healthy || launch; }

down() {
  stop_pgpool
  rm -rf "$dir"
}

"$1"
