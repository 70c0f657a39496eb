"""Helpers shared by the client tests: SDK clients, polling, generated import files."""

from __future__ import annotations

import csv
import json
import time
import uuid
from pathlib import Path

import requests
from hubspot import HubSpot

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
FIXTURES = HERE / "fixtures"

NOV_CSV = FIXTURES / "Nov-event-leads.csv"
NOV_REQUEST = FIXTURES / "Nov-event-leads.importRequest.json"
DEALS_CSV = FIXTURES / "deals-with-contacts-and-companies.csv"
DEALS_REQUEST = FIXTURES / "deals-with-contacts-and-companies.importRequest.json"

TERMINAL_STATES = {"DONE", "FAILED", "CANCELED"}

# The sample's expected outcome: 5 rows, 4 contacts created, 1 INVALID_EMAIL row error.
NOV_EMAILS = [
    "ada@analytical.example",
    "grace.hopper@navy.example",
    "alan@bletchley.example",
    "barbara@mit.example",  # BARBARA@MIT.EXAMPLE in the file: stored lowercased
]


def load_request(path: Path) -> dict:
    return json.loads(path.read_text())


def sdk(server, portal: int, **kwargs) -> HubSpot:
    """HubSpot's client pointed at hubport: only host and token differ from real use."""
    return HubSpot(access_token=server.token(portal), host=server.base_url, **kwargs)


def wait_done_sdk(client: HubSpot, import_id, timeout: float = 60.0, states=TERMINAL_STATES):
    """Polls core_api.get_by_id until the import reaches one of `states`; returns the model."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        imp = client.crm.imports.core_api.get_by_id(import_id=import_id)
        assert imp is not None, "get_by_id returned None (status code not in the SDK's map?)"
        if not seen or seen[-1] != imp.state:
            seen.append(imp.state)
        if imp.state in states:
            return imp
        if time.monotonic() > deadline:
            raise AssertionError(f"import {import_id} not in {states} after {timeout}s; states seen {seen}")
        time.sleep(0.1)


def wait_done_http(base_url: str, token: str, import_id, timeout: float = 60.0) -> dict:
    """Polls GET /crm/v3/imports/{id} with requests until a terminal state; returns the JSON."""
    deadline = time.monotonic() + timeout
    while True:
        r = requests.get(
            f"{base_url}/crm/v3/imports/{import_id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        if body["state"] in TERMINAL_STATES:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"import {import_id} still {body['state']} after {timeout}s")
        time.sleep(0.1)


def contacts_request(file_name: str, columns: list[tuple[str, str]], name: str | None = None,
                     operation: str = "UPSERT") -> dict:
    """An importRequest for one contacts CSV; columns are (header, propertyName), email first."""
    mappings = []
    for header, prop in columns:
        m = {"columnObjectTypeId": "0-1", "columnName": header, "propertyName": prop}
        if prop == "email":
            m["columnType"] = "HUBSPOT_ALTERNATE_ID"
        mappings.append(m)
    return {
        "name": name or f"python suite {file_name}",
        "importOperations": {"0-1": operation},
        "files": [
            {
                "fileName": file_name,
                "fileFormat": "CSV",
                "fileImportPage": {"hasHeader": True, "columnMappings": mappings},
            }
        ],
    }


def write_contacts_csv(directory: Path, file_name: str, rows: int, prefix: str) -> Path:
    """A generated contacts file: Email,First Name,Last Name with `rows` distinct emails."""
    path = Path(directory) / file_name
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Email", "First Name", "Last Name"])
        for i in range(rows):
            w.writerow([f"{prefix}{i:06d}@bulk.example", f"First{i}", f"Last{i}"])
    return path


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False
