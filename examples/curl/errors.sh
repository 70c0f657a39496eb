#!/usr/bin/env bash
# Print an import's row errors, with the message and the row's values.
#   examples/curl/errors.sh IMPORT_ID
set -euo pipefail
HUBPORT_URL="${HUBPORT_URL:-http://127.0.0.1:8080}"
: "${HUBPORT_TOKEN:?set HUBPORT_TOKEN}"
id="${1:?usage: errors.sh IMPORT_ID}"

curl -sS --fail-with-body -H "Authorization: Bearer $HUBPORT_TOKEN" \
  "$HUBPORT_URL/crm/v3/imports/$id/errors?includeErrorMessage=true&includeRowData=true"
echo
