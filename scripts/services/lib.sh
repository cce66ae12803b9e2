# Shared helpers of the test-service scripts (sourced, not run). Each service script answers
#   start  start the service or reuse a running one, wait until it is ready, and print `export NAME=value`
#          lines for the tests on stdout (logs go to stderr); it also exports PBXKIT_SVC_<NAME>_STARTED=1
#          when this run started the server, so that `stop` knows what it may stop.
#   stop   undo what `start` did in this run (read from those variables); a reused server keeps running.
# scripts/with-test-services.sh composes them.

state_dir=${PBXKIT_TEST_STATE_DIR:-/var/tmp/pbxkit-test}

log() { printf '[test-services] %s\n' "$*" >&2; }

# Prints one shell assignment for the composing script to eval.
emit() { printf 'export %s=%q\n' "$1" "$2"; }

is_root() { [ "$(id -u)" = 0 ]; }

# apt_install <what it is for> <package>...: installs Debian packages when running as root, else says how.
apt_install() {
  local what=$1
  shift
  if ! is_root; then
    log "$what is not installed and this user cannot install it: run 'sudo apt-get install $*'"
    exit 1
  fi
  log "installing $* from Debian's packages"
  local t0=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  # The package lists are refreshed once per machine boot at most: each service installing alone would
  # otherwise download them again.
  if [ ! -f /run/pbxkit-apt-updated ]; then
    apt-get update -qq >&2 || { log "apt-get update failed"; exit 1; }
    touch /run/pbxkit-apt-updated 2>/dev/null || true
  fi
  apt-get install -y -qq --no-install-recommends "$@" >&2 || { log "apt-get install $* failed"; exit 1; }
  log "$* installed in $((SECONDS - t0)) s"
}

# wait_until <seconds> <description> <command...>: polls the command every 0.2 s until it succeeds; returns 1
# (after logging what was awaited) when the time is up.
wait_until() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$what: not ready within $limit s"
      return 1
    fi
    sleep 0.2
  done
}

# True when something accepts TCP connections on 127.0.0.1:<port> (bash's /dev/tcp: no extra tools).
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# as_pg_owner <command...>: initdb, pg_ctl and the servers refuse to run as root: as root they run as the
# postgres system user.
as_pg_owner() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The directory of the newest installed PostgreSQL's programs, or nothing.
find_pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] && command -v pg_config >/dev/null 2>&1; then dir=$(pg_config --bindir); fi
  printf '%s' "$dir"
}
