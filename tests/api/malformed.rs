//! Bad requests get a clear HubSpot-shaped 4xx, leave nothing behind, and the server keeps serving.

use crate::support::*;

fn assert_no_imports(s: &TestServer, t: &str) {
    assert_eq!(
        s.get(t, "/crm/v3/imports").json["results"],
        serde_json::json!([])
    );
}

#[test]
fn malformed_import_requests_are_400_and_store_nothing() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let file = ("Nov-event-leads.csv", GUIDE_CSV);

    let r = s.create_import(&t, "{ not json", &[file]);
    assert!(r.assert_error(400, "VALIDATION_ERROR")["message"]
        .as_str()
        .unwrap()
        .contains("JSON"));

    let bad = r#"{"name":"x","dateFormat":"SOMEDAY","files":[{"fileName":"Nov-event-leads.csv","fileFormat":"PDF","fileImportPage":{"columnMappings":[{"columnObjectTypeId":"0-99","columnName":"A","propertyName":"a"}]}}]}"#;
    let r = s.create_import(&t, bad, &[file]);
    let body = r.assert_error(400, "VALIDATION_ERROR");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["in"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"dateFormat") && fields.contains(&"files[0].fileFormat"),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"files[0].fileImportPage.columnMappings[0].columnObjectTypeId"),
        "{fields:?}"
    );

    let r = s.create_import(&t, GUIDE_REQUEST, &[("other-name.csv", GUIDE_CSV)]);
    let msg = r.assert_error(400, "VALIDATION_ERROR")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("Nov-event-leads.csv") && msg.contains("other-name.csv"),
        "{msg}"
    );

    s.create_import(&t, GUIDE_REQUEST, &[])
        .assert_error(400, "VALIDATION_ERROR");
    s.create_import(&t, GUIDE_REQUEST, &[file, file])
        .assert_error(400, "VALIDATION_ERROR");

    let (ct, body) = multipart(&[Part::file(
        "files",
        "Nov-event-leads.csv",
        "text/csv",
        GUIDE_CSV,
    )]);
    let r = s.post_raw(&t, "/crm/v3/imports", &ct, &body);
    assert!(r.assert_error(400, "VALIDATION_ERROR")["message"]
        .as_str()
        .unwrap()
        .contains("importRequest"));

    s.post_raw(
        &t,
        "/crm/v3/imports",
        "application/json",
        GUIDE_REQUEST.as_bytes(),
    )
    .assert_error(400, "VALIDATION_ERROR");
    s.post_raw(&t, "/crm/v3/imports", "multipart/form-data", b"--x\r\n")
        .assert_error(400, "VALIDATION_ERROR");

    // Truncated in the middle of the file part.
    let (ct, body) = multipart(&[
        Part::text("importRequest", GUIDE_REQUEST),
        Part::file("files", "Nov-event-leads.csv", "text/csv", GUIDE_CSV),
    ]);
    let r = s.post_raw(&t, "/crm/v3/imports", &ct, &body[..body.len() - 60]);
    r.assert_error(400, "VALIDATION_ERROR");
    // A files part without a filename.
    let (ct, body) = multipart(&[
        Part::text("importRequest", GUIDE_REQUEST),
        Part::text("files", "a,b\n1,2\n"),
    ]);
    s.post_raw(&t, "/crm/v3/imports", &ct, &body)
        .assert_error(400, "VALIDATION_ERROR");

    assert_no_imports(&s, &t);
    assert_no_stored_uploads(&s);
    // Still serving, and a good request still works.
    let done = s.import(&t, GUIDE_REQUEST, &[file]);
    assert_eq!(done["state"], "DONE");
}

#[test]
fn a_refused_upload_leaves_no_stored_file_behind() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    s.create_import(&t, "[]", &[("x.csv", b"Email\na@b.example\n")])
        .assert_error(400, "VALIDATION_ERROR");
    assert_no_imports(&s, &t);
    assert_no_stored_uploads(&s);
}

#[test]
fn unknown_routes_and_methods_answer_json() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    s.get(&t, "/crm/v3/nothing-here")
        .assert_error(404, "OBJECT_NOT_FOUND");
    Resp::from(
        ureq::delete(&s.url("/crm/v3/imports"))
            .set("Authorization", &format!("Bearer {t}"))
            .call(),
    )
    .assert_error(405, "VALIDATION_ERROR");
}
