"""HubSpot's Python SDK reading back what imports wrote: crm.contacts / companies / deals."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hubspot.crm.companies.exceptions import NotFoundException as CompanyNotFound
from hubspot.crm.contacts.exceptions import NotFoundException as ContactNotFound
from hubspot.crm.deals.exceptions import NotFoundException as DealNotFound

from support import (
    DEALS_CSV,
    DEALS_REQUEST,
    NOV_CSV,
    NOV_EMAILS,
    NOV_REQUEST,
    contacts_request,
    load_request,
    sdk,
    wait_done_sdk,
    write_contacts_csv,
)

PORTAL = 2
BULK_ROWS = 230  # more than two pages of get_all's 100


@pytest.fixture(scope="module")
def client(hubport, tmp_path_factory):
    """Portal 2 holds the guide sample, the multi-object sample and 230 generated contacts."""
    client = sdk(hubport, PORTAL)
    bulk = write_contacts_csv(tmp_path_factory.mktemp("objects"), "bulk-contacts.csv", BULK_ROWS, "page")
    bulk_req = contacts_request(
        "bulk-contacts.csv", [("Email", "email"), ("First Name", "firstname"), ("Last Name", "lastname")]
    )
    for path, req in [
        (NOV_CSV, load_request(NOV_REQUEST)),
        (DEALS_CSV, load_request(DEALS_REQUEST)),
        (bulk, bulk_req),
    ]:
        created = client.crm.imports.core_api.create(files=str(path), import_request=json.dumps(req))
        done = wait_done_sdk(client, created.id)
        assert done.state == "DONE", (path.name, done)
    return client


def _check_record(obj):
    assert obj.id and obj.id.isdigit(), obj.id
    assert isinstance(obj.created_at, dt.datetime)
    assert isinstance(obj.updated_at, dt.datetime)
    assert obj.archived is False
    assert obj.properties is not None


def test_contacts_get_page(client):
    page = client.crm.contacts.basic_api.get_page(properties=["email", "firstname"])
    assert page is not None
    assert len(page.results) == 10, "default limit is 10"
    for c in page.results:
        _check_record(c)
        assert c.properties["email"], c.properties
        assert "firstname" in c.properties
    assert page.paging is not None and page.paging.next is not None and page.paging.next.after
    nxt = client.crm.contacts.basic_api.get_page(properties=["email"], after=page.paging.next.after)
    assert {c.id for c in nxt.results}.isdisjoint({c.id for c in page.results})


def test_contacts_get_page_limit(client):
    page = client.crm.contacts.basic_api.get_page(limit=3, properties=["email"], archived=False)
    assert len(page.results) == 3


def test_contact_by_email(client):
    ada = client.crm.contacts.basic_api.get_by_id(
        contact_id="ada@analytical.example", id_property="email", properties=["email", "firstname", "lastname"]
    )
    _check_record(ada)
    assert ada.properties["email"] == "ada@analytical.example"
    assert ada.properties["firstname"] == "Ada"
    assert ada.properties["lastname"] == "Lovelace"
    # Upper-case in the file, stored lowercased.
    barbara = client.crm.contacts.basic_api.get_by_id(
        contact_id="barbara@mit.example", id_property="email", properties=["firstname"]
    )
    assert barbara.properties["firstname"] == "Barbara"
    # The numeric id reads the same record.
    again = client.crm.contacts.basic_api.get_by_id(contact_id=ada.id, properties=["email"])
    assert again.id == ada.id and again.properties["email"] == "ada@analytical.example"


def test_contact_default_and_missing_properties(client):
    ada = client.crm.contacts.basic_api.get_by_id(contact_id="ada@analytical.example", id_property="email")
    for name in ["email", "firstname", "lastname", "hs_object_id", "createdate", "lastmodifieddate"]:
        assert name in ada.properties, (name, ada.properties)
    assert ada.properties["hs_object_id"] == ada.id
    leo = client.crm.contacts.basic_api.get_by_id(
        contact_id="leo@contoso.example", id_property="email", properties=["email", "lastname", "no_such_property"]
    )
    assert leo.properties["email"] == "leo@contoso.example"
    assert "lastname" in leo.properties and leo.properties["lastname"] is None, leo.properties
    assert "no_such_property" not in leo.properties


def test_import_marks_records_source(client):
    ada = client.crm.contacts.basic_api.get_by_id(
        contact_id="ada@analytical.example", id_property="email", properties=["hs_object_source"]
    )
    assert ada.properties.get("hs_object_source") == "IMPORT"


def test_contacts_get_all_pages_through_everything(client):
    everyone = client.crm.contacts.get_all(properties=["email", "firstname"])
    emails = [c.properties["email"] for c in everyone]
    assert len(everyone) == len(NOV_EMAILS) + 2 + BULK_ROWS
    assert len(set(c.id for c in everyone)) == len(everyone), "paging must not repeat records"
    assert set(NOV_EMAILS) <= set(emails)
    assert {"mia@northwind.example", "leo@contoso.example"} <= set(emails)
    assert f"page{BULK_ROWS - 1:06d}@bulk.example" in emails
    assert "not-an-email" not in emails


def test_companies(client):
    page = client.crm.companies.basic_api.get_page(properties=["name", "domain"])
    assert sorted(c.properties["domain"] for c in page.results) == [
        "contoso.example",
        "fabrikam.example",
        "northwind.example",
    ]
    for c in page.results:
        _check_record(c)
    contoso = client.crm.companies.basic_api.get_by_id(
        company_id="contoso.example", id_property="domain", properties=["name", "domain"]
    )
    assert contoso.properties["name"] == "Contoso"
    by_id = client.crm.companies.basic_api.get_by_id(company_id=contoso.id, properties=["name"])
    assert by_id.properties["name"] == "Contoso"


def test_deals(client):
    page = client.crm.deals.basic_api.get_page(properties=["dealname", "amount", "closedate"])
    deals = {d.properties["dealname"]: d for d in page.results}
    assert sorted(deals) == ["Contoso pilot", "Fabrikam expansion", "Northwind annual"]
    for d in page.results:
        _check_record(d)
    northwind = client.crm.deals.basic_api.get_by_id(
        deal_id=deals["Northwind annual"].id, properties=["dealname", "amount", "closedate"]
    )
    assert northwind.properties["dealname"] == "Northwind annual"
    assert float(northwind.properties["amount"]) == 12500.0
    assert northwind.properties["closedate"].startswith("2027-01-15")


def test_associations_from_multi_object_import(client):
    """Each row of the multi-object sample links its contact, company and deal."""
    companies = {c.properties["domain"]: c.id for c in client.crm.companies.get_all(properties=["domain"])}
    deals = {d.properties["dealname"]: d.id for d in client.crm.deals.get_all(properties=["dealname"])}
    mia = client.crm.contacts.basic_api.get_by_id(
        contact_id="mia@northwind.example", id_property="email", associations=["companies", "deals"]
    )
    assert mia.associations is not None, "associations= must return the associations map"
    assert sorted(a.id for a in mia.associations["companies"].results) == sorted(
        [companies["northwind.example"], companies["fabrikam.example"]]
    )
    assert {a.type for a in mia.associations["companies"].results} == {"contact_to_company"}
    assert sorted(a.id for a in mia.associations["deals"].results) == sorted(
        [deals["Northwind annual"], deals["Fabrikam expansion"]]
    )
    page = client.crm.deals.basic_api.get_page(properties=["dealname"], associations=["contacts", "companies"])
    by_name = {d.properties["dealname"]: d for d in page.results}
    contoso = by_name["Contoso pilot"].associations
    assert [a.id for a in contoso["companies"].results] == [companies["contoso.example"]]
    assert [a.type for a in contoso["contacts"].results] == ["deal_to_contact"]
    # Without associations= there is no map (HubSpot leaves it out).
    plain = client.crm.contacts.basic_api.get_by_id(contact_id="mia@northwind.example", id_property="email")
    assert plain.associations is None


def test_generic_objects_api(client):
    page = client.crm.objects.basic_api.get_page(object_type="0-3", properties=["dealname"])
    assert len(page.results) == 3
    one = client.crm.objects.basic_api.get_by_id(object_type="deals", object_id=page.results[0].id)
    assert one.id == page.results[0].id


def test_unknown_ids_raise_not_found(client):
    with pytest.raises(ContactNotFound) as info:
        client.crm.contacts.basic_api.get_by_id(contact_id="999999999")
    assert info.value.status == 404
    body = json.loads(info.value.body)
    assert body["category"] == "OBJECT_NOT_FOUND" and body["status"] == "error"
    with pytest.raises(ContactNotFound):
        client.crm.contacts.basic_api.get_by_id(contact_id="nobody@nowhere.example", id_property="email")
    with pytest.raises(CompanyNotFound):
        client.crm.companies.basic_api.get_by_id(company_id="nowhere.example", id_property="domain")
    with pytest.raises(DealNotFound):
        client.crm.deals.basic_api.get_by_id(deal_id="999999999")


def test_other_portal_sees_nothing(hubport):
    other = sdk(hubport, 99)
    assert other.crm.contacts.basic_api.get_page().results == []
    with pytest.raises(ContactNotFound):
        other.crm.contacts.basic_api.get_by_id(contact_id="ada@analytical.example", id_property="email")
