"""Import a CSV into hubport with plain `requests`, wait for it, print counters and row errors.

    HUBPORT_TOKEN=$(hubport token create --portal 1) python examples/python/import_with_requests.py \
        [file.csv request.json]

Defaults to examples/Nov-event-leads.csv and its importRequest (HubSpot's guide sample).
HUBPORT_URL defaults to http://127.0.0.1:8080. Against HubSpot, only URL and token change.
"""

import json
import os
import sys
import time
from pathlib import Path

import requests

EXAMPLES = Path(__file__).resolve().parent.parent
URL = os.environ.get("HUBPORT_URL", "http://127.0.0.1:8080").rstrip("/")
HEADERS = {"Authorization": f"Bearer {os.environ['HUBPORT_TOKEN']}"}

csv_path = Path(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLES / "Nov-event-leads.csv"
request_path = Path(sys.argv[2]) if len(sys.argv) > 2 else EXAMPLES / "Nov-event-leads.importRequest.json"

with open(csv_path, "rb") as f:
    r = requests.post(
        f"{URL}/crm/v3/imports",
        headers=HEADERS,
        files={
            "files": (csv_path.name, f, "text/csv"),
            "importRequest": (None, request_path.read_text(), "application/json"),
        },
        timeout=60,
    )
r.raise_for_status()
import_id = r.json()["id"]
print(f"import {import_id}: {r.json()['state']}")

while True:
    imp = requests.get(f"{URL}/crm/v3/imports/{import_id}", headers=HEADERS, timeout=30).json()
    if imp["state"] in ("DONE", "FAILED", "CANCELED"):
        break
    time.sleep(0.5)
print(f"import {import_id}: {imp['state']}")
print("counters:", json.dumps(imp["metadata"]["counters"], sort_keys=True))

errors = requests.get(
    f"{URL}/crm/v3/imports/{import_id}/errors",
    params={"includeErrorMessage": "true", "includeRowData": "true"},
    headers=HEADERS,
    timeout=30,
).json()["results"]
for e in errors:
    src = e["sourceData"]
    print(f"line {src['lineNumber']}: {e['errorType']}: {e.get('errorMessage', '')} {src['rowData']}")
