//! The properties API and imports writing custom properties.

use crate::support::*;
use serde_json::json;

fn create_property(s: &TestServer, t: &str, object: &str, body: serde_json::Value) -> Resp {
    s.post_json(t, &format!("/crm/v3/properties/{object}"), body)
}

#[test]
fn catalogue_lists_defaults_and_custom_properties_are_created_once() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let all = s.get(&t, "/crm/v3/properties/contacts");
    assert_eq!(all.status, 200);
    let results = all.json["results"].as_array().unwrap();
    let email = results
        .iter()
        .find(|p| p["name"] == "email")
        .expect("email");
    assert_eq!(
        (email["type"].as_str(), email["fieldType"].as_str()),
        (Some("string"), Some("text"))
    );
    let stage = results
        .iter()
        .find(|p| p["name"] == "lifecyclestage")
        .unwrap();
    assert!(stage["options"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["value"] == "customer"));
    for field in [
        "name",
        "label",
        "type",
        "fieldType",
        "groupName",
        "description",
        "options",
    ] {
        assert!(!email[field].is_null(), "Property.{field} is required");
    }

    let body = json!({"name": "favorite_food", "label": "Favorite Food", "type": "string", "fieldType": "text", "groupName": "contactinformation"});
    let r = create_property(&s, &t, "contacts", body.clone());
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["name"], "favorite_food");
    assert_eq!(r.json["hubspotDefined"], false);
    create_property(&s, &t, "contacts", body).assert_error(409, "CONFLICT");
    create_property(&s, &t, "contacts", json!({"name": "email", "label": "E", "type": "string", "fieldType": "text", "groupName": "g"}))
        .assert_error(409, "CONFLICT");
    let bad = create_property(
        &s,
        &t,
        "contacts",
        json!({"name": "Bad Name", "label": "", "type": "text", "fieldType": "text", "groupName": "g"}),
    );
    let fields: Vec<&str> = bad.assert_error(400, "VALIDATION_ERROR")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["in"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "label", "type"]);
    create_property(&s, &t, "contacts", json!({"name": "tier", "label": "Tier", "type": "enumeration", "fieldType": "select", "groupName": "g"}))
        .assert_error(400, "VALIDATION_ERROR");
    let raw = s.post_raw(
        &t,
        "/crm/v3/properties/contacts",
        "application/json",
        b"{not json",
    );
    raw.assert_error(400, "VALIDATION_ERROR");

    assert_eq!(
        s.get(&t, "/crm/v3/properties/contacts/favorite_food").json["label"],
        "Favorite Food"
    );
    s.get(&t, "/crm/v3/properties/contacts/nope")
        .assert_error(404, "OBJECT_NOT_FOUND");
    s.get(&t, "/crm/v3/properties/tickets")
        .assert_error(400, "VALIDATION_ERROR");
    // Another portal does not see it.
    let other = s.token(2, &[]);
    s.get(&other, "/crm/v3/properties/contacts/favorite_food")
        .assert_error(404, "OBJECT_NOT_FOUND");
    let reader = s.token(1, &["crm.schemas.contacts.read"]);
    create_property(
        &s,
        &reader,
        "contacts",
        json!({"name": "x", "label": "X", "type": "string", "fieldType": "text", "groupName": "g"}),
    )
    .assert_error(403, "MISSING_SCOPES");
}

#[test]
fn imports_write_and_coerce_custom_properties() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let tier = json!({"name": "tier", "label": "Tier", "type": "enumeration", "fieldType": "select", "groupName": "contactinformation",
        "options": [{"label": "Gold", "value": "gold"}, {"label": "Silver", "value": "silver"}]});
    assert_eq!(create_property(&s, &t, "contacts", tier).status, 201);
    let score = json!({"name": "score", "label": "Score", "type": "number", "fieldType": "number", "groupName": "contactinformation"});
    assert_eq!(create_property(&s, &t, "0-1", score).status, 201);
    let request = contacts_request(
        "c.csv",
        "UPSERT",
        &[("Email", "email"), ("Tier", "tier"), ("Score", "score")],
    );
    let done = s.import(
        &t,
        &request,
        &[(
            "c.csv",
            b"Email,Tier,Score\na@x.example,GOLD,\"1,234.5\"\nb@x.example,bronze,7\n",
        )],
    );
    assert_eq!(
        (counter(&done, "CREATED_OBJECTS"), counter(&done, "ERRORS")),
        (2, 1)
    );
    let a = s.get(
        &t,
        "/crm/v3/objects/contacts/a@x.example?idProperty=email&properties=tier,score",
    );
    assert_eq!(
        a.json["properties"]["tier"], "gold",
        "matched by label, stored as value"
    );
    assert_eq!(a.json["properties"]["score"], "1234.5");
    let errors = import_errors(&s, &t, &done, "");
    assert_eq!(errors[0]["errorType"], "INVALID_ENUMERATION_OPTION");
    assert_eq!(errors[0]["invalidValue"], "bronze");

    // Portal 2 never defined `tier`: for it the column is an unknown property.
    let other = s.token(2, &[]);
    let done = s.import(
        &other,
        &request,
        &[("c.csv", b"Email,Tier,Score\nz@x.example,gold,1\n")],
    );
    assert_eq!(
        error_types(&s, &other, &done),
        [
            "PROPERTY_DEFINITION_NOT_FOUND",
            "PROPERTY_DEFINITION_NOT_FOUND"
        ]
    );
}
