#!/usr/bin/env bash
# The `git` command-line tool for the configuration pipeline's tests (GitSource, HybridPublisher): real
# repositories in temp dirs, no server. Installed from Debian's package when missing; nothing is started.
#
# Exports PBXKIT_TEST_GIT (absolute path); set it yourself to use another build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start() {
  if [ -z "${PBXKIT_TEST_GIT:-}" ] && ! command -v git >/dev/null 2>&1; then apt_install "git" git; fi
  local path=${PBXKIT_TEST_GIT:-$(command -v git)}
  if [ -z "$path" ] || [ ! -x "$path" ]; then
    log "git not found after installing its package"
    exit 1
  fi
  emit PBXKIT_TEST_GIT "$path"
  log "git: $("$path" --version)"
}

# Nothing was started: the installed package stays, as with the other services.
stop() { :; }

"$1"
