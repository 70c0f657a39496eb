#!/usr/bin/env bash
# Cancel an import that is still running (a finished one answers 400 and stays as it is).
#   examples/curl/cancel.sh IMPORT_ID
set -euo pipefail
HUBPORT_URL="${HUBPORT_URL:-http://127.0.0.1:8080}"
: "${HUBPORT_TOKEN:?set HUBPORT_TOKEN}"
id="${1:?usage: cancel.sh IMPORT_ID}"

curl -sS --fail-with-body -X POST -H "Authorization: Bearer $HUBPORT_TOKEN" \
  "$HUBPORT_URL/crm/v3/imports/$id/cancel"
echo
