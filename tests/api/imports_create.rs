//! POST /crm/v3/imports, from HubSpot's guide example to a multi-chunk, multi-batch file.

use crate::support::*;

#[test]
fn health_reports_the_backend_under_test() {
    let s = TestServer::start();
    let r = Resp::from(ureq::get(&s.url("/health")).call());
    assert_eq!(r.status, 200);
    assert_eq!(r.json["status"], "ok");
    assert_eq!(
        r.json["backend"],
        backend(),
        "the suite must run on the backend it claims"
    );
}

#[test]
fn guide_request_imports_contacts_with_a_row_error() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let r = s.create_import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type.starts_with("application/json"));
    assert!(r.correlation_id.is_some());
    let created = &r.json;
    assert_eq!(created["state"], "STARTED");
    let id = created["id"].as_str().expect("id is a string");
    assert!(id.parse::<i64>().is_ok());
    for field in [
        "createdAt",
        "updatedAt",
        "optOutImport",
        "mappedObjectTypeIds",
        "metadata",
    ] {
        assert!(!created[field].is_null(), "{field} missing");
    }
    assert_eq!(created["mappedObjectTypeIds"], serde_json::json!(["0-1"]));
    assert_eq!(created["importSource"], "API");
    assert_eq!(
        created["importRequestJson"]["importName"],
        "November Marketing Event Leads"
    );
    assert_eq!(created["importRequestJson"]["dateFormat"], "DAY_MONTH_YEAR");
    assert_eq!(created["metadata"]["fileIds"].as_array().unwrap().len(), 1);
    assert!(created["metadata"]["objectLists"].is_array());
    chrono::DateTime::parse_from_rfc3339(created["createdAt"].as_str().unwrap())
        .expect("ISO-8601 createdAt");

    let done = s.wait_finished(&t, id);
    assert_eq!(done["state"], "DONE");
    assert_eq!(counter(&done, "TOTAL_ROWS"), 5);
    assert_eq!(counter(&done, "CREATED_OBJECTS"), 4);
    assert_eq!(counter(&done, "UPDATED_OBJECTS"), 0);
    assert_eq!(counter(&done, "ERRORS"), 1);

    let contacts = s.all_records(&t, "contacts", "email,firstname,lastname");
    let emails: Vec<&str> = contacts
        .iter()
        .map(|c| c["properties"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [
            "ada@analytical.example",
            "grace.hopper@navy.example",
            "alan@bletchley.example",
            "barbara@mit.example"
        ]
    );
    assert_eq!(contacts[3]["properties"]["lastname"], "Liskov");

    let errors = import_errors(
        &s,
        &t,
        &done,
        "includeErrorMessage=true&includeRowData=true",
    );
    let e = &errors[0];
    assert_eq!(e["errorType"], "INVALID_EMAIL");
    assert_eq!(e["objectTypeId"], "0-1");
    assert_eq!(e["objectType"], "CONTACT");
    assert_eq!(e["invalidValue"], "not-an-email");
    assert_eq!(e["knownColumnNumber"], 2);
    assert_eq!(e["sourceData"]["lineNumber"], 5);
    assert_eq!(
        e["sourceData"]["rowData"],
        serde_json::json!(["Edsger", "Dijkstra", "not-an-email"])
    );
    assert_eq!(
        e["sourceData"]["fileId"].to_string(),
        done["metadata"]["fileIds"][0].as_str().unwrap()
    );
    assert!(
        e["createdAt"].is_i64(),
        "PublicImportError.createdAt is epoch ms"
    );
    assert!(e["errorMessage"].as_str().unwrap().contains("not-an-email"));
}

#[test]
fn parts_in_any_order_and_the_sdk_trailing_slash() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    // Node's SDK sends files first and importRequest without a part content type, to the path with a slash.
    let (ct, body) = multipart(&[
        Part::file("files", "Nov-event-leads.csv", "text/csv", GUIDE_CSV),
        Part::text("importRequest", GUIDE_REQUEST),
    ]);
    let r = s.post_raw(&t, "/crm/v3/imports/", &ct, &body);
    assert_eq!(r.status, 200, "{}", r.text);
    let done = s.wait_finished(&t, r.json["id"].as_str().unwrap());
    assert_eq!(counter(&done, "CREATED_OBJECTS"), 4);
    let list = s.get(&t, "/crm/v3/imports/");
    assert_eq!(list.status, 200);
    assert_eq!(list.json["results"].as_array().unwrap().len(), 1);
}

#[test]
fn one_row_feeds_a_contact_a_company_and_a_deal() {
    let s = TestServer::start();
    let t = s.token(3, &[]);
    let done = s.import(
        &t,
        DEALS_REQUEST,
        &[("deals-with-contacts-and-companies.csv", DEALS_CSV)],
    );
    assert_eq!(done["state"], "DONE");
    assert_eq!(
        done["mappedObjectTypeIds"],
        serde_json::json!(["0-1", "0-2", "0-3"])
    );
    assert_eq!(counter(&done, "ERRORS"), 0);
    let contacts = s.all_records(&t, "contacts", "email,firstname");
    assert_eq!(contacts.len(), 2, "mia appears twice but is one contact");
    let companies = s.all_records(&t, "companies", "name,domain");
    let domains: Vec<&str> = companies
        .iter()
        .map(|c| c["properties"]["domain"].as_str().unwrap())
        .collect();
    assert_eq!(
        domains,
        ["northwind.example", "contoso.example", "fabrikam.example"]
    );
    let deals = s.all_records(&t, "0-3", "dealname,amount,closedate,pipeline,dealstage");
    assert_eq!(deals.len(), 3);
    assert_eq!(deals[0]["properties"]["amount"], "12500");
    assert_eq!(
        deals[0]["properties"]["closedate"],
        "2027-01-15T00:00:00.000Z"
    );
    assert_eq!(deals[2]["properties"]["amount"], "4100.5");
    assert_eq!(deals[1]["properties"]["pipeline"], "default");
    assert_eq!(deals[1]["properties"]["dealstage"], "appointmentscheduled");
}

#[test]
fn hubspot_sdk_sample_with_legacy_shape_imports() {
    // SAMPLES: columnObjectType, no fileFormat/dateFormat/importOperations, "First Name" over a `firstname` header.
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let request = r#"{ "name": "test_import", "files": [{ "fileName": "import_emails.csv", "fileImportPage": { "hasHeader": true, "columnMappings": [
        { "columnName": "First Name", "propertyName": "firstname", "columnObjectType": "CONTACT" },
        { "columnName": "Email", "propertyName": "email", "columnObjectType": "CONTACT" } ] } }] }"#;
    let done = s.import(
        &t,
        request,
        &[(
            "import_emails.csv",
            b"firstname,email\nJane,jane@example.com\nJohn,john@example.com\n",
        )],
    );
    assert_eq!(done["state"], "DONE");
    assert_eq!(counter(&done, "CREATED_OBJECTS"), 2);
    let jane = s.get(
        &t,
        "/crm/v3/objects/contacts/JANE@example.com?idProperty=email&properties=firstname",
    );
    assert_eq!(jane.status, 200, "{}", jane.text);
    assert_eq!(jane.json["properties"]["firstname"], "Jane");
}

#[test]
fn a_file_of_several_chunks_and_batches_imports_every_row() {
    let s = TestServer::start_with(|c| c.batch_rows = 700);
    let t = s.token(1, &[]);
    let rows = 20_000;
    let mut csv = String::from("Email,First Name,City\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "person{i}@bulk.example,Name{i},City with a fairly long name number {i}\n"
        ));
    }
    assert!(
        csv.len() > 1 << 20,
        "the upload spans more than one stored chunk"
    );
    let request = contacts_request(
        "bulk.csv",
        "UPSERT",
        &[
            ("Email", "email"),
            ("First Name", "firstname"),
            ("City", "city"),
        ],
    );
    let done = s.import(&t, &request, &[("bulk.csv", csv.as_bytes())]);
    assert_eq!(done["state"], "DONE");
    assert_eq!(counter(&done, "TOTAL_ROWS"), rows);
    assert_eq!(counter(&done, "CREATED_OBJECTS"), rows);
    let last = s.get(
        &t,
        &format!(
            "/crm/v3/objects/contacts/person{}@bulk.example?idProperty=email&properties=city",
            rows - 1
        ),
    );
    assert_eq!(
        last.json["properties"]["city"],
        format!("City with a fairly long name number {}", rows - 1)
    );
    let page = s.get(&t, "/crm/v3/objects/contacts?limit=100");
    assert!(page.json["paging"]["next"]["after"].is_string());
}

#[test]
fn an_accepted_upload_survives_a_restart_before_processing() {
    let s = TestServer::start_with(|c| c.run_worker = false);
    let t = s.token(1, &[]);
    let id = s.post_import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        s.get(&t, &format!("/crm/v3/imports/{id}")).json["state"],
        "STARTED"
    );
    let db = s.stop();
    let s = TestServer::start_on(db, |_| {});
    let done = s.wait_finished(&t, &id);
    assert_eq!(done["state"], "DONE");
    assert_eq!(counter(&done, "CREATED_OBJECTS"), 4);
}
