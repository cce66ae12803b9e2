#!/usr/bin/env bash
# Runs a command (the test suite) with the real services the integration tests need, started idempotently:
#
#   PostgreSQL  a private cluster built with the machine's PostgreSQL binaries (installed from Debian's
#               packages with apt-get when missing), listening on 127.0.0.1:${PBXKIT_PG_PORT:-54329}.
#               Each run gets a fresh database; its URL is in PBXKIT_TEST_DATABASE_URL.
#   S3          Ceph's RADOS Gateway (radosgw) on a single-node cluster with an in-memory OSD, built with
#               Debian's ceph-mon, ceph-osd and radosgw packages (installed with apt-get when missing),
#               listening on 127.0.0.1:${PBXKIT_S3_PORT:-7480}. Its endpoint and an S3 user's keys are in
#               PBXKIT_TEST_S3_ENDPOINT, PBXKIT_TEST_S3_ACCESS_KEY and PBXKIT_TEST_S3_SECRET_KEY. Set those
#               yourself to use an S3 server of your own instead.
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

# ---- S3: Ceph RADOS Gateway with a memstore OSD ------------------------------------------------------------
s3_port=${PBXKIT_S3_PORT:-7480}
ceph_mon_port=${PBXKIT_CEPH_MON_PORT:-16789}
ceph_dir="$state_dir/ceph-$s3_port"
s3_deadline_s=${PBXKIT_S3_START_TIMEOUT:-120}
s3_uid=pbxkit-test
s3_access=PBXKITTESTACCESSKEY
s3_secret=pbxkit-test-secret-key
started_s3=0

install_ceph() {
  if [ "$(id -u)" != 0 ]; then
    log "Ceph's radosgw is not installed and this user cannot install it: run 'sudo apt-get install ceph-mon ceph-osd radosgw'"
    exit 1
  fi
  log "installing ceph-mon, ceph-osd and radosgw from Debian's packages"
  local t0=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw >&2
  log "Ceph packages installed in $((SECONDS - t0)) s"
}

# True when an HTTP server answers on the S3 port (bash's /dev/tcp: no curl needed).
s3_answers() {
  local reply
  reply=$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$s3_port && printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && head -c 12 <&3" 2>/dev/null || true)
  [[ $reply == HTTP/1.* ]]
}

ceph_cli() { timeout 20 ceph -c "$ceph_dir/ceph.conf" --connect-timeout 10 "$@"; }

s3_fail() {
  log "S3 test server did not come up: $*"
  local f
  for f in "$ceph_dir"/log/*.log; do
    [ -f "$f" ] || continue
    log "--- last lines of $f"
    tail -n 25 "$f" >&2 || true
  done
  exit 1
}

# Stops the daemons a previous run left in our state directory (only processes whose pid file is ours).
stop_ceph_daemons() {
  local f pid
  for f in "$ceph_dir"/run/client.rgw.pbxkit.pid "$ceph_dir"/run/osd.*.pid "$ceph_dir"/run/mon.a.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      case "$(ps -o comm= -p "$pid" 2>/dev/null)" in
        ceph-mon | ceph-osd | radosgw) kill "$pid" 2>/dev/null || true ;;
      esac
    fi
  done
  local i
  for i in $(seq 1 50); do
    pgrep -f -- "-c $ceph_dir/ceph.conf" >/dev/null 2>&1 || return 0
    sleep 0.2
  done
}

start_s3() {
  if ! command -v radosgw >/dev/null 2>&1 || ! command -v ceph-mon >/dev/null 2>&1 || ! command -v ceph-osd >/dev/null 2>&1; then
    install_ceph
  fi
  if s3_answers; then
    if [ ! -f "$ceph_dir/ceph.conf" ]; then
      log "something else answers HTTP on 127.0.0.1:$s3_port: set PBXKIT_S3_PORT, or PBXKIT_TEST_S3_ENDPOINT and keys"
      exit 1
    fi
    log "S3 (radosgw) already running on 127.0.0.1:$s3_port: reusing it"
  else
    local t0=$SECONDS deadline=$((SECONDS + s3_deadline_s))
    stop_ceph_daemons
    rm -rf "$ceph_dir"
    mkdir -p "$ceph_dir/run" "$ceph_dir/log" "$ceph_dir/osd.0" "$ceph_dir/rgw"
    local fsid
    fsid=$(cat /proc/sys/kernel/random/uuid)
    cat >"$ceph_dir/ceph.conf" <<CONF
[global]
fsid = $fsid
mon_initial_members = a
mon_host = v1:127.0.0.1:$ceph_mon_port
public_network = 127.0.0.0/8
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
auth_supported = none
# msgr2 with auth=none needs crc mode, otherwise radosgw fails with get_initial_auth_request -13
ms_mon_client_mode = crc
ms_client_mode = crc
ms_cluster_mode = crc
ms_service_mode = crc
ms_mon_service_mode = crc
ms_mon_cluster_mode = crc
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 1
mon_data_avail_crit = 0
run_dir = $ceph_dir/run
pid_file = $ceph_dir/run/\$name.pid
admin_socket = $ceph_dir/run/\$name.asok
log_file = $ceph_dir/log/\$name.log
keyring = $ceph_dir/keyring
osd_objectstore = memstore
memstore_device_bytes = ${PBXKIT_S3_MEMSTORE_BYTES:-2147483648}
osd_data = $ceph_dir/osd.\$id
mon_data = $ceph_dir/mon.\$id
[client.rgw.pbxkit]
rgw_frontends = beast endpoint=127.0.0.1:$s3_port
rgw_data = $ceph_dir/rgw
rgw_dns_name = 127.0.0.1
# Server-side encryption over plain HTTP on loopback, with a test KMS key (SSE-KMS key id pbxkit-test-key)
rgw_crypt_require_ssl = false
rgw_crypt_s3_kms_backend = testing
rgw_crypt_s3_kms_encryption_keys = pbxkit-test-key=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
CONF
    log "starting a single-node Ceph (mon :$ceph_mon_port, memstore OSD) and radosgw on 127.0.0.1:$s3_port"
    ceph-authtool --create-keyring "$ceph_dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    monmaptool --create --add a "v1:127.0.0.1:$ceph_mon_port" --fsid "$fsid" "$ceph_dir/monmap" >/dev/null
    ceph-mon -c "$ceph_dir/ceph.conf" --mkfs -i a --monmap "$ceph_dir/monmap" --keyring "$ceph_dir/keyring" \
      >>"$ceph_dir/log/setup.log" 2>&1 || s3_fail "ceph-mon --mkfs failed"
    ceph-mon -c "$ceph_dir/ceph.conf" -i a >>"$ceph_dir/log/setup.log" 2>&1 || s3_fail "ceph-mon did not start"
    until ceph_cli mon stat >/dev/null 2>&1; do
      [ $SECONDS -lt $deadline ] || s3_fail "the monitor did not answer within ${s3_deadline_s} s"
      sleep 0.3
    done
    ceph_cli mon enable-msgr2 >/dev/null 2>&1 || true
    local osd_id
    osd_id=$(ceph_cli osd create) || s3_fail "ceph osd create failed"
    ceph-osd -c "$ceph_dir/ceph.conf" -i "$osd_id" --mkfs >>"$ceph_dir/log/setup.log" 2>&1 || s3_fail "ceph-osd --mkfs failed"
    ceph-osd -c "$ceph_dir/ceph.conf" -i "$osd_id" >>"$ceph_dir/log/setup.log" 2>&1 || s3_fail "ceph-osd did not start"
    ceph_cli osd crush add-bucket localhost host >/dev/null 2>&1 || true
    ceph_cli osd crush move localhost root=default >/dev/null 2>&1 || true
    ceph_cli osd crush add "osd.$osd_id" 1.0 host=localhost >/dev/null 2>&1 || true
    until ceph_cli osd stat 2>/dev/null | grep -q '1 up'; do
      [ $SECONDS -lt $deadline ] || s3_fail "the OSD was not up within ${s3_deadline_s} s"
      sleep 0.3
    done
    ceph-authtool --create-keyring "$ceph_dir/rgw/keyring" --gen-key -n client.rgw.pbxkit >/dev/null
    radosgw -c "$ceph_dir/ceph.conf" -n client.rgw.pbxkit >>"$ceph_dir/log/setup.log" 2>&1 || s3_fail "radosgw did not start"
    started_s3=1
    until s3_answers; do
      [ $SECONDS -lt $deadline ] || s3_fail "radosgw did not answer on 127.0.0.1:$s3_port within ${s3_deadline_s} s"
      sleep 0.3
    done
    log "S3 (radosgw) up in $((SECONDS - t0)) s"
  fi
  if ! timeout 30 radosgw-admin -c "$ceph_dir/ceph.conf" user info --uid="$s3_uid" >/dev/null 2>&1; then
    timeout 60 radosgw-admin -c "$ceph_dir/ceph.conf" user create --uid="$s3_uid" --display-name="pbxkit tests" \
      --access-key="$s3_access" --secret="$s3_secret" >/dev/null 2>>"$ceph_dir/log/setup.log" ||
      s3_fail "radosgw-admin user create failed"
  fi
  export PBXKIT_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
  export PBXKIT_TEST_S3_ACCESS_KEY="$s3_access"
  export PBXKIT_TEST_S3_SECRET_KEY="$s3_secret"
}

cleanup_s3() {
  if [ "$started_s3" = 1 ] && [ "${PBXKIT_KEEP_SERVICES:-0}" != 1 ]; then
    log "stopping the Ceph/radosgw this run started"
    stop_ceph_daemons
  fi
}

cleanup_all() {
  cleanup
  cleanup_s3
}

trap cleanup_all EXIT
if [ -z "${PBXKIT_TEST_DATABASE_URL:-}" ]; then
  start_pg
fi
if [ -z "${PBXKIT_TEST_S3_ENDPOINT:-}" ]; then
  start_s3
fi

set +e
"$@"
status=$?
set -e
exit "$status"
