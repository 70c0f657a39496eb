use super::*;
use crate::import::request::ImportRequest;

fn plan(request: &str, header: &[&str]) -> FilePlan {
    let r = ImportRequest::parse(request).unwrap();
    let h: Vec<String> = header.iter().map(|s| s.to_string()).collect();
    FilePlan::new(&r.files[0], Some(&h), &Catalogue::default()).unwrap()
}

fn row(line: u64, cells: &[&str]) -> Row {
    Row {
        line,
        cells: cells.iter().map(|s| s.to_string()).collect(),
    }
}

const GUIDE: &str = include_str!("../../../tests/fixtures/Nov-event-leads.importRequest.json");
const DEALS: &str =
    include_str!("../../../tests/fixtures/deals-with-contacts-and-companies.importRequest.json");

#[test]
fn guide_row_becomes_a_keyed_contact() {
    let p = plan(GUIDE, &["First Name", "Last Name", "Email"]);
    let m = p.map_row(row(5, &["Barbara", "Liskov", " BARBARA@MIT.EXAMPLE "]));
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    let d = &m.drafts[0];
    assert_eq!(d.object_type, ObjectType::Contact);
    assert_eq!(d.key.as_deref(), Some("barbara@mit.example"));
    assert_eq!(d.properties["firstname"], "Barbara");
}

#[test]
fn invalid_email_is_a_row_error_and_no_contact() {
    let p = plan(GUIDE, &["First Name", "Last Name", "Email"]);
    let m = p.map_row(row(5, &["Edsger", "Dijkstra", "not-an-email"]));
    assert!(m.drafts.is_empty());
    assert_eq!(m.errors[0].error_type, ErrorType::InvalidEmail);
    assert_eq!(m.errors[0].column, Some(2));
    assert_eq!(m.errors[0].invalid_value.as_deref(), Some("not-an-email"));
    assert_eq!(m.errors[0].object_type, Some(ObjectType::Contact));
}

#[test]
fn headers_match_loosely_then_by_position() {
    // HubSpot's SDK sample maps "First Name" onto a `firstname` header.
    let p = plan(GUIDE, &["firstname", "last_name", "E-mail"]);
    let m = p.map_row(row(2, &["Ada", "Lovelace", "ada@example.com"]));
    assert_eq!(m.drafts[0].properties["lastname"], "Lovelace");
    assert_eq!(m.drafts[0].key.as_deref(), Some("ada@example.com"));
    // Columns in another order are found by name.
    let p = plan(GUIDE, &["Email", "Last Name", "First Name"]);
    let m = p.map_row(row(2, &["ada@example.com", "Lovelace", "Ada"]));
    assert_eq!(m.drafts[0].properties["firstname"], "Ada");
}

#[test]
fn wrong_width_is_a_row_error() {
    let p = plan(GUIDE, &["First Name", "Last Name", "Email"]);
    let m = p.map_row(row(3, &["only", "two"]));
    assert!(m.drafts.is_empty());
    assert_eq!(m.errors[0].error_type, ErrorType::IncorrectNumberOfColumns);
}

#[test]
fn blank_cells_are_left_out_and_bad_values_do_not_sink_the_row() {
    let p = plan(
        DEALS,
        &[
            "Email",
            "First name",
            "Company name",
            "Company domain",
            "Deal name",
            "Amount",
            "Close date",
        ],
    );
    let m = p.map_row(row(
        2,
        &[
            "mia@northwind.example",
            "",
            "Northwind",
            "https://www.northwind.example/",
            "Big deal",
            "12,500.00",
            "31/02/2027",
        ],
    ));
    assert_eq!(m.drafts.len(), 3);
    let contact = &m.drafts[0];
    assert!(!contact.properties.contains_key("firstname"));
    let company = &m.drafts[1];
    assert_eq!(company.key.as_deref(), Some("northwind.example"));
    let deal = &m.drafts[2];
    assert_eq!(deal.properties["amount"], "12500");
    assert!(!deal.properties.contains_key("closedate"));
    assert_eq!(m.errors.len(), 1);
    assert_eq!(m.errors[0].error_type, ErrorType::CouldNotParseDate);
    assert_eq!(m.errors[0].object_type, Some(ObjectType::Deal));
}

#[test]
fn unknown_property_is_a_row_error_and_the_rest_imports() {
    let req = r#"{"name":"u","files":[{"fileName":"a.csv","fileImportPage":{"columnMappings":[
        {"columnObjectTypeId":"0-1","columnName":"Email","propertyName":"email"},
        {"columnObjectTypeId":"0-1","columnName":"Shoe","propertyName":"shoe_size"}]}}]}"#;
    let p = plan(req, &["Email", "Shoe"]);
    let m = p.map_row(row(2, &["a@b.example", "44"]));
    assert_eq!(m.drafts[0].key.as_deref(), Some("a@b.example"));
    assert_eq!(
        m.errors[0].error_type,
        ErrorType::PropertyDefinitionNotFound
    );
}

#[test]
fn a_mapped_column_missing_from_the_file_fails_the_plan() {
    let r = ImportRequest::parse(GUIDE).unwrap();
    let h = vec!["Email".to_string()];
    assert!(FilePlan::new(&r.files[0], Some(&h), &Catalogue::default()).is_err());
}

#[test]
fn record_id_column_keys_the_draft() {
    let req = r#"{"name":"u","files":[{"fileName":"a.csv","fileImportPage":{"columnMappings":[
        {"columnObjectTypeId":"0-3","columnName":"Record ID","propertyName":"hs_object_id","columnType":"HUBSPOT_OBJECT_ID"},
        {"columnObjectTypeId":"0-3","columnName":"Name","propertyName":"dealname"}]}}]}"#;
    let p = plan(req, &["Record ID", "Name"]);
    assert_eq!(p.map_row(row(2, &["42", "X"])).drafts[0].id, Some(42));
    let bad = p.map_row(row(3, &["4x2", "X"]));
    assert!(bad.drafts.is_empty());
    assert_eq!(bad.errors[0].error_type, ErrorType::InvalidObjectId);
}

#[test]
fn custom_properties_are_mapped_and_coerced() {
    use crate::crm::properties::{PropertyDef, PropertyType};
    let req = r#"{"name":"c","files":[{"fileName":"a.csv","fileImportPage":{"columnMappings":[
        {"columnObjectTypeId":"0-1","columnName":"Email","propertyName":"email"},
        {"columnObjectTypeId":"0-1","columnName":"Shoe","propertyName":"shoe_size"}]}}]}"#;
    let r = ImportRequest::parse(req).unwrap();
    let def = PropertyDef {
        name: "shoe_size".into(),
        label: "Shoe size".into(),
        property_type: PropertyType::Number,
        field_type: "number".into(),
        group_name: "contactinformation".into(),
        description: String::new(),
        options: vec![],
        has_unique_value: false,
        read_only_value: false,
        hubspot_defined: false,
        display_order: -1,
    };
    let cat = Catalogue::with_custom(vec![(ObjectType::Contact, def)]);
    let h = vec!["Email".to_string(), "Shoe".to_string()];
    let p = FilePlan::new(&r.files[0], Some(&h), &cat).unwrap();
    let m = p.map_row(row(2, &["a@b.example", "44,5"]));
    assert_eq!(m.drafts[0].properties["shoe_size"], "44.5");
    let bad = p.map_row(row(3, &["a@b.example", "big"]));
    assert_eq!(bad.errors[0].error_type, ErrorType::CouldNotParseNumber);
}

#[test]
fn phones_are_kept_as_given() {
    let req = r#"{"name":"p","files":[{"fileName":"a.csv","fileImportPage":{"columnMappings":[
        {"columnObjectTypeId":"0-1","columnName":"Email","propertyName":"email"},
        {"columnObjectTypeId":"0-1","columnName":"Phone","propertyName":"phone"}]}}]}"#;
    let p = plan(req, &["Email", "Phone"]);
    let m = p.map_row(row(2, &["a@b.example", "(555) 123-4567"]));
    assert_eq!(m.drafts[0].properties["phone"], "(555) 123-4567");
    // Its E.164 form follows from it when the record is read (`http::objects::render`).
    assert!(!m.drafts[0]
        .properties
        .contains_key("hs_calculated_phone_number"));
}

#[test]
fn a_rows_errors_come_in_column_order_and_its_properties_in_name_order() {
    // Columns whose properties sort otherwise than the columns do, two of them invalid.
    let req = r#"{"name":"o","files":[{"fileName":"a.csv","fileImportPage":{"columnMappings":[
        {"columnObjectTypeId":"0-1","columnName":"Zip","propertyName":"zip"},
        {"columnObjectTypeId":"0-1","columnName":"Born","propertyName":"date_of_birth"},
        {"columnObjectTypeId":"0-1","columnName":"Email","propertyName":"email"},
        {"columnObjectTypeId":"0-1","columnName":"Shoe","propertyName":"shoe_size"},
        {"columnObjectTypeId":"0-1","columnName":"City","propertyName":"city"}]}}]}"#;
    let p = plan(req, &["Zip", "Born", "Email", "Shoe", "City"]);
    let m = p.map_row(row(2, &["0150", "not a date", "A@B.example", "44", "Oslo"]));
    let columns: Vec<Option<usize>> = m.errors.iter().map(|e| e.column).collect();
    assert_eq!(columns, [Some(1), Some(3)], "{:?}", m.errors);
    assert_eq!(m.errors[0].error_type, ErrorType::CouldNotParseDate);
    assert_eq!(
        m.errors[1].error_type,
        ErrorType::PropertyDefinitionNotFound
    );
    let d = &m.drafts[0];
    let names: Vec<&str> = d.properties.keys().map(|n| n.as_str()).collect();
    assert_eq!(names, ["city", "email", "zip"]);
    assert_eq!(d.key.as_deref(), Some("a@b.example"));
}
