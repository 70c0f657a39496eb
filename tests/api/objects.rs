//! GET /crm/v3/objects/{type} and /{type}/{id}: reading back what imports wrote.

use crate::support::*;

#[test]
fn records_read_back_with_property_selection_paging_and_id_property() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    s.import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);

    let page = s.get(&t, "/crm/v3/objects/contacts");
    assert_eq!(page.status, 200);
    let first = &page.json["results"][0];
    let keys: Vec<&String> = first["properties"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname"
        ],
        "HubSpot's default set"
    );
    assert_eq!(first["properties"]["hs_object_id"], first["id"]);
    assert_eq!(first["archived"], false);
    chrono::DateTime::parse_from_rfc3339(first["createdAt"].as_str().unwrap()).unwrap();

    // Repeated keys (the SDKs) and comma lists (curl) both work; unknown names are left out,
    // defined properties without a value are null.
    let r = s.get(
        &t,
        "/crm/v3/objects/0-1?limit=2&properties=email&properties=phone,no_such_property",
    );
    let p = r.json["results"][0]["properties"].as_object().unwrap();
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p["phone"].is_null());
    let after = r.json["paging"]["next"]["after"].as_str().unwrap();
    let r2 = s.get(
        &t,
        &format!("/crm/v3/objects/contacts?limit=2&after={after}&properties=email"),
    );
    assert_eq!(r2.json["results"].as_array().unwrap().len(), 2);
    assert!(r2.json.get("paging").is_none());

    let id = first["id"].as_str().unwrap();
    let one = s.get(
        &t,
        &format!("/crm/v3/objects/contact/{id}?properties=email"),
    );
    assert_eq!(one.json["properties"]["email"], "ada@analytical.example");
    let by_email = s.get(
        &t,
        "/crm/v3/objects/contacts/Barbara@MIT.example?idProperty=email",
    );
    assert_eq!(by_email.json["properties"]["lastname"], "Liskov");

    s.get(&t, "/crm/v3/objects/contacts/12345678")
        .assert_error(404, "OBJECT_NOT_FOUND");
    s.get(&t, "/crm/v3/objects/contacts/not-a-number")
        .assert_error(404, "OBJECT_NOT_FOUND");
    s.get(&t, "/crm/v3/objects/contacts/x?idProperty=firstname")
        .assert_error(400, "VALIDATION_ERROR");
    s.get(&t, "/crm/v3/objects/tickets")
        .assert_error(400, "VALIDATION_ERROR");
    s.get(&t, "/crm/v3/objects/contacts?limit=1000")
        .assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        s.get(&t, "/crm/v3/objects/contacts?archived=true").json["results"],
        serde_json::json!([])
    );
}
