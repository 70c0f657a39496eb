#!/usr/bin/env bash
# Wait until an import is DONE, FAILED or CANCELED, then print it (JSON, counters included).
#   examples/curl/poll.sh IMPORT_ID
set -euo pipefail
HUBPORT_URL="${HUBPORT_URL:-http://127.0.0.1:8080}"
: "${HUBPORT_TOKEN:?set HUBPORT_TOKEN}"
id="${1:?usage: poll.sh IMPORT_ID}"

for _ in $(seq 1 600); do
  body="$(curl -sS --fail-with-body -H "Authorization: Bearer $HUBPORT_TOKEN" \
    "$HUBPORT_URL/crm/v3/imports/$id")"
  state="$(printf '%s' "$body" | grep -o '"state" *: *"[A-Z]*"' | head -n 1 | grep -o '[A-Z]*"$' | tr -d '"')"
  echo "state: $state" >&2
  case "$state" in
    DONE | FAILED | CANCELED) printf '%s\n' "$body"; exit 0 ;;
  esac
  sleep 1
done
echo "import $id did not finish in time" >&2
exit 1
