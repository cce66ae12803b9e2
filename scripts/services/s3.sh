#!/usr/bin/env bash
# S3 for the integration tests: Ceph's RADOS Gateway (radosgw) on a single-node cluster with an in-memory
# (memstore) OSD, from Debian's ceph-mon, ceph-osd and radosgw packages (installed when missing), on
# 127.0.0.1:${PBXKIT_S3_PORT:-7480}, reused when it already runs there. Exports PBXKIT_TEST_S3_ENDPOINT,
# PBXKIT_TEST_S3_ACCESS_KEY and PBXKIT_TEST_S3_SECRET_KEY; set those yourself to use an S3 server of your own.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

s3_port=${PBXKIT_S3_PORT:-7480}
mon_port=${PBXKIT_CEPH_MON_PORT:-16789}
dir="$state_dir/ceph-$s3_port"
limit_s=${PBXKIT_S3_START_TIMEOUT:-120}
osd_attempts=3
s3_uid=pbxkit-test
s3_access=PBXKITTESTACCESSKEY
s3_secret=pbxkit-test-secret-key
started=0

# True when an HTTP server answers on the S3 port.
s3_answers() {
  local reply
  reply=$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$s3_port && printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && head -c 12 <&3" 2>/dev/null || true)
  [[ $reply == HTTP/1.* ]]
}

ceph_cli() { timeout 20 ceph -c "$dir/ceph.conf" --connect-timeout 10 "$@"; }
osd_up() { ceph_cli osd stat 2>/dev/null | grep -q '1 up'; }

# The last error-level line a daemon logged, without its timestamp and thread: the cause in one line.
last_error() {
  local f="$dir/log/$1.log"
  [ -f "$f" ] || { printf 'no log at %s' "$f"; return; }
  grep -E '^[0-9T:.+-]+ [0-9a-f]+ -1 ' "$f" | tail -n 1 | cut -d' ' -f4- || true
}

# Stops the daemons this state directory's pid files name (only processes that are ceph daemons).
stop_daemons() {
  local f pid
  for f in "$dir"/run/client.rgw.pbxkit.pid "$dir"/run/osd.*.pid "$dir"/run/mon.a.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      case "$(ps -o comm= -p "$pid" 2>/dev/null)" in
        ceph-mon | ceph-osd | radosgw) kill "$pid" 2>/dev/null || true ;;
      esac
    fi
  done
  wait_until 15 "ceph daemons to exit" daemons_gone || true
}

# The [.] keeps pgrep's pattern from matching the command line of whoever runs it.
daemons_gone() { ! pgrep -f -- "-c $dir/ceph[.]conf" >/dev/null; }

# fail <cause in one line>: says why first, then the log tails, stops what this attempt started, exits.
fail() {
  log "S3 test server did not come up: $*"
  local f
  for f in "$dir"/log/*.log; do
    [ -f "$f" ] || continue
    log "--- last lines of $f"
    tail -n 25 "$f" >&2 || true
  done
  if [ "$started" = 1 ]; then stop_daemons; fi
  exit 1
}

write_conf() {
  local fsid=$1
  cat >"$dir/ceph.conf" <<CONF
[global]
fsid = $fsid
mon_initial_members = a
mon_host = [v2:127.0.0.1:$((mon_port + 1)),v1:127.0.0.1:$mon_port]
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
run_dir = $dir/run
pid_file = $dir/run/\$name.pid
admin_socket = $dir/run/\$name.asok
log_file = $dir/log/\$name.log
keyring = $dir/keyring
osd_objectstore = memstore
memstore_device_bytes = ${PBXKIT_S3_MEMSTORE_BYTES:-2147483648}
osd_data = $dir/osd.\$id
mon_data = $dir/mon.\$id
[client.rgw.pbxkit]
rgw_frontends = beast endpoint=127.0.0.1:$s3_port
rgw_data = $dir/rgw
rgw_dns_name = 127.0.0.1
# Server-side encryption over plain HTTP on loopback, with a test KMS key (SSE-KMS key id pbxkit-test-key)
rgw_crypt_require_ssl = false
rgw_crypt_s3_kms_backend = testing
rgw_crypt_s3_kms_encryption_keys = pbxkit-test-key=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
CONF
}

# Starts the OSD daemon, again when it exits during its start-up (up to $osd_attempts times): the retry backs
# up the fix below, it does not replace it.
#
# Why --no-mon-config: without it the OSD first fetches its configuration from the monitor with a bootstrap
# client, and Ceph keeps the monitor addresses that client found in the process. The OSD's own monitor client
# then builds its first monmap from those addresses alone, with a zero cluster fsid (the fsid of ceph.conf is
# read only on the other path). Its first command, `osd crush set-device-class`, sent right after
# authentication, carries that fsid unless the monitor's monmap arrived first: the monitor refuses it with
# 'wrong fsid' and the OSD gives up. Our configuration is all in ceph.conf, so the fetch is not needed.
start_osd() {
  local id=$1 attempt
  for attempt in $(seq 1 "$osd_attempts"); do
    if ceph-osd -c "$dir/ceph.conf" --no-mon-config -i "$id" >>"$dir/log/setup.log" 2>&1; then
      return 0
    fi
    log "ceph-osd exited during start-up (attempt $attempt of $osd_attempts): $(last_error "osd.$id")"
  done
  fail "ceph-osd did not start: $(last_error "osd.$id")"
}

create_user() {
  timeout 30 radosgw-admin -c "$dir/ceph.conf" user create --uid="$s3_uid" --display-name="pbxkit tests" \
    --access-key="$s3_access" --secret="$s3_secret" >/dev/null 2>>"$dir/log/setup.log"
}

start() {
  if [ -n "${PBXKIT_TEST_S3_ENDPOINT:-}" ]; then
    log "S3: using PBXKIT_TEST_S3_ENDPOINT as given"
    return
  fi
  if ! command -v radosgw >/dev/null 2>&1 || ! command -v ceph-mon >/dev/null 2>&1 ||
    ! command -v ceph-osd >/dev/null 2>&1; then
    apt_install "Ceph's radosgw" ceph-mon ceph-osd radosgw
  fi
  if s3_answers; then
    if [ ! -f "$dir/ceph.conf" ]; then
      log "something else answers HTTP on 127.0.0.1:$s3_port: set PBXKIT_S3_PORT, or PBXKIT_TEST_S3_ENDPOINT and keys"
      exit 1
    fi
    log "S3 (radosgw) already running on 127.0.0.1:$s3_port: reusing it"
  else
    local t0=$SECONDS fsid
    stop_daemons
    rm -rf "$dir"
    started=1
    mkdir -p "$dir/run" "$dir/log" "$dir/osd.0" "$dir/rgw"
    fsid=$(cat /proc/sys/kernel/random/uuid)
    write_conf "$fsid"
    log "starting a single-node Ceph (mon :$mon_port, memstore OSD) and radosgw on 127.0.0.1:$s3_port"
    ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    # Both messenger addresses in the first monmap, so no `mon enable-msgr2` command is needed later.
    monmaptool --create --addv a "[v2:127.0.0.1:$((mon_port + 1)),v1:127.0.0.1:$mon_port]" --fsid "$fsid" \
      "$dir/monmap" >/dev/null
    ceph-mon -c "$dir/ceph.conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" \
      >>"$dir/log/setup.log" 2>&1 || fail "ceph-mon --mkfs failed: $(last_error mon.a)"
    ceph-mon -c "$dir/ceph.conf" -i a >>"$dir/log/setup.log" 2>&1 || fail "ceph-mon did not start: $(last_error mon.a)"
    wait_until "$limit_s" "the Ceph monitor" ceph_cli mon stat || fail "the monitor did not answer: $(last_error mon.a)"
    # The ceph CLI (librados) has the same zero-fsid first monmap as the OSD and cannot be told otherwise, so
    # a one-shot command can be refused with 'wrong fsid'. `osd create <uuid>` is idempotent for one uuid:
    # it is repeated until the monitor accepts it, and the OSD is made with that uuid.
    local osd_uuid osd_id
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    local deadline=$((SECONDS + 30))
    until osd_id=$(ceph_cli osd create "$osd_uuid" 2>>"$dir/log/setup.log"); do
      [ "$SECONDS" -lt "$deadline" ] || fail "ceph osd create failed: $(tail -n 1 "$dir/log/setup.log")"
      sleep 0.2
    done
    ceph-osd -c "$dir/ceph.conf" --no-mon-config -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" \
      >>"$dir/log/setup.log" 2>&1 || fail "ceph-osd --mkfs failed: $(last_error "osd.$osd_id")"
    # The OSD places itself in the CRUSH map when it boots (osd_crush_update_on_start).
    start_osd "$osd_id"
    wait_until "$limit_s" "the OSD to be up" osd_up || fail "the OSD was not up: $(last_error "osd.$osd_id")"
    ceph-authtool --create-keyring "$dir/rgw/keyring" --gen-key -n client.rgw.pbxkit >/dev/null
    radosgw -c "$dir/ceph.conf" -n client.rgw.pbxkit >>"$dir/log/setup.log" 2>&1 ||
      fail "radosgw did not start: $(last_error client.rgw.pbxkit)"
    emit PBXKIT_SVC_S3_STARTED 1
    wait_until "$limit_s" "radosgw on 127.0.0.1:$s3_port" s3_answers ||
      fail "radosgw did not answer on 127.0.0.1:$s3_port: $(last_error client.rgw.pbxkit)"
    log "S3 (radosgw) up in $((SECONDS - t0)) s"
  fi
  # radosgw-admin is a librados client too (see `osd create` above): creating the same user again is
  # harmless, so a refused attempt is repeated.
  if ! timeout 30 radosgw-admin -c "$dir/ceph.conf" user info --uid="$s3_uid" >/dev/null 2>&1; then
    wait_until 60 "radosgw-admin to create the test user" create_user ||
      fail "radosgw-admin user create failed: $(tail -n 1 "$dir/log/setup.log")"
  fi
  emit PBXKIT_TEST_S3_ENDPOINT "http://127.0.0.1:$s3_port"
  emit PBXKIT_TEST_S3_ACCESS_KEY "$s3_access"
  emit PBXKIT_TEST_S3_SECRET_KEY "$s3_secret"
}

stop() {
  if [ "${PBXKIT_SVC_S3_STARTED:-0}" = 1 ] && [ "${PBXKIT_KEEP_SERVICES:-0}" != 1 ]; then
    log "stopping the Ceph/radosgw this run started"
    stop_daemons
  fi
}

"$1"
