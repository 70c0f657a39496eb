#!/usr/bin/env bash
# Start an import: the request from HubSpot's imports guide, sent to hubport.
#   HUBPORT_TOKEN=$(hubport token create --portal 1) examples/curl/create.sh [file.csv request.json]
# Defaults to examples/Nov-event-leads.csv and its importRequest. Prints the new import (JSON).
set -euo pipefail
HUBPORT_URL="${HUBPORT_URL:-http://127.0.0.1:8080}"
: "${HUBPORT_TOKEN:?set HUBPORT_TOKEN, e.g. HUBPORT_TOKEN=\$(hubport token create --portal 1)}"
here="$(cd "$(dirname "$0")/.." && pwd)"
csv="${1:-$here/Nov-event-leads.csv}"
request="${2:-$here/Nov-event-leads.importRequest.json}"

curl -sS --fail-with-body -X POST "$HUBPORT_URL/crm/v3/imports" \
  -H "Authorization: Bearer $HUBPORT_TOKEN" \
  -F "importRequest=<$request;type=application/json" \
  -F "files=@$csv;type=text/csv"
echo
