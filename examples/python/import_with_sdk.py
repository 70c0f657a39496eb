"""Import a CSV into hubport with HubSpot's Python SDK, wait for it, print counters and row errors.

    pip install hubspot-api-client
    HUBPORT_TOKEN=$(hubport token create --portal 1) python examples/python/import_with_sdk.py \
        [file.csv request.json]

Defaults to examples/Nov-event-leads.csv and its importRequest (HubSpot's guide sample).
HUBPORT_URL defaults to http://127.0.0.1:8080; `host=` is the only change from real HubSpot use.
"""

import os
import sys
import time
from pathlib import Path

from hubspot import HubSpot

EXAMPLES = Path(__file__).resolve().parent.parent
csv_path = Path(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLES / "Nov-event-leads.csv"
request_path = Path(sys.argv[2]) if len(sys.argv) > 2 else EXAMPLES / "Nov-event-leads.importRequest.json"

client = HubSpot(
    access_token=os.environ["HUBPORT_TOKEN"],
    host=os.environ.get("HUBPORT_URL", "http://127.0.0.1:8080").rstrip("/"),
)
imports = client.crm.imports

created = imports.core_api.create(files=str(csv_path), import_request=request_path.read_text())
print(f"import {created.id}: {created.state}")

imp = created
while imp.state not in ("DONE", "FAILED", "CANCELED"):
    time.sleep(0.5)
    imp = imports.core_api.get_by_id(import_id=created.id)
print(f"import {imp.id}: {imp.state}")
print("counters:", dict(sorted(imp.metadata.counters.items())))

errors = imports.public_imports_api.get_errors(
    import_id=imp.id, include_error_message=True, include_row_data=True
)
for e in errors.results:
    print(f"line {e.source_data.line_number}: {e.error_type}: {e.error_message} {e.source_data.row_data}")
