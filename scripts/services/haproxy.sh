#!/usr/bin/env bash
# HAProxy (Debian's haproxy) for the tests that put receivers behind one address, installed when missing.
# Nothing is started: each test runs its own haproxy in the foreground with a config naming the backends it
# started on ports chosen at run time. The package's system service is not started (policy-rc.d, no init).
#
# Exports PBXKIT_TEST_HAPROXY (absolute path); set it yourself to use another build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

find_haproxy() { PATH="$PATH:/usr/sbin:/sbin" command -v haproxy 2>/dev/null || true; }

start() {
  local path=${PBXKIT_TEST_HAPROXY:-$(find_haproxy)}
  if [ -z "$path" ]; then
    apt_install HAProxy haproxy
    path=$(find_haproxy)
  fi
  [ -x "$path" ] || { log "haproxy not found after installing its package"; exit 1; }
  emit PBXKIT_TEST_HAPROXY "$path"
  log "HAProxy: $("$path" -v | head -n 1)"
}

stop() { :; }

"$1"
