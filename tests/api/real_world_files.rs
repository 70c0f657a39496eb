//! Files as people have them: saved by Excel on Windows (Windows-1252, semicolons, CRLF),
//! "CSV UTF-8" with a BOM, "Unicode text" (UTF-16, tabs) — and binary garbage.

use crate::support::*;

fn request(file: &str) -> String {
    contacts_request(
        file,
        "UPSERT",
        &[
            ("Email", "email"),
            ("First Name", "firstname"),
            ("City", "city"),
            ("Notes", "message"),
        ],
    )
}

fn import_and_check(file: &str, bytes: &[u8]) {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    // `message` is not a contact property: that column is a row error, the others import.
    let done = s.import(&t, &request(file), &[(file, bytes)]);
    assert_eq!(done["state"], "DONE", "{file}");
    assert_eq!(counter(&done, "CREATED_OBJECTS"), 2, "{file}");
    let jose = s.get(
        &t,
        "/crm/v3/objects/contacts/jose@example.com?idProperty=email&properties=firstname,city",
    );
    assert_eq!(jose.json["properties"]["firstname"], "José", "{file}");
    assert_eq!(jose.json["properties"]["city"], "Zürich", "{file}");
    let anne = s.get(
        &t,
        "/crm/v3/objects/contacts/anne@example.com?idProperty=email&properties=city",
    );
    assert_eq!(anne.json["properties"]["city"], "Besançon", "{file}");
    let errors = import_errors(&s, &t, &done, "");
    let first = &errors[0];
    assert_eq!(
        first["errorType"], "PROPERTY_DEFINITION_NOT_FOUND",
        "{file}"
    );
    assert_eq!(
        first["invalidValue"], "Größe: 42; \"quoted\"",
        "{file}: quotes and delimiters inside a cell survive"
    );
    assert_eq!(errors[1]["sourceData"]["lineNumber"], 3, "{file}");
}

#[test]
fn excel_on_windows_csv_is_transcoded_from_windows_1252() {
    import_and_check(
        "excel-windows1252-semicolon.csv",
        include_bytes!("../fixtures/excel-windows1252-semicolon.csv"),
    );
}

#[test]
fn csv_utf8_with_bom_and_semicolons() {
    import_and_check(
        "excel-utf8-bom-semicolon.csv",
        include_bytes!("../fixtures/excel-utf8-bom-semicolon.csv"),
    );
}

#[test]
fn unicode_text_utf16_with_tabs() {
    import_and_check(
        "excel-unicode-text.txt",
        include_bytes!("../fixtures/excel-unicode-text.txt"),
    );
}

#[test]
fn binary_garbage_is_one_file_error_and_nothing_else_breaks() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let done = s.import(&t, &request("garbage.csv"), &[("garbage.csv", &garbage)]);
    assert_eq!(done["state"], "DONE");
    assert_eq!(counter(&done, "CREATED_OBJECTS"), 0);
    let errors = import_errors(&s, &t, &done, "includeErrorMessage=true");
    assert_eq!(errors[0]["errorType"], "INVALID_FILE_TYPE");
    assert_eq!(errors[0]["sourceData"]["lineNumber"], 0);
    assert_eq!(
        s.import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)])["state"],
        "DONE"
    );
}
