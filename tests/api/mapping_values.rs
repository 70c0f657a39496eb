//! Typed values through HTTP (booleans, multi-select enumerations, EU numbers, dates by
//! dateFormat), each failure a row error of HubSpot's type; required properties; files without
//! a header; CR-only line endings.

use crate::support::*;
use serde_json::json;

fn create_property(s: &TestServer, t: &str, body: serde_json::Value) {
    let r = s.post_json(t, "/crm/v3/properties/contacts", body);
    assert_eq!(r.status, 201, "{}", r.text);
}

#[test]
fn values_are_coerced_by_type_and_bad_ones_are_row_errors() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    create_property(
        &s,
        &t,
        json!({"name": "vip", "label": "VIP", "type": "bool", "fieldType": "booleancheckbox", "groupName": "contactinformation"}),
    );
    create_property(
        &s,
        &t,
        json!({"name": "tags", "label": "Tags", "type": "enumeration", "fieldType": "checkbox", "groupName": "contactinformation",
        "options": [{"label": "Alpha", "value": "a"}, {"label": "Beta", "value": "b"}, {"label": "Gamma", "value": "c"}]}),
    );
    create_property(
        &s,
        &t,
        json!({"name": "score", "label": "Score", "type": "number", "fieldType": "number", "groupName": "contactinformation"}),
    );
    let request = json!({"name": "typed", "dateFormat": "DAY_MONTH_YEAR", "files": [{"fileName": "t.csv", "fileImportPage": {"hasHeader": true, "columnMappings": [
        {"columnObjectTypeId": "0-1", "columnName": "Email", "propertyName": "email"},
        {"columnObjectTypeId": "0-1", "columnName": "VIP", "propertyName": "vip"},
        {"columnObjectTypeId": "0-1", "columnName": "Tags", "propertyName": "tags"},
        {"columnObjectTypeId": "0-1", "columnName": "Score", "propertyName": "score"},
        {"columnObjectTypeId": "0-1", "columnName": "Born", "propertyName": "date_of_birth"}]}}]})
    .to_string();
    let csv = "Email;VIP;Tags;Score;Born\ngood@x.example;ja;\"Alpha; c\";1.234,50;28.10.2023\nbad@x.example;maybe;z;1,234;31.02.2023\n";
    let done = s.import(&t, &request, &[("t.csv", csv.as_bytes())]);
    assert_eq!(
        (counter(&done, "CREATED_OBJECTS"), counter(&done, "ERRORS")),
        (2, 4),
        "bad values do not stop the row"
    );
    let good = s.get(&t, "/crm/v3/objects/contacts/good@x.example?idProperty=email&properties=vip,tags,score,date_of_birth").json;
    assert_eq!(good["properties"]["vip"], "true");
    assert_eq!(good["properties"]["tags"], "a;c");
    assert_eq!(good["properties"]["score"], "1234.5");
    assert_eq!(good["properties"]["date_of_birth"], "2023-10-28");
    let errors = import_errors(&s, &t, &done, "");
    let got: Vec<(&str, i64, &str)> = errors
        .iter()
        .map(|e| {
            (
                e["errorType"].as_str().unwrap(),
                e["knownColumnNumber"].as_i64().unwrap(),
                e["invalidValue"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("FAILED_VALIDATION", 1, "maybe"),
            ("INVALID_ENUMERATION_OPTION", 2, "z"),
            ("COULD_NOT_PARSE_NUMBER", 3, "1,234"),
            ("COULD_NOT_PARSE_DATE", 4, "31.02.2023"),
        ]
    );
}

#[test]
fn required_properties_files_without_header_and_cr_line_endings() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    // No header: columns are taken by position; old Mac line endings (CR only).
    let request = json!({"name": "nohdr", "files": [{"fileName": "n.csv", "fileImportPage": {"hasHeader": false, "columnMappings": [
        {"columnObjectTypeId": "0-2", "columnName": "anything", "propertyName": "name"},
        {"columnObjectTypeId": "0-2", "columnName": "else", "propertyName": "domain"},
        {"columnObjectTypeId": "0-2", "columnName": "x", "propertyName": "city"}]}}]})
    .to_string();
    let done = s.import(
        &t,
        &request,
        &[("n.csv", b"Acme,acme.example,Oslo\r,,Paris\rInitech,,\r")],
    );
    assert_eq!(
        (
            counter(&done, "TOTAL_ROWS"),
            counter(&done, "CREATED_OBJECTS"),
            counter(&done, "ERRORS")
        ),
        (3, 2, 1)
    );
    let acme = s
        .get(
            &t,
            "/crm/v3/objects/companies/acme.example?idProperty=domain&properties=name,city",
        )
        .json;
    assert_eq!(acme["properties"]["city"], "Oslo");
    let errors = import_errors(&s, &t, &done, "");
    assert_eq!(
        errors[0]["errorType"], "MISSING_REQUIRED_PROPERTY",
        "a company needs a name or a domain"
    );
    assert_eq!(
        errors[0]["sourceData"]["lineNumber"], 2,
        "without a header the first row is row 1"
    );
    // A contact needs an email or a name; a phone alone is not enough.
    let done = s.import(
        &t,
        &contacts_request("p.csv", "UPSERT", &[("Phone", "phone")]),
        &[("p.csv", b"Phone\n+4712345678\n")],
    );
    let errors = import_errors(&s, &t, &done, "");
    assert_eq!(errors[0]["errorType"], "MISSING_REQUIRED_PROPERTY");
}
