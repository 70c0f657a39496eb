//! Associations: between the objects of one row, across two files linked by a common column,
//! and through the legacy record-id column; readable with `associations=` and the v4 list.

use crate::support::*;
use serde_json::{json, Value};

fn assoc(s: &TestServer, t: &str, object: &str, id: &str, to: &str) -> Vec<(String, String)> {
    let r = s.get(
        t,
        &format!("/crm/v3/objects/{object}/{id}?associations={to}"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let mut v: Vec<(String, String)> = r.json["associations"][to]["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["id"].as_str().unwrap().to_string(),
                        x["type"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn id_by(s: &TestServer, t: &str, object: &str, prop: &str, value: &str) -> String {
    let r = s.get(
        t,
        &format!("/crm/v3/objects/{object}/{value}?idProperty={prop}"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["id"].as_str().unwrap().to_string()
}

#[test]
fn the_objects_of_one_row_are_associated() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    s.import(
        &t,
        DEALS_REQUEST,
        &[("deals-with-contacts-and-companies.csv", DEALS_CSV)],
    );
    let mia = id_by(&s, &t, "contacts", "email", "mia@northwind.example");
    let northwind = id_by(&s, &t, "companies", "domain", "northwind.example");
    let fabrikam = id_by(&s, &t, "companies", "domain", "fabrikam.example");
    // The same contact on two rows with two companies: one contact, two companies.
    let companies = assoc(&s, &t, "contacts", &mia, "companies");
    let mut expected = vec![
        (northwind.clone(), "contact_to_company".to_string()),
        (fabrikam, "contact_to_company".to_string()),
    ];
    expected.sort();
    assert_eq!(companies, expected);
    assert_eq!(assoc(&s, &t, "contacts", &mia, "deals").len(), 2);
    assert_eq!(
        assoc(&s, &t, "companies", &northwind, "contacts"),
        [(mia.clone(), "company_to_contact".to_string())]
    );
    let deals = s.all_records(&t, "deals", "dealname");
    let first_deal = deals[0]["id"].as_str().unwrap();
    assert_eq!(
        assoc(&s, &t, "deals", first_deal, "companies"),
        [(northwind.clone(), "deal_to_company".to_string())]
    );
    assert_eq!(
        assoc(&s, &t, "deals", first_deal, "contacts"),
        [(mia.clone(), "deal_to_contact".to_string())]
    );

    // Lists carry associations too, and unknown association types are ignored.
    let page = s.get(
        &t,
        "/crm/v3/objects/contacts?associations=companies&associations=tickets",
    );
    assert!(page.json["results"][0]["associations"]["companies"]["results"].is_array());
    // Without associations= the field is absent.
    assert!(s
        .get(&t, &format!("/crm/v3/objects/contacts/{mia}"))
        .json
        .get("associations")
        .is_none());

    let v4 = s.get(
        &t,
        &format!("/crm/v4/objects/contacts/{mia}/associations/companies"),
    );
    assert_eq!(v4.status, 200, "{}", v4.text);
    let first = &v4.json["results"][0];
    assert!(first["toObjectId"].is_i64());
    assert_eq!(
        first["associationTypes"][0],
        json!({"category": "HUBSPOT_DEFINED", "typeId": 1, "label": null})
    );
    s.get(&t, "/crm/v4/objects/contacts/999999/associations/companies")
        .assert_error(404, "OBJECT_NOT_FOUND");
    // Another portal sees none of it.
    let other = s.token(2, &[]);
    s.get(
        &other,
        &format!("/crm/v4/objects/contacts/{mia}/associations/companies"),
    )
    .assert_error(404, "OBJECT_NOT_FOUND");
}

#[test]
fn two_files_are_linked_by_a_common_column() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    // HubSpot's guide example; the company file is listed (and uploaded) first, yet the contact
    // file that owns the common column is processed first.
    let request = json!({"name": "Contact Company import", "dateFormat": "YEAR_MONTH_DAY", "files": [
        {"fileName": "company-import-file.csv", "fileFormat": "CSV", "fileImportPage": {"hasHeader": true, "columnMappings": [
            {"columnObjectTypeId": "0-2", "columnName": "Company name", "propertyName": "name"},
            {"columnObjectTypeId": "0-2", "columnName": "Company domain name", "propertyName": "domain", "columnType": "HUBSPOT_ALTERNATE_ID"},
            {"columnObjectTypeId": "0-2", "toColumnObjectTypeId": "0-1", "columnName": "Email", "propertyName": null,
             "foreignKeyType": {"associationTypeId": 280, "associationCategory": "HUBSPOT_DEFINED"}}]}},
        {"fileName": "contact-import-file.csv", "fileFormat": "CSV", "fileImportPage": {"hasHeader": true, "columnMappings": [
            {"columnObjectTypeId": "0-1", "columnName": "First name", "propertyName": "firstname"},
            {"columnObjectTypeId": "0-1", "columnName": "Email", "propertyName": "email", "associationIdentifierColumn": true}]}}
    ]})
    .to_string();
    let companies = b"Company name,Company domain name,Email\nAcme,acme.example,ANN@people.example\nGlobex,globex.example,bo@people.example;ann@people.example\nInitech,initech.example,nobody@people.example\n";
    let contacts = b"First name,Email\nAnn,ann@people.example\nBo,bo@people.example\n";
    let done = s.import(
        &t,
        &request,
        &[
            ("company-import-file.csv", companies),
            ("contact-import-file.csv", contacts),
        ],
    );
    assert_eq!(done["state"], "DONE");
    assert_eq!(counter(&done, "CREATED_OBJECTS"), 5);
    assert_eq!(counter(&done, "ERRORS"), 1);
    let ann = id_by(&s, &t, "contacts", "email", "ann@people.example");
    let acme = id_by(&s, &t, "companies", "domain", "acme.example");
    let globex = id_by(&s, &t, "companies", "domain", "globex.example");
    let mut both = vec![
        (acme.clone(), "contact_to_company_unlabeled".to_string()),
        (globex.clone(), "contact_to_company_unlabeled".to_string()),
    ];
    both.sort();
    assert_eq!(assoc(&s, &t, "contacts", &ann, "companies"), both);
    assert_eq!(assoc(&s, &t, "companies", &globex, "contacts").len(), 2);
    assert_eq!(
        assoc(&s, &t, "companies", &acme, "contacts")[0].1,
        "company_to_contact_unlabeled"
    );
    let errors = import_errors(&s, &t, &done, "includeRowData=true");
    let e: &Value = &errors[0];
    assert_eq!(e["errorType"], "NO_OBJECT_ID_FROM_ASSOCIATION_IDENTIFIER");
    assert_eq!(e["invalidValue"], "nobody@people.example");
    assert_eq!(e["sourceData"]["lineNumber"], 4);
    // The company on that row was still imported.
    id_by(&s, &t, "companies", "domain", "initech.example");
}

#[test]
fn the_legacy_record_id_column_links_by_id() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let companies = json!({"name": "companies", "files": [{"fileName": "c.csv", "fileImportPage": {"hasHeader": true, "columnMappings": [
        {"columnObjectTypeId": "0-2", "columnName": "Name", "propertyName": "name"}]}}]})
    .to_string();
    s.import(&t, &companies, &[("c.csv", b"Name\nAcme\nGlobex\n")]);
    let ids: Vec<String> = s
        .all_records(&t, "companies", "name")
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    // HubSpot's guide "Examples" request, verbatim.
    let legacy = r#"{"name":"test_import","files":[{"fileName":"final_emails.csv","fileImportPage":{"hasHeader":true,"columnMappings":[
        {"ignored":false,"columnName":"First Name","idColumnType":null,"propertyName":"firstname","foreignKeyType":null,"columnObjectType":"CONTACT","associationIdentifierColumn":false},
        {"ignored":false,"columnName":"Email","idColumnType":"HUBSPOT_ALTERNATE_ID","propertyName":"email","foreignKeyType":null,"columnObjectType":"CONTACT","associationIdentifierColumn":false},
        {"ignored":false,"columnName":"Company ID","idColumnType":"HUBSPOT_OBJECT_ID","propertyName":null,"foreignKeyType":{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":1},"columnObjectType":"CONTACT","associationIdentifierColumn":false}]}}]}"#;
    let csv = format!("First Name,Email,Company ID\nAnn,ann@x.example,{}\nBo,bo@x.example,{};{}\nCy,cy@x.example,999999\nDi,di@x.example,acme\n", ids[0], ids[0], ids[1]);
    let done = s.import(&t, legacy, &[("final_emails.csv", csv.as_bytes())]);
    assert_eq!(
        counter(&done, "CREATED_OBJECTS"),
        4,
        "a bad link does not stop the contact"
    );
    let bo = id_by(&s, &t, "contacts", "email", "bo@x.example");
    assert_eq!(assoc(&s, &t, "contacts", &bo, "companies").len(), 2);
    assert_eq!(assoc(&s, &t, "companies", &ids[0], "contacts").len(), 2);
    assert_eq!(
        error_types(&s, &t, &done),
        ["UNKNOWN_ASSOCIATION_RECORD_ID", "INVALID_RECORD_ID"]
    );
}
