#!/usr/bin/env bash
# Runs a command with another Node.js major version first on PATH, for that command only:
#
#   bash scripts/with-node.sh 24 npx -y pnpm@10.34.9 test
#
# The Node binary comes from the npm registry (the `node@<major>` package installs the official binary for
# this platform) into .cache/node/<major> inside the checkout, reused by later runs. pnpm, Vitest and the
# servers the tests start are all `#!/usr/bin/env node` programs, so they run on that Node.
set -euo pipefail
major=${1:?usage: with-node.sh <major> <command...>}
shift
case "$major" in *[!0-9]* | '') echo "with-node.sh: '$major' is not a Node.js major version" >&2; exit 2 ;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
prefix="$root/.cache/node/$major"
bin="$prefix/node_modules/node/bin"

# The machine's own Node.js when it is of that line already.
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "$major" ]; then
  bin=$(dirname "$(command -v node)")
elif ! "$bin/node" --version >/dev/null 2>&1; then
  echo "[with-node] installing Node.js $major from the npm registry into $prefix" >&2
  rm -rf "$prefix" && mkdir -p "$prefix"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$prefix" "node@$major" >&2
fi
version=$("$bin/node" --version)
case "$version" in
  "v$major".*) ;;
  *) echo "with-node.sh: $bin/node is $version, not Node.js $major" >&2; exit 1 ;;
esac
echo "[with-node] running on Node.js $version: $*" >&2
PATH="$bin:$PATH" exec "$@"
