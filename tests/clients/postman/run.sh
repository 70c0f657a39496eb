#!/usr/bin/env bash
# Postman conformance: newman (pinned in package.json) runs
#   1. examples/hubport.postman_collection.json, the whole imports workflow with pm.test assertions;
#   2. HubSpot's own "CRM - Imports API Collection" as-is (../shared/reference/hubspot/postman/),
#      checked by hubspot_collection.cjs: every request answers 2xx, or 4xx with HubSpot's JSON
#      error body; never 5xx.
# against a throw-away hubport (fresh SQLite db, free port).
#
#   HUBPORT_BIN          hubport binary (default <repo>/target/debug/hubport)
#   HUBPORT_CLIENTS_DIR  where newman is installed (default <repo>/target/clients, git-ignored)
#   HUBSPOT_POSTMAN_COLLECTION  HubSpot's collection (default <repo>/../shared/reference/hubspot/postman/CRM - Imports API Collection.json)
#   HUBPORT_KEEP_LOGS=1  keep the server log and newman reports
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
export HUBPORT_CLIENTS_DIR="${HUBPORT_CLIENTS_DIR:-$REPO/target/clients}"
DEST="$HUBPORT_CLIENTS_DIR/postman"
HUBSPOT_COLLECTION="${HUBSPOT_POSTMAN_COLLECTION:-$REPO/../shared/reference/hubspot/postman/CRM - Imports API Collection.json}"

command -v node >/dev/null || { echo "node is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }
[ -f "$HUBSPOT_COLLECTION" ] || { echo "HubSpot's collection not found at $HUBSPOT_COLLECTION" >&2; exit 1; }

mkdir -p "$DEST"
if ! cmp -s "$HERE/package.json" "$DEST/package.json" || [ ! -x "$DEST/node_modules/.bin/newman" ]; then
  cp "$HERE/package.json" "$DEST/package.json"
  echo "== installing newman into $DEST"
  (cd "$DEST" && npm install --no-package-lock --no-audit --no-fund --loglevel=error </dev/null)
fi
NEWMAN="$DEST/node_modules/.bin/newman"
echo "== node $(node --version), newman $("$NEWMAN" --version)"

# shellcheck source=../hubport-server.sh
. "$HERE/../hubport-server.sh"
hubport_start "$REPO" postman

echo
echo "== 1/2 examples/hubport.postman_collection.json"
set +e
"$NEWMAN" run "$REPO/examples/hubport.postman_collection.json" \
  -e "$REPO/examples/hubport.postman_environment.json" \
  --env-var "baseUrl=$HUBPORT_URL" --env-var "token=$HUBPORT_TOKEN" \
  --working-dir "$REPO/examples" \
  --timeout-request 30000 --timeout 300000 \
  --reporters cli,json --reporter-json-export "$HUBPORT_TMP/hubport-collection.json" \
  --color off </dev/null
rc1=$?

echo "== 2/2 HubSpot's CRM - Imports API Collection, as-is"
node "$HERE/hubspot_collection.cjs" "$HUBSPOT_COLLECTION" "$HUBPORT_URL" "$HUBPORT_TOKEN" "$HUBPORT_TMP/hubspot-collection.json" </dev/null
rc2=$?
set -e

# Summary: assertions of our collection + request checks of HubSpot's.
node -e '
const fs = require("fs");
const [ours, theirs] = process.argv.slice(1);
const rc1 = Number(process.argv[3]), rc2 = Number(process.argv[4]);
let a = { total: 0, failed: 0 }, reqs = 0;
try { const s = JSON.parse(fs.readFileSync(ours, "utf8")).run.stats; a = s.assertions; reqs = s.requests.total; } catch {}
let rows = [];
try { rows = JSON.parse(fs.readFileSync(theirs, "utf8")); } catch {}
const hf = rows.filter(r => r.problems.length).length;
console.log("");
console.log(`== summary`);
console.log(`hubport collection: ${reqs} requests, ${a.total} assertions, ${a.failed} failed (newman exit ${rc1})`);
console.log(`HubSpot collection: ${rows.length} requests, ${hf} failed (exit ${rc2})`);
const passed = (a.total - a.failed) + (rows.length - hf), failed = a.failed + hf + (rc1 && !a.failed ? 1 : 0) + (rc2 && !hf ? 1 : 0);
console.log(`postman: ${passed} passed, ${failed} failed`);
' "$HUBPORT_TMP/hubport-collection.json" "$HUBPORT_TMP/hubspot-collection.json" "$rc1" "$rc2"

if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ]; then
  echo "== last lines of the server log:"
  tail -n 10 "$HUBPORT_TMP/server.log" || true
  exit 1
fi
