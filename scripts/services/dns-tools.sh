#!/usr/bin/env bash
# DNS tools for the DNS responder's tests and benchmark: `dig` (Debian's bind9-dnsutils), `dnsperf` and the
# `dnsmasq` binary, installed from Debian's packages when missing. Nothing is started: the tests run their own
# responder and the benchmark its own dnsmasq, on loopback ports, with configs in temp dirs.
#
# dnsmasq comes from `dnsmasq-base`, the package holding the same binary as `dnsmasq` without its system
# service: installing `dnsmasq` itself would start a machine-wide resolver on port 53 (and register it with
# resolvconf where that is installed), which a test run must never do.
#
# Exports PBXKIT_TEST_DIG, PBXKIT_TEST_DNSPERF and PBXKIT_TEST_DNSMASQ (absolute paths); set them yourself
# to use other builds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# find_tool <name>: the tool's absolute path, also where a non-root PATH lacks the sbin directories.
find_tool() {
  local path
  path=$(PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin" command -v "$1" 2>/dev/null || true)
  printf '%s' "$path"
}

start() {
  local missing=()
  [ -n "${PBXKIT_TEST_DIG:-}" ] || [ -n "$(find_tool dig)" ] || missing+=(bind9-dnsutils)
  [ -n "${PBXKIT_TEST_DNSPERF:-}" ] || [ -n "$(find_tool dnsperf)" ] || missing+=(dnsperf)
  [ -n "${PBXKIT_TEST_DNSMASQ:-}" ] || [ -n "$(find_tool dnsmasq)" ] || missing+=(dnsmasq-base)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "DNS tools (dig, dnsperf, dnsmasq)" "${missing[@]}"; fi
  local name var path
  for name in dig dnsperf dnsmasq; do
    var="PBXKIT_TEST_${name^^}"
    path=${!var:-$(find_tool "$name")}
    if [ -z "$path" ] || [ ! -x "$path" ]; then
      log "$name not found after installing its package"
      exit 1
    fi
    emit "$var" "$path"
  done
  log "DNS tools: $("${PBXKIT_TEST_DIG:-$(find_tool dig)}" -v 2>&1 | head -n 1)"
}

# Nothing was started: installed packages stay, as with the other services.
stop() { :; }

"$1"
