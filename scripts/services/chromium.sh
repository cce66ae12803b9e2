#!/usr/bin/env bash
# Chromium for the reference server's console tests: Debian's `chromium` package (headless, driven by
# playwright-core through its DevTools protocol; nothing downloads a browser), installed when missing. Nothing is
# started: each test launches its own headless browser with a profile in a temp dir.
#
# Exports PBXKIT_TEST_CHROMIUM (absolute path); set it yourself to use another build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start() {
  local path=${PBXKIT_TEST_CHROMIUM:-}
  if [ -z "$path" ]; then
    path=$(command -v chromium 2>/dev/null || true)
    if [ -z "$path" ]; then
      apt_install "Chromium (console browser tests)" chromium
      path=$(command -v chromium 2>/dev/null || true)
    fi
  fi
  if [ -z "$path" ] || [ ! -x "$path" ]; then
    log "chromium not found after installing its package"
    exit 1
  fi
  emit PBXKIT_TEST_CHROMIUM "$path"
  log "Chromium: $("$path" --version 2>/dev/null | head -n 1)"
}

# Nothing was started: the installed package stays, as with the other services.
stop() { :; }

"$1"
