//! Nothing crosses portals: another portal's ids are 404, exactly like ids that do not exist.

use crate::support::*;

#[test]
fn another_portals_imports_errors_and_records_are_invisible() {
    let s = TestServer::start();
    let owner = s.token(1, &[]);
    let other = s.token(2, &[]);
    let done = s.import(&owner, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    let id = done["id"].as_str().unwrap();
    let contact_id = s.all_records(&owner, "contacts", "email")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    s.get(&other, &format!("/crm/v3/imports/{id}"))
        .assert_error(404, "OBJECT_NOT_FOUND");
    s.get(&other, &format!("/crm/v3/imports/{id}/errors"))
        .assert_error(404, "OBJECT_NOT_FOUND");
    s.post(&other, &format!("/crm/v3/imports/{id}/cancel"))
        .assert_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(
        s.get(&other, "/crm/v3/imports").json["results"],
        serde_json::json!([])
    );
    assert_eq!(
        s.get(&other, "/crm/v3/objects/contacts").json["results"],
        serde_json::json!([])
    );
    s.get(&other, &format!("/crm/v3/objects/contacts/{contact_id}"))
        .assert_error(404, "OBJECT_NOT_FOUND");
    s.get(
        &other,
        "/crm/v3/objects/contacts/ada@analytical.example?idProperty=email",
    )
    .assert_error(404, "OBJECT_NOT_FOUND");

    // The same email in portal 2 is a different contact; portal 1's stays as it was.
    let r = s.import(
        &other,
        &contacts_request(
            "p2.csv",
            "UPSERT",
            &[("Email", "email"), ("First", "firstname")],
        ),
        &[("p2.csv", b"Email,First\nada@analytical.example,Other\n")],
    );
    assert_eq!(counter(&r, "CREATED_OBJECTS"), 1);
    let mine = s.get(
        &owner,
        "/crm/v3/objects/contacts/ada@analytical.example?idProperty=email&properties=firstname",
    );
    assert_eq!(mine.json["properties"]["firstname"], "Ada");
    assert_eq!(
        s.get(&owner, &format!("/crm/v3/imports/{id}")).json["state"],
        "DONE"
    );
}
