#!/usr/bin/env bash
# schemathesis (pinned in requirements.txt) fuzzes every operation of hubport's own OpenAPI
# document, served at GET /openapi.json, against a throw-away hubport (fresh SQLite db).
#
# Checks (all must pass):
#   not_a_server_error           no 5xx, whatever the input
#   status_code_conformance      every status answered is documented for the operation
#   content_type_conformance     the Content-Type answered is the documented one
#   response_schema_conformance  the body matches the documented schema for its status
# Bounded: --max-examples per operation (HUBPORT_SCHEMATHESIS_MAX_EXAMPLES, default 25) and a hard
# wall-clock limit (HUBPORT_SCHEMATHESIS_TIMEOUT seconds, default 900).
#
# POST /crm/v3/imports (multipart): schemathesis generates the importRequest text and the files
# as arbitrary strings/bytes, so nearly every generated upload is invalid and answers 400; that
# is accepted (400 is documented with the Error schema), and the checks above still apply to it.
# hooks.py turns about half of the generated uploads into valid ones (a small CSV and an
# importRequest mapping it), so the 200 answer and the stateful links from it are fuzzed too.
# schemathesis.toml binds path parameters to values that exist (object types, import 1, contact
# emails, property names) most of the time, so requests get past the 400/404 at the door.
# (Don't add negative_data_rejection: hooks.py makes some "negative" uploads valid on purpose.)
#
#   HUBPORT_BIN           hubport binary (default <repo>/target/debug/hubport)
#   HUBPORT_CLIENTS_VENV  the Python venv (default <repo>/target/clients/schemathesis-venv, git-ignored)
#   HUBPORT_KEEP_LOGS=1   keep the server log and schemathesis reports
#   extra arguments are passed to `schemathesis run` (e.g. --seed 7, --include-path-regex objects)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
VENV="${HUBPORT_CLIENTS_VENV:-$REPO/target/clients/schemathesis-venv}"
MAX_EXAMPLES="${HUBPORT_SCHEMATHESIS_MAX_EXAMPLES:-25}"
TIME_LIMIT="${HUBPORT_SCHEMATHESIS_TIMEOUT:-900}"

command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
command -v node >/dev/null || { echo "node is required (free-port helper)" >&2; exit 1; }

want="$(grep -v '^#' "$HERE/requirements.txt" | grep -m1 '^schemathesis==')"
if [ ! -x "$VENV/bin/schemathesis" ] || [ "$("$VENV/bin/pip" freeze 2>/dev/null | grep -i '^schemathesis==')" != "$want" ]; then
  echo "== creating $VENV with $want"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" </dev/null
fi
echo "== $("$VENV/bin/schemathesis" --version)"

# shellcheck source=../hubport-server.sh
. "$HERE/../hubport-server.sh"
# fuzzing sends far more than HubSpot's 190 calls per 10 s: lift the limits for this server
export HUBPORT_RATE_LIMIT_PER_10S="${HUBPORT_RATE_LIMIT_PER_10S:-1000000}"
export HUBPORT_RATE_LIMIT_PER_DAY="${HUBPORT_RATE_LIMIT_PER_DAY:-100000000}"
hubport_start "$REPO" schemathesis

# Give the fuzzer something to read: the guide sample import (contacts, one row error).
curl -fsS -o /dev/null -H "Authorization: Bearer $HUBPORT_TOKEN" \
  -F "importRequest=<$REPO/tests/fixtures/Nov-event-leads.importRequest.json;type=application/json" \
  -F "files=@$REPO/tests/fixtures/Nov-event-leads.csv;type=text/csv" \
  "$HUBPORT_URL/crm/v3/imports"

export SCHEMATHESIS_HOOKS=hooks PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the source tree
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
cd "$HUBPORT_TMP"   # schemathesis' report dir and any hypothesis files stay in the temp dir
set +e
timeout --signal=INT --kill-after=30 "$TIME_LIMIT" \
  "$VENV/bin/schemathesis" --config-file "$HERE/schemathesis.toml" run "$HUBPORT_URL/openapi.json" \
  --header "Authorization: Bearer $HUBPORT_TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$MAX_EXAMPLES" \
  --generation-database none \
  --request-timeout 30 \
  --workers 1 \
  --report junit,har --report-dir "$HUBPORT_TMP/schemathesis-report" \
  --no-color \
  "$@" </dev/null
rc=$?
set -e
if [ $rc -eq 124 ] || [ $rc -eq 130 ]; then echo "== schemathesis hit the ${TIME_LIMIT}s time limit" >&2; fi
if [ $rc -ne 0 ]; then
  echo "== last lines of the server log:"
  tail -n 10 "$HUBPORT_TMP/server.log" || true
fi
echo "== schemathesis: exit $rc"
exit $rc
