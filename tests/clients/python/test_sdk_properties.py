"""HubSpot's Python SDK against hubport's properties API, and imports into custom properties."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hubspot.crm.properties import ApiException, ModelProperty, OptionInput, PropertyCreate
from hubspot.crm.properties.exceptions import NotFoundException

from support import sdk, wait_done_sdk

PORTAL = 3


@pytest.fixture(scope="module")
def client(hubport):
    return sdk(hubport, PORTAL)


@pytest.fixture(scope="module")
def favorite_food(client):
    """The properties guide's example property, created once for the module."""
    created = client.crm.properties.core_api.create(
        object_type="contacts",
        property_create=PropertyCreate(
            name="favorite_food",
            label="Favorite Food",
            type="string",
            field_type="text",
            group_name="contactinformation",
        ),
    )
    return created


def _import(client, tmp_path, name: str, header: list[str], rows: list[list[str]], mappings: list[dict]):
    path = tmp_path / name
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    req = {
        "name": name,
        "files": [
            {
                "fileName": name,
                "fileFormat": "CSV",
                "fileImportPage": {"hasHeader": True, "columnMappings": mappings},
            }
        ],
    }
    created = client.crm.imports.core_api.create(files=str(path), import_request=json.dumps(req))
    done = wait_done_sdk(client, created.id)
    assert done.state == "DONE", done
    errors = client.crm.imports.public_imports_api.get_errors(
        import_id=created.id, include_error_message=True, include_row_data=True
    )
    return done, errors.results


def _contact_col(header: str, prop: str, **extra) -> dict:
    return {"columnObjectTypeId": "0-1", "columnName": header, "propertyName": prop, **extra}


def _by_name(results) -> dict:
    return {p.name: p for p in results}


def test_contacts_default_properties(client):
    page = client.crm.properties.core_api.get_all(object_type="contacts", archived=False)
    assert page is not None and page.results
    props = _by_name(page.results)
    for name in ["email", "firstname", "lastname"]:
        p = props[name]
        assert isinstance(p, ModelProperty)
        assert (p.type, p.field_type) == ("string", "text"), (name, p.type, p.field_type)
        assert p.label and p.group_name
        assert p.description is not None
        assert p.options == []
    assert props["email"].label == "Email"
    assert props["email"].group_name == "contactinformation"
    stage = props["lifecyclestage"]
    assert stage.type == "enumeration"
    values = [o.value for o in stage.options]
    assert "lead" in values and "customer" in values
    assert all(o.label and o.hidden is not None for o in stage.options)
    assert props["hs_object_id"].type == "number"
    assert props["createdate"].type == "datetime"
    assert props["hs_object_id"].modification_metadata is None or (
        props["hs_object_id"].modification_metadata.read_only_value is True
    )


def test_companies_and_deals_default_properties(client):
    companies = _by_name(client.crm.properties.core_api.get_all(object_type="companies").results)
    assert companies["domain"].type == "string"
    assert companies["name"].type == "string"
    assert companies["numberofemployees"].type == "number"
    deals = _by_name(client.crm.properties.core_api.get_all(object_type="deals").results)
    assert deals["dealname"].type == "string"
    assert deals["amount"].type == "number"
    assert deals["closedate"].type == "datetime"
    assert deals["dealstage"].type == "enumeration"
    assert "appointmentscheduled" in [o.value for o in deals["dealstage"].options]


def test_get_one_property(client):
    email = client.crm.properties.core_api.get_by_name(object_type="contacts", property_name="email")
    assert isinstance(email, ModelProperty)
    assert email.name == "email" and email.type == "string" and email.field_type == "text"
    with pytest.raises(NotFoundException) as info:
        client.crm.properties.core_api.get_by_name(object_type="contacts", property_name="no_such_property")
    assert info.value.status == 404


def test_create_property(client, favorite_food):
    p = favorite_food
    assert isinstance(p, ModelProperty), "create must answer 201 with a Property (the SDK maps only 201)"
    assert p.name == "favorite_food"
    assert p.label == "Favorite Food"
    assert p.type == "string"
    assert p.field_type == "text"
    assert p.group_name == "contactinformation"
    assert p.options == []
    assert p.hubspot_defined in (None, False)
    if p.created_at is not None:
        assert isinstance(p.created_at, dt.datetime)
    listed = _by_name(client.crm.properties.core_api.get_all(object_type="contacts").results)
    assert "favorite_food" in listed
    one = client.crm.properties.core_api.get_by_name(object_type="contacts", property_name="favorite_food")
    assert one.label == "Favorite Food"


def test_create_existing_name_is_409(client, favorite_food):
    with pytest.raises(ApiException) as info:
        client.crm.properties.core_api.create(
            object_type="contacts",
            property_create=PropertyCreate(
                name="favorite_food", label="Again", type="string", field_type="text", group_name="contactinformation"
            ),
        )
    assert info.value.status == 409
    body = json.loads(info.value.body)
    assert body["status"] == "error" and body["message"] and body["correlationId"]
    assert body["category"] in {"CONFLICT", "OBJECT_ALREADY_EXISTS"}, body


def test_custom_property_is_per_portal(hubport, favorite_food):
    other = sdk(hubport, 98)
    names = [p.name for p in other.crm.properties.core_api.get_all(object_type="contacts").results]
    assert "favorite_food" not in names


def test_import_writes_custom_property(client, favorite_food, tmp_path):
    done, errors = _import(
        client,
        tmp_path,
        "food.csv",
        ["Email", "First Name", "Favorite Food"],
        [["pat@food.example", "Pat", "Pizza"], ["sam@food.example", "Sam", "Sushi"]],
        [
            _contact_col("Email", "email", columnType="HUBSPOT_ALTERNATE_ID"),
            _contact_col("First Name", "firstname"),
            _contact_col("Favorite Food", "favorite_food"),
        ],
    )
    assert errors == [], [(e.error_type, e.error_message) for e in errors]
    assert done.metadata.counters["CREATED_OBJECTS"] == 2
    pat = client.crm.contacts.basic_api.get_by_id(
        contact_id="pat@food.example", id_property="email", properties=["favorite_food", "firstname"]
    )
    assert pat.properties["favorite_food"] == "Pizza"
    assert pat.properties["firstname"] == "Pat"
    page = client.crm.contacts.basic_api.get_page(properties=["email", "favorite_food"])
    foods = {c.properties["email"]: c.properties.get("favorite_food") for c in page.results}
    assert foods.get("sam@food.example") == "Sushi"


def test_import_into_unknown_property_is_row_error(client, tmp_path):
    done, errors = _import(
        client,
        tmp_path,
        "unknown-prop.csv",
        ["Email", "Shoe Size"],
        [["lee@shoes.example", "44"]],
        [
            _contact_col("Email", "email", columnType="HUBSPOT_ALTERNATE_ID"),
            _contact_col("Shoe Size", "shoe_size_not_defined"),
        ],
    )
    assert [e.error_type for e in errors] == ["PROPERTY_DEFINITION_NOT_FOUND"]
    lee = client.crm.contacts.basic_api.get_by_id(contact_id="lee@shoes.example", id_property="email")
    assert lee.properties["email"] == "lee@shoes.example"


def test_custom_enumeration_property_import(client, tmp_path):
    created = client.crm.properties.core_api.create(
        object_type="contacts",
        property_create=PropertyCreate(
            name="favorite_color",
            label="Favorite Color",
            type="enumeration",
            field_type="select",
            group_name="contactinformation",
            options=[
                OptionInput(label="Red", value="red", display_order=0, hidden=False),
                OptionInput(label="Blue", value="blue", display_order=1, hidden=False),
            ],
        ),
    )
    assert created.type == "enumeration"
    assert [(o.label, o.value) for o in created.options] == [("Red", "red"), ("Blue", "blue")]
    done, errors = _import(
        client,
        tmp_path,
        "colors.csv",
        ["Email", "Color"],
        [["red@colors.example", "Red"], ["blue@colors.example", "blue"], ["bad@colors.example", "Purple"]],
        [
            _contact_col("Email", "email", columnType="HUBSPOT_ALTERNATE_ID"),
            _contact_col("Color", "favorite_color"),
        ],
    )
    assert [e.error_type for e in errors] == ["INVALID_ENUMERATION_OPTION"]
    assert errors[0].source_data.row_data == ["bad@colors.example", "Purple"]
    get = client.crm.contacts.basic_api.get_by_id
    assert get(contact_id="red@colors.example", id_property="email", properties=["favorite_color"]).properties[
        "favorite_color"
    ] == "red"
    assert get(contact_id="blue@colors.example", id_property="email", properties=["favorite_color"]).properties[
        "favorite_color"
    ] == "blue"
