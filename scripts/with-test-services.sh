#!/usr/bin/env bash
# Runs a command (the test suite) with the real services the integration tests need. Each service has its own
# script in scripts/services/ (start or reuse, wait until ready, stop only what it started); this one starts
# them in order, exports what they print, runs the command and stops them again, whatever the command did.
#
#   postgres.sh  PostgreSQL on 127.0.0.1:54329, a fresh database per run  PBXKIT_TEST_DATABASE_URL
#   s3.sh        Ceph radosgw (memstore OSD) on 127.0.0.1:7480             PBXKIT_TEST_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY
#   dns-tools.sh dig, dnsperf, dnsmasq (installed, nothing started)      PBXKIT_TEST_DIG, _DNSPERF, _DNSMASQ
#   pgpool.sh    pgpool2 (installed, nothing started)                   PBXKIT_TEST_PGPOOL_BIN
#   haproxy.sh   haproxy (installed, nothing started)                   PBXKIT_TEST_HAPROXY
#   git.sh       the git CLI (installed, nothing started)                 PBXKIT_TEST_GIT
#   chromium.sh  Debian's headless Chromium (installed, nothing started)  PBXKIT_TEST_CHROMIUM
#
# The failover tests bring up their own PostgreSQL primary + replica (pg-pair.sh up) and pgpool-II
# (pgpool.sh up) on ports they choose, since they crash the primary: two runs at once must not share them.
#
# A server that already runs is reused and never stopped; PBXKIT_KEEP_SERVICES=1 keeps the ones this run
# started (quicker reruns). Setting a service's variables yourself points the tests at a server of your own.
set -euo pipefail
services_dir="$(cd "$(dirname "$0")" && pwd)/services"
services=(postgres s3 dns-tools pgpool haproxy git chromium)
started=()

stop_services() {
  local i
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    bash "$services_dir/${started[i]}.sh" stop || true
  done
}
trap stop_services EXIT

for service in "${services[@]}"; do
  exports=$(bash "$services_dir/$service.sh" start) || exit 1
  eval "$exports"
  started+=("$service")
done

set +e
"$@"
status=$?
set -e
exit "$status"
