//! Custom properties with `hasUniqueValue`: a key for imports (HUBSPOT_ALTERNATE_ID), one owner
//! per value.

use crate::support::*;
use serde_json::json;

#[test]
fn a_custom_unique_property_identifies_records() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let prop = json!({"name": "contract_id", "label": "Contract ID", "type": "string", "fieldType": "text", "groupName": "dealinformation", "hasUniqueValue": true});
    let r = s.post_json(&t, "/crm/v3/properties/deals", prop);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["hasUniqueValue"], true);
    let request = |file: &str| {
        json!({"name": file, "files": [{"fileName": file, "fileImportPage": {"hasHeader": true, "columnMappings": [
            {"columnObjectTypeId": "0-3", "columnName": "Contract", "propertyName": "contract_id", "columnType": "HUBSPOT_ALTERNATE_ID"},
            {"columnObjectTypeId": "0-3", "columnName": "Name", "propertyName": "dealname"},
            {"columnObjectTypeId": "0-3", "columnName": "Amount", "propertyName": "amount"}]}}]})
        .to_string()
    };
    let first = s.import(
        &t,
        &request("a.csv"),
        &[(
            "a.csv",
            b"Contract,Name,Amount\nC-1,Alpha,100\nC-2,Beta,200\n",
        )],
    );
    assert_eq!(counter(&first, "CREATED_OBJECTS"), 2);
    // Deals have no natural key: the unique property makes the second file update, not duplicate.
    let second = s.import(
        &t,
        &request("b.csv"),
        &[("b.csv", b"Contract,Name,Amount\nC-1,,150\nC-3,Gamma,300\n")],
    );
    assert_eq!(
        (
            counter(&second, "CREATED_OBJECTS"),
            counter(&second, "UPDATED_OBJECTS")
        ),
        (1, 1)
    );
    let deals = s.all_records(&t, "deals", "contract_id,dealname,amount");
    assert_eq!(deals.len(), 3);
    let alpha = deals
        .iter()
        .find(|d| d["properties"]["contract_id"] == "C-1")
        .unwrap();
    assert_eq!(alpha["properties"]["dealname"], "Alpha");
    assert_eq!(alpha["properties"]["amount"], "150");

    // A record-id row that would give a second deal the same value is refused.
    let gamma = deals
        .iter()
        .find(|d| d["properties"]["contract_id"] == "C-3")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let by_id = json!({"name": "ids", "files": [{"fileName": "c.csv", "fileImportPage": {"hasHeader": true, "columnMappings": [
        {"columnObjectTypeId": "0-3", "columnName": "Record ID", "propertyName": "hs_object_id"},
        {"columnObjectTypeId": "0-3", "columnName": "Contract", "propertyName": "contract_id"}]}}]})
    .to_string();
    let csv = format!("Record ID,Contract\n{gamma},C-2\n");
    let third = s.import(&t, &by_id, &[("c.csv", csv.as_bytes())]);
    let errors = import_errors(&s, &t, &third, "");
    assert_eq!(errors[0]["errorType"], "DUPLICATE_UNIQUE_PROPERTY_VALUE");
    let gamma_now = s.get(
        &t,
        &format!("/crm/v3/objects/deals/{gamma}?properties=contract_id"),
    );
    assert_eq!(
        gamma_now.json["properties"]["contract_id"], "C-3",
        "unchanged"
    );
}
