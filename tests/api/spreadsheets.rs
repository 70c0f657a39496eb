//! `fileFormat: SPREADSHEET`: an .xlsx written by a real spreadsheet writer (openpyxl).

use crate::support::*;
use serde_json::json;

const XLSX: &[u8] = include_bytes!("../fixtures/contacts.xlsx");

fn request(file: &str) -> String {
    let col =
        |c: &str, p: &str| json!({"columnObjectTypeId": "0-1", "columnName": c, "propertyName": p});
    json!({"name": "sheet", "dateFormat": "DAY_MONTH_YEAR", "files": [{"fileName": file, "fileFormat": "SPREADSHEET",
        "fileImportPage": {"hasHeader": true, "columnMappings": [
            col("Email", "email"), col("First Name", "firstname"), col("Date of birth", "date_of_birth"),
            col("Phone", "phone"), col("Lifecycle Stage", "lifecyclestage")]}}]})
    .to_string()
}

#[test]
fn an_xlsx_imports_from_cell_values_with_sheet_line_numbers() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let done = s.import(&t, &request("contacts.xlsx"), &[("contacts.xlsx", XLSX)]);
    assert_eq!(done["state"], "DONE");
    assert_eq!(
        (
            counter(&done, "TOTAL_ROWS"),
            counter(&done, "CREATED_OBJECTS"),
            counter(&done, "ERRORS")
        ),
        (4, 3, 1)
    );
    let get = |email: &str| {
        s.get(&t, &format!("/crm/v3/objects/contacts/{email}?idProperty=email&properties=date_of_birth,phone,lifecyclestage,firstname")).json
    };
    let ada = get("ada@analytical.example");
    assert_eq!(
        ada["properties"]["date_of_birth"], "1985-12-10",
        "a date cell, not its display text"
    );
    assert_eq!(
        ada["properties"]["phone"], "5551234567",
        "a numeric cell without a trailing .0"
    );
    assert_eq!(
        ada["properties"]["lifecyclestage"], "lead",
        "matched by label"
    );
    assert_eq!(
        get("grace@navy.example")["properties"]["date_of_birth"],
        "1906-12-09"
    );
    assert_eq!(
        get("alan@bletchley.example")["properties"]["date_of_birth"],
        "1912-06-23",
        "text dates follow dateFormat"
    );
    let errors = import_errors(&s, &t, &done, "includeRowData=true");
    let e = &errors[0];
    assert_eq!(e["errorType"], "INVALID_EMAIL");
    assert_eq!(
        e["sourceData"]["lineNumber"], 5,
        "the sheet's row number (a blank row 4 in between)"
    );
    assert_eq!(e["sourceData"]["rowData"][0], "not-an-email");
    assert_eq!(
        s.get(
            &t,
            "/crm/v3/objects/contacts/nobody@ignored.example?idProperty=email"
        )
        .status,
        404,
        "only the first sheet"
    );
}

#[test]
fn a_file_that_is_not_a_spreadsheet_is_one_file_error() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let done = s.import(
        &t,
        &request("fake.xlsx"),
        &[("fake.xlsx", b"Email,First Name\na@b.example,A\n")],
    );
    assert_eq!(done["state"], "DONE");
    assert_eq!(counter(&done, "CREATED_OBJECTS"), 0);
    let errors = import_errors(&s, &t, &done, "includeErrorMessage=true");
    assert_eq!(errors[0]["errorType"], "INVALID_SPREADSHEET");
    assert_eq!(errors[0]["sourceData"]["lineNumber"], 0);
    // A zip that is not a workbook is refused the same way.
    let done = s.import(
        &t,
        &request("zip.xlsx"),
        &[("zip.xlsx", b"PK\x03\x04garbage")],
    );
    let errors = import_errors(&s, &t, &done, "");
    assert_eq!(errors[0]["errorType"], "INVALID_SPREADSHEET");
}
