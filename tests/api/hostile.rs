//! Hostile and broken input: every case gets a clear 4xx or a row error, the server keeps
//! serving, and what was already imported stays.

use crate::support::*;

#[test]
fn huge_lines_rows_and_column_counts_are_errors_not_crashes() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let before = s.import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    let request = contacts_request(
        "h.csv",
        "UPSERT",
        &[("Email", "email"), ("First", "firstname")],
    );

    // One row of 2 MiB: that row is refused, the others import.
    let mut csv = b"Email,First\na@x.example,A\n".to_vec();
    csv.extend_from_slice(b"b@x.example,");
    csv.extend(std::iter::repeat_n(b'x', 2 << 20));
    csv.extend_from_slice(b"\nc@x.example,C\n");
    let done = s.import(&t, &request, &[("h.csv", &csv)]);
    assert_eq!(counter(&done, "CREATED_OBJECTS"), 2);
    assert_eq!(
        row_errors(&s, &t, &done),
        [("ROW_DATA_TOO_LARGE".to_string(), 3)]
    );

    // A 9 MiB line with no end: the rows before it import, then one file-wide error.
    let mut csv = b"Email,First\nd@x.example,D\n".to_vec();
    csv.extend(std::iter::repeat_n(b'y', 9 << 20));
    let done = s.import(&t, &request, &[("h.csv", &csv)]);
    assert_eq!(done["state"], "DONE");
    assert_eq!(counter(&done, "CREATED_OBJECTS"), 1);
    let errors = row_errors(&s, &t, &done);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "ROW_DATA_TOO_LARGE");

    // 10,000 columns: one file error.
    let header: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
    let csv = format!("{}\n{}\n", header.join(","), vec!["v"; 10_000].join(","));
    let wide = contacts_request("w.csv", "UPSERT", &[("c0", "email")]);
    let done = s.import(&t, &wide, &[("w.csv", csv.as_bytes())]);
    assert_eq!(
        row_errors(&s, &t, &done),
        [("INCORRECT_NUMBER_OF_COLUMNS".to_string(), 0)]
    );

    // A request mapping 1,000 columns is refused at once.
    let cols: Vec<(String, String)> = (0..1000)
        .map(|i| (format!("c{i}"), "firstname".to_string()))
        .collect();
    let cols: Vec<(&str, &str)> = cols.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    s.create_import(
        &t,
        &contacts_request("w.csv", "UPSERT", &cols),
        &[("w.csv", b"c0\nx\n")],
    )
    .assert_error(400, "VALIDATION_ERROR");

    // What was imported before is untouched, and the server still serves.
    assert_eq!(
        s.get(
            &t,
            &format!("/crm/v3/imports/{}", before["id"].as_str().unwrap())
        )
        .json["state"],
        "DONE"
    );
    assert!(
        s.get(
            &t,
            "/crm/v3/objects/contacts/ada@analytical.example?idProperty=email"
        )
        .status
            == 200
    );
}

#[test]
fn malformed_forms_and_json_bombs_get_400() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let file = ("Nov-event-leads.csv", GUIDE_CSV);
    // Too many parts, too many files.
    let mut parts = vec![Part::text("importRequest", GUIDE_REQUEST)];
    for _ in 0..40 {
        parts.push(Part::text("noise", "x"));
    }
    let (ct, body) = multipart(&parts);
    s.post_raw(&t, "/crm/v3/imports", &ct, &body)
        .assert_error(400, "VALIDATION_ERROR");
    let names: Vec<String> = (0..11).map(|i| format!("f{i}.csv")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), GUIDE_CSV)).collect();
    s.create_import(&t, GUIDE_REQUEST, &files)
        .assert_error(400, "VALIDATION_ERROR");
    // A JSON nesting bomb as importRequest.
    let bomb = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    s.create_import(&t, &bomb, &[file])
        .assert_error(400, "VALIDATION_ERROR");
    // A body whose boundary is not the one announced.
    let (_, body) = multipart(&[
        Part::text("importRequest", GUIDE_REQUEST),
        Part::file("files", file.0, "text/csv", file.1),
    ]);
    s.post_raw(
        &t,
        "/crm/v3/imports",
        "multipart/form-data; boundary=not-the-one",
        &body,
    )
    .assert_error(400, "VALIDATION_ERROR");
    // None of them left an import or a stored file behind.
    assert_eq!(
        s.get(&t, "/crm/v3/imports").json["results"],
        serde_json::json!([])
    );
    assert_no_stored_uploads(&s);
    // Still serving.
    assert_eq!(s.import(&t, GUIDE_REQUEST, &[file])["state"], "DONE");
}
