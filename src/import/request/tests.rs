use super::*;

const GUIDE: &str = include_str!("../../../tests/fixtures/Nov-event-leads.importRequest.json");

#[test]
fn guide_example_parses() {
    let r = ImportRequest::parse(GUIDE).unwrap();
    assert_eq!(r.name, "November Marketing Event Leads");
    assert_eq!(r.date_format, DateFormat::DayMonthYear);
    assert_eq!(r.operation(ObjectType::Contact), Operation::Create);
    assert_eq!(r.files.len(), 1);
    let f = &r.files[0];
    assert_eq!(f.file_name, "Nov-event-leads.csv");
    assert_eq!(f.columns.len(), 3);
    assert_eq!(f.columns[2].column_type, ColumnType::AlternateId);
    assert_eq!(f.columns[2].property_name.as_deref(), Some("email"));
    let echo = r.echo_json();
    assert_eq!(echo["importName"], "November Marketing Event Leads");
    assert_eq!(echo["importOperations"]["0-1"], "CREATE");
}

#[test]
fn legacy_shape_with_nulls_parses() {
    let text = r#"{"name":"test_import","files":[{"fileName":"final_emails.csv","fileImportPage":{"hasHeader":true,"columnMappings":[
        {"ignored":false,"columnName":"First Name","idColumnType":null,"propertyName":"firstname","foreignKeyType":null,"columnObjectType":"CONTACT","associationIdentifierColumn":false},
        {"ignored":false,"columnName":"Email","idColumnType":"HUBSPOT_ALTERNATE_ID","propertyName":"email","foreignKeyType":null,"columnObjectType":"CONTACT","associationIdentifierColumn":false},
        {"ignored":false,"columnName":"Company ID","idColumnType":"HUBSPOT_OBJECT_ID","propertyName":null,"foreignKeyType":{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":1},"columnObjectType":"CONTACT","associationIdentifierColumn":false}]}}]}"#;
    let r = ImportRequest::parse(text).unwrap();
    assert_eq!(r.operation(ObjectType::Contact), Operation::Upsert);
    assert_eq!(r.date_format, DateFormat::MonthDayYear);
    let c = &r.files[0].columns;
    assert_eq!(c[1].column_type, ColumnType::AlternateId);
    assert_eq!(c[2].property_name, None);
    assert_eq!(c[2].association_type_id, Some(1));
    assert_eq!(r.files[0].format, FileFormat::Csv);
}

#[test]
fn every_problem_is_reported() {
    let text = r#"{"name":"x","dateFormat":"WEEKDAY","importOperations":{"0-1":"MERGE","0-5":"CREATE"},
        "files":[{"fileName":"../a.csv","fileFormat":"PDF","fileImportPage":{"columnMappings":[
        {"columnObjectTypeId":"0-7","columnName":"A","propertyName":"a"},{"columnName":"B","propertyName":"b"}]}}]}"#;
    let e = ImportRequest::parse(text).unwrap_err();
    let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
    for f in [
        "dateFormat",
        "importOperations.0-1",
        "importOperations.0-5",
        "files[0].fileName",
        "files[0].fileFormat",
        "files[0].fileImportPage.columnMappings[0].columnObjectTypeId",
        "files[0].fileImportPage.columnMappings[1].columnObjectTypeId",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
}

#[test]
fn malformed_json_and_wrong_shapes_are_errors_not_panics() {
    for text in [
        "",
        "{",
        "[]",
        "42",
        "null",
        r#"{"files":"x"}"#,
        r#"{"files":[]}"#,
        r#"{"files":[{"fileName":"a.csv"}]}"#,
    ] {
        assert!(ImportRequest::parse(text).is_err(), "{text}");
    }
}

#[test]
fn duplicate_file_names_are_refused() {
    let one = r#"{"fileName":"a.csv","fileImportPage":{"columnMappings":[{"columnObjectTypeId":"0-1","columnName":"E","propertyName":"email"}]}}"#;
    let text = format!(r#"{{"name":"d","files":[{one},{one}]}}"#);
    assert!(ImportRequest::parse(&text)
        .unwrap_err()
        .message
        .contains("twice"));
}

#[test]
fn files_find_each_other_by_name_then_by_name_but_for_case() {
    let names = ["Leads.CSV", "leads.csv", "other.csv"];
    let find = |n: &str| by_file_name(&names, n, |s| s).copied();
    assert_eq!(find("leads.csv"), Some("leads.csv"), "the exact name first");
    assert_eq!(
        find("LEADS.csv"),
        Some("Leads.CSV"),
        "else the first but for case"
    );
    assert_eq!(find("Other.CSV"), Some("other.csv"));
    assert_eq!(find("missing.csv"), None);
}
