"""The snippets users copy from HubSpot's imports guide: curl and Python `requests`.

Each one is run as published, only the base URL and the token changed, in its own portal so the
guide sample's counters (5 rows, 4 created, 1 error) hold exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import requests

from support import NOV_CSV, NOV_REQUEST, is_uuid, load_request, wait_done_http

# HubSpot's guide, verbatim but for URL ($BASE) and token ($T).
GUIDE_CURL = (
    'curl -X POST $BASE/crm/v3/imports -H "Authorization: Bearer $T" '
    '-F "importRequest=<Nov-event-leads.importRequest.json;type=application/json" '
    '-F "files=@Nov-event-leads.csv;type=text/csv"'
)


def _check_json_headers(r: requests.Response):
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    assert is_uuid(r.headers["x-hubspot-correlation-id"]), r.headers


def _check_guide_outcome(base_url: str, token: str, import_id: str):
    done = wait_done_http(base_url, token, import_id)
    assert done["state"] == "DONE"
    c = done["metadata"]["counters"]
    assert (c["TOTAL_ROWS"], c["CREATED_OBJECTS"], c["ERRORS"]) == (5, 4, 1), c
    r = requests.get(
        f"{base_url}/crm/v3/imports/{import_id}/errors?includeErrorMessage=true&includeRowData=true",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 200
    _check_json_headers(r)
    errors = r.json()["results"]
    assert [e["errorType"] for e in errors] == ["INVALID_EMAIL"]
    assert errors[0]["sourceData"]["rowData"] == ["Edsger", "Dijkstra", "not-an-email"]
    assert errors[0]["errorMessage"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_guide_curl(hubport, tmp_path):
    token = hubport.token(4)
    # The guide's command reads both files from the current directory.
    for f in (NOV_CSV, NOV_REQUEST):
        shutil.copy(f, tmp_path / f.name)
    headers_file = tmp_path / "headers.txt"
    out = subprocess.run(
        ["bash", "-c", GUIDE_CURL + ' -sS -D "$HEADERS"'],  # -sS -D: quiet, and keep the headers
        cwd=tmp_path,
        env={**os.environ, "BASE": hubport.base_url, "T": token, "HEADERS": str(headers_file)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    head = headers_file.read_text().lower()
    assert head.startswith("http/1.1 200"), head
    assert "content-type: application/json" in head
    assert "x-hubspot-correlation-id:" in head
    body = json.loads(out.stdout)
    assert body["state"] == "STARTED" and body["id"].isdigit()
    assert body["importName"] == "November Marketing Event Leads"
    _check_guide_outcome(hubport.base_url, token, body["id"])

    # The README's follow-up: the records, with properties as one comma-separated value.
    out = subprocess.run(
        [
            "curl", "-sS", "-H", f"Authorization: Bearer {token}",
            f"{hubport.base_url}/crm/v3/objects/contacts?properties=email,firstname",
        ],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    contacts = json.loads(out.stdout)["results"]
    assert sorted(c["properties"]["firstname"] for c in contacts) == ["Ada", "Alan", "Barbara", "Grace"]


def test_requests_files_tuples(hubport):
    token = hubport.token(5)
    req = load_request(NOV_REQUEST)
    with open(NOV_CSV, "rb") as f:
        r = requests.post(
            f"{hubport.base_url}/crm/v3/imports",
            headers={"Authorization": f"Bearer {token}"},
            files={
                "files": (NOV_CSV.name, f, "text/csv"),
                "importRequest": (None, json.dumps(req), "application/json"),
            },
            timeout=30,
        )
    assert r.status_code == 200, r.text
    _check_json_headers(r)
    body = r.json()
    assert body["state"] == "STARTED"
    for field in ["id", "createdAt", "updatedAt", "mappedObjectTypeIds", "metadata", "optOutImport"]:
        assert body.get(field) is not None, (field, body)
    _check_guide_outcome(hubport.base_url, token, body["id"])


def test_requests_data_form(hubport):
    """The guide's Python snippet: data={"importRequest": ...}, files=[("files", open(path, "rb"))]
    (no filename or content type given: requests takes the file's base name and sends no type)."""
    token = hubport.token(6)
    url = f"{hubport.base_url}/crm/v3/imports"
    headers = {"Authorization": f"Bearer {token}"}
    payload = {"importRequest": json.dumps(load_request(NOV_REQUEST))}
    with open(NOV_CSV, "rb") as f:
        files = [("files", f)]
        r = requests.request("POST", url, data=payload, files=files, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    _check_json_headers(r)
    _check_guide_outcome(hubport.base_url, token, r.json()["id"])


def test_requests_trailing_slash_and_list(hubport):
    token = hubport.token(6)
    r = requests.get(f"{hubport.base_url}/crm/v3/imports/", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200
    _check_json_headers(r)
    assert len(r.json()["results"]) == 1


def test_error_answers_are_hubspot_json(hubport):
    token = hubport.token(6)
    auth = {"Authorization": f"Bearer {token}"}
    cases = [
        (requests.get, "/crm/v3/imports/987654321", auth, 404, "OBJECT_NOT_FOUND"),
        (requests.get, "/crm/v3/imports/not-a-number", auth, 400, "VALIDATION_ERROR"),
        (requests.get, "/crm/v3/imports", {}, 401, "INVALID_AUTHENTICATION"),
        (requests.get, "/crm/v3/imports", {"Authorization": "Bearer nonsense"}, 401, "INVALID_AUTHENTICATION"),
    ]
    for call, path, headers, status, category in cases:
        r = call(hubport.base_url + path, headers=headers, timeout=10)
        assert r.status_code == status, (path, r.status_code, r.text)
        _check_json_headers(r)
        body = r.json()
        assert body["status"] == "error" and body["message"], body
        assert body["category"] == category, (path, body)
        assert body["correlationId"] == r.headers["x-hubspot-correlation-id"]


def test_missing_scope_is_403(hubport):
    token = hubport.token(7, scopes=["crm.objects.contacts.read"])
    r = requests.post(
        f"{hubport.base_url}/crm/v3/imports",
        headers={"Authorization": f"Bearer {token}"},
        data={"importRequest": NOV_REQUEST.read_text()},
        files={"files": (NOV_CSV.name, NOV_CSV.read_bytes(), "text/csv")},
        timeout=30,
    )
    assert r.status_code == 403, r.text
    _check_json_headers(r)
    assert r.json()["category"] == "MISSING_SCOPES"
