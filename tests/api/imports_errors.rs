//! GET /crm/v3/imports/{id}/errors and the row errors a messy file produces.

use crate::support::*;

#[test]
fn errors_page_with_cursor_and_optional_message_and_row_data() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let mut csv = String::from("Email,First\n");
    for i in 0..25 {
        csv.push_str(&format!("bad-{i},N{i}\n"));
    }
    csv.push_str("good@x.example,Good\n");
    let done = s.import(
        &t,
        &contacts_request(
            "e.csv",
            "UPSERT",
            &[("Email", "email"), ("First", "firstname")],
        ),
        &[("e.csv", csv.as_bytes())],
    );
    assert_eq!(
        (counter(&done, "ERRORS"), counter(&done, "CREATED_OBJECTS")),
        (25, 1)
    );
    let id = done["id"].as_str().unwrap();
    let mut seen = Vec::new();
    let mut path = format!("/crm/v3/imports/{id}/errors?limit=10");
    loop {
        let r = s.get(&t, &path);
        assert_eq!(r.status, 200, "{}", r.text);
        for e in r.json["results"].as_array().unwrap() {
            assert_eq!(e["errorType"], "INVALID_EMAIL");
            assert!(e.get("errorMessage").is_none(), "message only when asked");
            assert_eq!(
                e["sourceData"]["rowData"],
                serde_json::json!([]),
                "rowData only when asked"
            );
            assert_eq!(e["sourceData"]["containsEncryptedProperties"], false);
            seen.push(e["sourceData"]["lineNumber"].as_i64().unwrap());
        }
        match r.json["paging"]["next"]["after"].as_str() {
            Some(after) => {
                assert!(r.json["paging"]["next"]["link"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("after={after}")));
                path = format!("/crm/v3/imports/{id}/errors?limit=10&after={after}");
            }
            None => break,
        }
    }
    assert_eq!(seen, (2..=26).collect::<Vec<_>>());
    // Python sends booleans capitalised.
    let r = s.get(
        &t,
        &format!(
            "/crm/v3/imports/{id}/errors?limit=1&includeErrorMessage=True&includeRowData=True"
        ),
    );
    assert_eq!(
        r.json["results"][0]["sourceData"]["rowData"],
        serde_json::json!(["bad-0", "N0"])
    );
    assert!(r.json["results"][0]["errorMessage"].is_string());
    s.get(
        &t,
        &format!("/crm/v3/imports/{id}/errors?includeRowData=maybe"),
    )
    .assert_error(400, "VALIDATION_ERROR");
}

#[test]
fn broken_lines_are_row_errors_and_the_rest_of_the_file_imports() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    // UTF-8 for well over the 64 KiB the encoding is judged on, then a line of the wrong width
    // and a line with a stray Latin-1 byte, then trailing blank lines.
    let mut csv = b"Email,First\n".to_vec();
    for i in 0..3000 {
        csv.extend_from_slice(
            format!("ok{i}@x.example,Zo\u{eb} number {i} with padding\n").as_bytes(),
        );
    }
    csv.extend_from_slice(
        b"too,many,cells\nlatin1@x.example,Jos\xe9\nlast@x.example,\"Last\"\n\n\n",
    );
    let request = contacts_request(
        "b.csv",
        "UPSERT",
        &[("Email", "email"), ("First", "firstname")],
    );
    let done = s.import(&t, &request, &[("b.csv", &csv)]);
    assert_eq!(done["state"], "DONE");
    let got = (
        counter(&done, "TOTAL_ROWS"),
        counter(&done, "CREATED_OBJECTS"),
        counter(&done, "ERRORS"),
    );
    assert_eq!(got, (3003, 3001, 2));
    assert_eq!(
        row_errors(&s, &t, &done),
        [
            ("INCORRECT_NUMBER_OF_COLUMNS".to_string(), 3002),
            ("COULD_NOT_PARSE_ROW".to_string(), 3003)
        ]
    );
    let last = s.get(
        &t,
        "/crm/v3/objects/contacts/last@x.example?idProperty=email&properties=firstname",
    );
    assert_eq!(last.json["properties"]["firstname"], "Last");
}

#[test]
fn an_unknown_property_is_a_row_error_and_the_other_columns_import() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let request = contacts_request(
        "u.csv",
        "UPSERT",
        &[
            ("Email", "email"),
            ("Shoe", "shoe_size"),
            ("First", "firstname"),
        ],
    );
    let done = s.import(
        &t,
        &request,
        &[(
            "u.csv",
            b"Email,Shoe,First\nann@x.example,38,Ann\nbo@x.example,,Bo\n",
        )],
    );
    assert_eq!(
        (counter(&done, "CREATED_OBJECTS"), counter(&done, "ERRORS")),
        (2, 1)
    );
    let errors = import_errors(&s, &t, &done, "");
    let e = &errors[0];
    assert_eq!(e["errorType"], "PROPERTY_DEFINITION_NOT_FOUND");
    assert_eq!(e["knownColumnNumber"], 1);
    assert_eq!(e["invalidValue"], "38");
    let ann = s.get(
        &t,
        "/crm/v3/objects/contacts/ann@x.example?idProperty=email&properties=firstname",
    );
    assert_eq!(ann.json["properties"]["firstname"], "Ann");
}

#[test]
fn a_mapped_column_missing_from_the_file_is_a_file_error() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let request = contacts_request(
        "m.csv",
        "UPSERT",
        &[
            ("Email", "email"),
            ("First", "firstname"),
            ("Phone", "phone"),
        ],
    );
    let done = s.import(&t, &request, &[("m.csv", b"Email\nann@x.example\n")]);
    assert_eq!(done["state"], "DONE");
    assert_eq!(counter(&done, "CREATED_OBJECTS"), 0);
    let errors = import_errors(&s, &t, &done, "includeErrorMessage=true");
    let e = &errors[0];
    assert_eq!(
        e["sourceData"]["lineNumber"], 0,
        "file-wide errors use line 0"
    );
    assert!(e["errorMessage"].as_str().unwrap().contains("First"));
}
