#!/usr/bin/env bash
# HubSpot's Node SDK (@hubspot/api-client, pinned in package.json) against a throw-away hubport.
#
#   HUBPORT_BIN          hubport binary (default <repo>/target/debug/hubport)
#   HUBPORT_CLIENTS_DIR  where client tooling is installed (default <repo>/target/clients, git-ignored)
#
# Installs the SDK into $HUBPORT_CLIENTS_DIR/node (no lock file, exact versions), then runs every
# *.test.mjs here with node's built-in test runner and exits with its status.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
export HUBPORT_CLIENTS_DIR="${HUBPORT_CLIENTS_DIR:-$REPO/target/clients}"
export HUBPORT_BIN="${HUBPORT_BIN:-$REPO/target/debug/hubport}"
DEST="$HUBPORT_CLIENTS_DIR/node"

command -v node >/dev/null || { echo "node is required (Node.js >= 18)" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }
[ -x "$HUBPORT_BIN" ] || { echo "hubport binary not found at $HUBPORT_BIN (cargo build, or set HUBPORT_BIN)" >&2; exit 1; }

mkdir -p "$DEST"
# Reinstall only when package.json changed.
if ! cmp -s "$HERE/package.json" "$DEST/package.json" || [ ! -d "$DEST/node_modules/@hubspot/api-client" ]; then
  cp "$HERE/package.json" "$DEST/package.json"
  echo "== installing $(node -p "Object.entries(require('$DEST/package.json').dependencies).map(([k,v])=>k+'@'+v).join(' ')") into $DEST"
  (cd "$DEST" && npm install --no-package-lock --no-audit --no-fund --loglevel=error </dev/null)
fi
echo "== node $(node --version), @hubspot/api-client $(node -p "require('$DEST/node_modules/@hubspot/api-client/package.json').version"), hubport $HUBPORT_BIN"

cd "$HERE"
set +e
node --test --test-reporter=spec ./*.test.mjs </dev/null
rc=$?
set -e
echo "== node client conformance: exit $rc"
exit $rc
