"""HubSpot's official Python SDK (hubspot-api-client) against hubport's imports API.

Everything is called exactly as HubSpot documents it; only `host` and the token differ.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import warnings

import pytest
from hubspot import HubSpot
from hubspot.crm.imports import ActionResponse, ApiException, PublicImportResponse
from hubspot.crm.imports.exceptions import ForbiddenException, NotFoundException, UnauthorizedException

from support import (
    DEALS_CSV,
    DEALS_REQUEST,
    NOV_CSV,
    NOV_REQUEST,
    contacts_request,
    is_uuid,
    load_request,
    sdk,
    wait_done_sdk,
)

PORTAL = 1
PORTAL_MULTI = 11
PORTAL_CANCEL = 12


@pytest.fixture(scope="module")
def client(hubport):
    return sdk(hubport, PORTAL)


@pytest.fixture(scope="module")
def nov_import(client):
    """The guide's sample sent with core_api.create: (response of create, final import)."""
    created = client.crm.imports.core_api.create(
        files=str(NOV_CSV), import_request=json.dumps(load_request(NOV_REQUEST))
    )
    assert created is not None, "create returned None: the SDK maps only a 200 to PublicImportResponse"
    done = wait_done_sdk(client, created.id)
    return created, done


def _json_body(exc: ApiException) -> dict:
    body = exc.body.decode() if isinstance(exc.body, bytes) else exc.body
    return json.loads(body)


def _header(exc: ApiException, name: str):
    return {k.lower(): v for k, v in exc.headers.items()}.get(name.lower())


def test_create_returns_started_import(nov_import):
    created, _ = nov_import
    assert isinstance(created, PublicImportResponse)
    assert created.id and created.id.isdigit(), created.id
    assert created.state == "STARTED"
    assert isinstance(created.created_at, dt.datetime)
    assert isinstance(created.updated_at, dt.datetime)
    assert created.created_at.tzinfo is not None
    assert created.opt_out_import is False
    assert created.mapped_object_type_ids == ["0-1"]
    assert created.import_name == "November Marketing Event Leads"
    assert created.import_source == "API"
    assert created.metadata is not None
    assert created.metadata.counters is not None
    assert len(created.metadata.file_ids) == 1 and created.metadata.file_ids[0].isdigit()
    assert created.metadata.object_lists == []
    # SAMPLES read importRequestJson.importName.
    assert created.import_request_json["importName"] == "November Marketing Event Leads"


def test_import_reaches_done_with_counters(nov_import):
    created, done = nov_import
    assert isinstance(done, PublicImportResponse)
    assert done.id == created.id
    assert done.state == "DONE"
    counters = done.metadata.counters
    assert counters["TOTAL_ROWS"] == 5, counters
    assert counters["CREATED_OBJECTS"] == 4, counters
    assert counters["ERRORS"] == 1, counters
    assert counters.get("UPDATED_OBJECTS", 0) == 0, counters
    assert done.metadata.file_ids == created.metadata.file_ids
    assert done.updated_at >= done.created_at


def test_get_by_id_accepts_int_id(client, nov_import):
    created, _ = nov_import
    again = client.crm.imports.core_api.get_by_id(import_id=int(created.id))
    assert again.id == created.id and again.state == "DONE"


def test_get_page_lists_the_import(client, nov_import):
    created, _ = nov_import
    page = client.crm.imports.core_api.get_page()
    assert page is not None and page.results, page
    ids = [r.id for r in page.results]
    assert created.id in ids
    listed = next(r for r in page.results if r.id == created.id)
    assert listed.state == "DONE"
    assert listed.metadata.counters["TOTAL_ROWS"] == 5
    assert all(r.created_at is not None and r.state is not None for r in page.results)


def test_get_page_paging_cursor(client, nov_import):
    # Two imports exist once this one is created: page through them one at a time.
    second = client.crm.imports.core_api.create(
        files=str(NOV_CSV), import_request=json.dumps(load_request(NOV_REQUEST))
    )
    wait_done_sdk(client, second.id)
    first_page = client.crm.imports.core_api.get_page(limit=1)
    assert len(first_page.results) == 1
    assert first_page.results[0].id == second.id, "newest first"
    assert first_page.paging is not None and first_page.paging.next is not None
    assert first_page.paging.next.after
    assert first_page.paging.next.link
    next_page = client.crm.imports.core_api.get_page(limit=1, after=first_page.paging.next.after)
    assert len(next_page.results) == 1
    assert next_page.results[0].id != second.id
    # The second import re-sent the same contacts with importOperations CREATE: each existing
    # contact is a CREATE_ONLY_IMPORT row error, the bad email still INVALID_EMAIL.
    done = client.crm.imports.core_api.get_by_id(import_id=second.id)
    assert done.metadata.counters["CREATED_OBJECTS"] == 0
    assert done.metadata.counters["ERRORS"] == 5
    errors = client.crm.imports.public_imports_api.get_errors(import_id=second.id)
    assert sorted(e.error_type for e in errors.results) == ["CREATE_ONLY_IMPORT"] * 4 + ["INVALID_EMAIL"]


def test_get_page_accepts_before(client, nov_import):
    # SPEC-2024 and the SDK still have `before`; it must not be refused.
    page = client.crm.imports.core_api.get_page(before="1", limit=5)
    assert page is not None and page.results is not None


def test_get_errors_paging(client, tmp_path):
    path = tmp_path / "many-errors.csv"
    path.write_text("Email,First Name\nbad1,A\nbad2,B\nok@errors.example,C\nbad3,D\nbad4,E\nbad5,F\n")
    req = contacts_request("many-errors.csv", [("Email", "email"), ("First Name", "firstname")])
    created = client.crm.imports.core_api.create(files=str(path), import_request=json.dumps(req))
    done = wait_done_sdk(client, created.id)
    assert done.metadata.counters["ERRORS"] == 5
    lines, after, pages = [], None, 0
    while True:
        page = client.crm.imports.public_imports_api.get_errors(
            import_id=created.id, limit=2, after=after, include_row_data=True
        )
        pages += 1
        assert len(page.results) <= 2
        lines += [e.source_data.line_number for e in page.results]
        assert all(e.error_type == "INVALID_EMAIL" for e in page.results)
        if page.paging is None or page.paging.next is None:
            break
        after = page.paging.next.after
        assert pages < 10, "paging does not end"
    assert lines == [2, 3, 5, 6, 7]
    assert pages == 3


def test_auth_errors_raise_sdk_exceptions(hubport):
    bad = HubSpot(access_token="not-a-token", host=hubport.base_url)
    with pytest.raises(UnauthorizedException) as info:
        bad.crm.imports.core_api.get_page()
    assert json.loads(info.value.body)["category"] == "INVALID_AUTHENTICATION"
    read_only = HubSpot(
        access_token=hubport.token(PORTAL, scopes=["crm.objects.contacts.read"]), host=hubport.base_url
    )
    with pytest.raises(ForbiddenException) as info:
        read_only.crm.imports.core_api.get_page()
    body = json.loads(info.value.body)
    assert body["category"] == "MISSING_SCOPES"


def test_get_errors_with_message_and_row_data(client, nov_import):
    created, _ = nov_import
    page = client.crm.imports.public_imports_api.get_errors(
        import_id=created.id, include_error_message=True, include_row_data=True
    )
    assert page is not None
    assert len(page.results) == 1, page
    err = page.results[0]
    assert err.error_type == "INVALID_EMAIL"
    assert err.id
    assert isinstance(err.created_at, int) and err.created_at > 1_600_000_000_000
    assert err.error_message, "includeErrorMessage=True must return errorMessage"
    assert err.object_type == "CONTACT"
    assert err.object_type_id == "0-1"
    assert err.invalid_value == "not-an-email"
    assert err.known_column_number == 2
    src = err.source_data
    assert src is not None
    assert src.row_data == ["Edsger", "Dijkstra", "not-an-email"]
    assert src.line_number == 5
    assert str(src.file_id) == created.metadata.file_ids[0]
    assert src.contains_encrypted_properties is False
    assert page.paging is None


def test_get_errors_without_flags_omits_message_and_row_data(client, nov_import):
    created, _ = nov_import
    page = client.crm.imports.public_imports_api.get_errors(import_id=created.id)
    assert len(page.results) == 1
    err = page.results[0]
    assert err.error_type == "INVALID_EMAIL"
    assert err.error_message is None
    assert err.source_data.row_data == []
    assert err.source_data.line_number == 5


def test_cancel_finished_import_is_400(client, nov_import):
    created, _ = nov_import
    with pytest.raises(ApiException) as info:
        client.crm.imports.core_api.cancel(import_id=created.id)
    exc = info.value
    assert exc.status == 400
    body = _json_body(exc)
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"]
    assert is_uuid(body["correlationId"])
    assert _header(exc, "content-type").startswith("application/json")
    assert _header(exc, "x-hubspot-correlation-id") == body["correlationId"]
    # Nothing changed.
    assert client.crm.imports.core_api.get_by_id(import_id=created.id).state == "DONE"


def test_unknown_import_is_not_found(client):
    with pytest.raises(NotFoundException) as info:
        client.crm.imports.core_api.get_by_id(import_id=987654321)
    assert info.value.status == 404
    body = _json_body(info.value)
    assert body["category"] == "OBJECT_NOT_FOUND"


def test_cancel_started_import(hubport_no_worker):
    """No worker runs, so the import is still STARTED when the cancel arrives: deterministic."""
    client = sdk(hubport_no_worker, PORTAL_CANCEL)
    created = client.crm.imports.core_api.create(
        files=str(NOV_CSV), import_request=json.dumps(load_request(NOV_REQUEST))
    )
    assert created.state == "STARTED"
    action = client.crm.imports.core_api.cancel(import_id=created.id)
    assert isinstance(action, ActionResponse), action
    assert action.status == "COMPLETE"
    for field in ("requested_at", "started_at", "completed_at"):
        assert isinstance(getattr(action, field), dt.datetime), (field, action)
    canceled = client.crm.imports.core_api.get_by_id(import_id=created.id)
    assert canceled.state == "CANCELED"
    assert canceled.metadata.counters.get("TOTAL_ROWS", 0) == 0
    assert client.crm.imports.public_imports_api.get_errors(import_id=created.id).results == []
    # Canceled is final: a second cancel is refused and changes nothing.
    with pytest.raises(ApiException) as info:
        client.crm.imports.core_api.cancel(import_id=created.id)
    assert info.value.status == 400
    assert _json_body(info.value)["category"] == "VALIDATION_ERROR"
    assert client.crm.imports.core_api.get_by_id(import_id=created.id).state == "CANCELED"


def test_cancel_running_import(hubport, big_contacts_import):
    """A 200,000-row import is cancelled right after it is created. The cancel should stop it;
    if the import got to DONE first (the race the brief allows), the 400 must say so and the
    import must be complete and unchanged."""
    client = sdk(hubport, PORTAL_CANCEL)
    path, req, rows = big_contacts_import
    created = client.crm.imports.core_api.create(files=str(path), import_request=json.dumps(req))
    assert created.state == "STARTED"
    started = time.monotonic()
    try:
        action = client.crm.imports.core_api.cancel(import_id=created.id)
    except ApiException as exc:
        waited = time.monotonic() - started
        assert exc.status == 400, exc
        final = client.crm.imports.core_api.get_by_id(import_id=created.id)
        assert final.state == "DONE" and final.metadata.counters["TOTAL_ROWS"] == rows, final
        warnings.warn(
            f"cancel of a running {rows}-row import answered 400 after {waited:.2f}s: the import "
            "finished while the cancel waited (SQLite write lock held by the worker's batches)"
        )
        return
    assert isinstance(action, ActionResponse), action
    assert action.status == "COMPLETE"
    assert action.started_at is not None and action.completed_at is not None
    final = wait_done_sdk(client, created.id)
    assert final.state == "CANCELED", final.state
    assert final.metadata.counters.get("TOTAL_ROWS", 0) < rows, "a canceled import must stop early"
    with pytest.raises(ApiException) as info:
        client.crm.imports.core_api.cancel(import_id=created.id)
    assert info.value.status == 400


def test_multi_object_sample(hubport):
    client = sdk(hubport, PORTAL_MULTI)
    created = client.crm.imports.core_api.create(
        files=str(DEALS_CSV), import_request=json.dumps(load_request(DEALS_REQUEST))
    )
    assert sorted(created.mapped_object_type_ids) == ["0-1", "0-2", "0-3"]
    done = wait_done_sdk(client, created.id)
    assert done.state == "DONE"
    counters = done.metadata.counters
    assert counters["TOTAL_ROWS"] == 3, counters
    assert counters["ERRORS"] == 0, counters
    # 2 contacts + 3 companies + 3 deals created; mia's second row updated her contact.
    assert counters["CREATED_OBJECTS"] == 8, counters
    assert counters["UPDATED_OBJECTS"] == 1, counters
    errors = client.crm.imports.public_imports_api.get_errors(import_id=created.id)
    assert errors.results == []

    contacts = client.crm.contacts.get_all(properties=["email", "firstname"])
    companies = client.crm.companies.get_all(properties=["name", "domain"])
    deals = client.crm.deals.get_all(properties=["dealname", "amount", "closedate", "pipeline", "dealstage"])
    assert sorted(c.properties["email"] for c in contacts) == ["leo@contoso.example", "mia@northwind.example"]
    assert sorted(c.properties["domain"] for c in companies) == [
        "contoso.example",
        "fabrikam.example",
        "northwind.example",
    ]
    by_name = {d.properties["dealname"]: d.properties for d in deals}
    assert sorted(by_name) == ["Contoso pilot", "Fabrikam expansion", "Northwind annual"]
    assert float(by_name["Northwind annual"]["amount"]) == 12500.0
    assert float(by_name["Fabrikam expansion"]["amount"]) == 4100.5
    assert by_name["Contoso pilot"]["closedate"].startswith("2027-02-28")
    assert by_name["Contoso pilot"]["pipeline"] == "default"
    assert by_name["Contoso pilot"]["dealstage"] == "appointmentscheduled"


def test_two_files_linked_by_email(hubport, tmp_path):
    """The guide's two-file import, sent the SDK way: files=[path, path]."""
    client = sdk(hubport, 13)
    contacts = tmp_path / "contact-import-file.csv"
    contacts.write_text("First name,Last name,Email\nAnn,Lee,ann@two.example\nBob,Ray,bob@two.example\n")
    companies = tmp_path / "company-import-file.csv"
    companies.write_text(
        "Company name,Company domain name,Email\nAcme,acme.example,ann@two.example\n"
        "Globex,globex.example,bob@two.example\n"
    )
    req = {
        "name": "Contact Company import",
        "dateFormat": "YEAR_MONTH_DAY",
        "files": [
            {"fileName": "contact-import-file.csv", "fileFormat": "CSV", "fileImportPage": {"hasHeader": True, "columnMappings": [
                {"columnObjectTypeId": "0-1", "columnName": "First name", "propertyName": "firstname"},
                {"columnObjectTypeId": "0-1", "columnName": "Last name", "propertyName": "lastname"},
                {"columnObjectTypeId": "0-1", "columnName": "Email", "propertyName": "email",
                 "associationIdentifierColumn": True}]}},
            {"fileName": "company-import-file.csv", "fileFormat": "CSV", "fileImportPage": {"hasHeader": True, "columnMappings": [
                {"columnObjectTypeId": "0-2", "columnName": "Company name", "propertyName": "name"},
                {"columnObjectTypeId": "0-2", "columnName": "Company domain name", "propertyName": "domain",
                 "columnType": "HUBSPOT_ALTERNATE_ID"},
                {"columnObjectTypeId": "0-2", "toColumnObjectTypeId": "0-1", "columnName": "Email", "propertyName": None,
                 "foreignKeyType": {"associationTypeId": 280, "associationCategory": "HUBSPOT_DEFINED"}}]}},
        ],
    }
    created = client.crm.imports.core_api.create(
        files=[str(contacts), str(companies)], import_request=json.dumps(req)
    )
    assert len(created.metadata.file_ids) == 2
    assert sorted(created.mapped_object_type_ids) == ["0-1", "0-2"]
    done = wait_done_sdk(client, created.id)
    assert done.state == "DONE"
    c = done.metadata.counters
    assert (c["TOTAL_ROWS"], c["CREATED_OBJECTS"], c["ERRORS"]) == (4, 4, 0), c
    companies = {x.properties["name"]: x.id for x in client.crm.companies.get_all(properties=["name"])}
    assert sorted(companies) == ["Acme", "Globex"]
    # The common Email column links each company to its contact.
    ann = client.crm.contacts.basic_api.get_by_id(
        contact_id="ann@two.example", id_property="email", associations=["companies"]
    )
    assert [a.id for a in ann.associations["companies"].results] == [companies["Acme"]]


def test_hubspot_sample_app_request(hubport, tmp_path):
    """HubSpot's own sample app (sample-apps-imports, python): legacy columnObjectType, no
    fileFormat, and a "First Name" mapping over a `firstname` header."""
    client = sdk(hubport, 14)
    path = tmp_path / "import_emails.csv"
    path.write_text("firstname,email\nSam,sam@sample.example\n")
    req = {
        "name": "test_import",
        "files": [{"fileName": "import_emails.csv", "fileImportPage": {"hasHeader": True, "columnMappings": [
            {"columnName": "First Name", "propertyName": "firstname", "columnObjectType": "CONTACT"},
            {"columnName": "Email", "propertyName": "email", "columnObjectType": "CONTACT"}]}}],
    }
    created = client.crm.imports.core_api.create(files=str(path), import_request=json.dumps(req))
    done = wait_done_sdk(client, created.id)
    assert done.state == "DONE" and done.metadata.counters["CREATED_OBJECTS"] == 1
    assert done.mapped_object_type_ids == ["0-1"]
    sam = client.crm.contacts.basic_api.get_by_id(contact_id="sam@sample.example", id_property="email")
    assert sam.properties["firstname"] == "Sam"


def test_api_request_with_base_url(hubport):
    """The SDK's raw escape hatch, client.api_request, uses `base_url` rather than `host`."""
    client = HubSpot(access_token=hubport.token(15), base_url=hubport.base_url)
    r = client.api_request({"method": "GET", "path": "/crm/v3/imports"})
    assert r.status_code == 200
    assert r.json() == {"results": []}
