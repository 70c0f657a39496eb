//! CREATE / UPDATE / UPSERT, keys, merging, and blank cells.

use crate::support::*;

fn contact(s: &TestServer, t: &str, email: &str) -> serde_json::Value {
    let r = s.get(t, &format!("/crm/v3/objects/contacts/{email}?idProperty=email&properties=firstname,lastname,city,email,hs_updated_by_import_id"));
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

#[test]
fn upsert_updates_existing_records_and_blank_cells_never_clear() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let cols = [
        ("Email", "email"),
        ("First", "firstname"),
        ("Last", "lastname"),
        ("City", "city"),
    ];
    let first = s.import(
        &t,
        &contacts_request("a.csv", "UPSERT", &cols),
        &[(
            "a.csv",
            b"Email,First,Last,City\nann@x.example,Ann,Lee,Oslo\n",
        )],
    );
    assert_eq!(counter(&first, "CREATED_OBJECTS"), 1);
    let id = contact(&s, &t, "ann@x.example")["id"].clone();
    let second = s.import(
        &t,
        &contacts_request("b.csv", "UPSERT", &cols),
        &[(
            "b.csv",
            b"Email,First,Last,City\nANN@X.EXAMPLE,,,Bergen\nbo@x.example,Bo,,\n",
        )],
    );
    assert_eq!(second["state"], "DONE");
    assert_eq!(
        (
            counter(&second, "CREATED_OBJECTS"),
            counter(&second, "UPDATED_OBJECTS")
        ),
        (1, 1)
    );
    let ann = contact(&s, &t, "ann@x.example");
    assert_eq!(ann["id"], id, "matched by email, not duplicated");
    let provenance = s.get(&t, "/crm/v3/objects/contacts/ann@x.example?idProperty=email&properties=hs_object_source,hs_object_source_id,hs_updated_by_import_id");
    assert_eq!(provenance.json["properties"]["hs_object_source"], "IMPORT");
    assert_eq!(
        provenance.json["properties"]["hs_object_source_id"], first["id"],
        "created by the first import"
    );
    assert_eq!(
        provenance.json["properties"]["hs_updated_by_import_id"], second["id"],
        "last written by the second"
    );
    assert_eq!(
        ann["properties"]["firstname"], "Ann",
        "blank cell kept the value"
    );
    assert_eq!(ann["properties"]["lastname"], "Lee");
    assert_eq!(ann["properties"]["city"], "Bergen");
    assert_eq!(s.all_records(&t, "contacts", "email").len(), 2);
}

#[test]
fn create_only_import_reports_existing_records_and_leaves_them_alone() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let cols = [("Email", "email"), ("First", "firstname")];
    s.import(
        &t,
        &contacts_request("a.csv", "CREATE", &cols),
        &[("a.csv", b"Email,First\nann@x.example,Ann\n")],
    );
    let again = s.import(
        &t,
        &contacts_request("b.csv", "CREATE", &cols),
        &[(
            "b.csv",
            b"Email,First\nann@x.example,Annie\nnew@x.example,New\n",
        )],
    );
    assert_eq!(
        (
            counter(&again, "CREATED_OBJECTS"),
            counter(&again, "ERRORS")
        ),
        (1, 1)
    );
    let errors = import_errors(&s, &t, &again, "");
    assert_eq!(errors[0]["errorType"], "CREATE_ONLY_IMPORT");
    assert_eq!(errors[0]["sourceData"]["lineNumber"], 2);
    assert_eq!(
        contact(&s, &t, "ann@x.example")["properties"]["firstname"],
        "Ann"
    );
}

#[test]
fn update_only_import_reports_unknown_records_and_updates_known_ones() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let cols = [("Email", "email"), ("First", "firstname")];
    s.import(
        &t,
        &contacts_request("a.csv", "CREATE", &cols),
        &[("a.csv", b"Email,First\nann@x.example,Ann\n")],
    );
    let upd = s.import(
        &t,
        &contacts_request("b.csv", "UPDATE", &cols),
        &[(
            "b.csv",
            b"Email,First\nghost@x.example,Ghost\nann@x.example,Anna\n",
        )],
    );
    assert_eq!(
        (
            counter(&upd, "UPDATED_OBJECTS"),
            counter(&upd, "CREATED_OBJECTS"),
            counter(&upd, "ERRORS")
        ),
        (1, 0, 1)
    );
    let errors = import_errors(&s, &t, &upd, "");
    assert_eq!(errors[0]["errorType"], "UPDATE_ONLY_IMPORT");
    assert_eq!(
        contact(&s, &t, "ann@x.example")["properties"]["firstname"],
        "Anna"
    );
    assert_eq!(
        s.get(
            &t,
            "/crm/v3/objects/contacts/ghost@x.example?idProperty=email"
        )
        .status,
        404
    );
}

#[test]
fn record_id_column_updates_that_record() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    s.import(
        &t,
        &contacts_request(
            "a.csv",
            "UPSERT",
            &[("Email", "email"), ("First", "firstname")],
        ),
        &[("a.csv", b"Email,First\nann@x.example,Ann\n")],
    );
    let id = contact(&s, &t, "ann@x.example")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let request = serde_json::json!({"name": "by id", "files": [{"fileName": "ids.csv", "fileImportPage": {"hasHeader": true, "columnMappings": [
        {"columnObjectTypeId": "0-1", "columnName": "Record ID", "propertyName": "hs_object_id", "columnType": "HUBSPOT_OBJECT_ID"},
        {"columnObjectTypeId": "0-1", "columnName": "City", "propertyName": "city"}]}}]})
    .to_string();
    let csv = format!("Record ID,City\n{id},Paris\n999999,Nowhere\n");
    let done = s.import(&t, &request, &[("ids.csv", csv.as_bytes())]);
    assert_eq!(
        (counter(&done, "UPDATED_OBJECTS"), counter(&done, "ERRORS")),
        (1, 1)
    );
    assert_eq!(
        contact(&s, &t, "ann@x.example")["properties"]["city"],
        "Paris"
    );
    let errors = import_errors(&s, &t, &done, "");
    assert_eq!(errors[0]["errorType"], "INVALID_OBJECT_ID");
}

#[test]
fn a_record_id_row_can_change_the_records_email_and_others_keep_theirs() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let cols = [("Email", "email"), ("First", "firstname")];
    s.import(
        &t,
        &contacts_request("a.csv", "UPSERT", &cols),
        &[(
            "a.csv",
            b"Email,First\nann@x.example,Ann\nbo@x.example,Bo\n",
        )],
    );
    let ann_id = contact(&s, &t, "ann@x.example")["id"].clone();
    let request = serde_json::json!({"name": "rekey", "files": [{"fileName": "k.csv", "fileImportPage": {"hasHeader": true, "columnMappings": [
        {"columnObjectTypeId": "0-1", "columnName": "Record ID", "propertyName": "hs_object_id", "columnType": "HUBSPOT_OBJECT_ID"},
        {"columnObjectTypeId": "0-1", "columnName": "Email", "propertyName": "email"},
        {"columnObjectTypeId": "0-1", "columnName": "First", "propertyName": "firstname"}]}}]})
    .to_string();
    let csv = format!(
        "Record ID,Email,First\n{},ann.new@x.example,Annie\n",
        ann_id.as_str().unwrap()
    );
    let done = s.import(&t, &request, &[("k.csv", csv.as_bytes())]);
    assert_eq!(counter(&done, "UPDATED_OBJECTS"), 1, "{done}");
    // The record is found by its new email, not by the old one.
    let ann = contact(&s, &t, "ann.new@x.example");
    assert_eq!(ann["id"], ann_id);
    assert_eq!(ann["properties"]["email"], "ann.new@x.example");
    assert_eq!(ann["properties"]["firstname"], "Annie");
    let old = s.get(
        &t,
        "/crm/v3/objects/contacts/ann@x.example?idProperty=email",
    );
    assert_eq!(old.status, 404, "{}", old.text);
    // An update that leaves the email alone keeps it findable.
    s.import(
        &t,
        &contacts_request("b.csv", "UPSERT", &cols),
        &[(
            "b.csv",
            b"Email,First\nbo@x.example,Bob\nann.new@x.example,Ann\n",
        )],
    );
    assert_eq!(
        contact(&s, &t, "bo@x.example")["properties"]["firstname"],
        "Bob"
    );
    assert_eq!(contact(&s, &t, "ann.new@x.example")["id"], ann_id);
    // The old email is free again: a row with it creates a new contact.
    let again = s.import(
        &t,
        &contacts_request("c.csv", "UPSERT", &cols),
        &[("c.csv", b"Email,First\nann@x.example,Other\n")],
    );
    assert_eq!(counter(&again, "CREATED_OBJECTS"), 1);
    assert_ne!(contact(&s, &t, "ann@x.example")["id"], ann_id);
    assert_eq!(s.all_records(&t, "contacts", "email").len(), 3);
}

#[test]
fn the_same_key_twice_in_one_file_is_one_record() {
    let s = TestServer::start_with(|c| c.batch_rows = 2);
    let t = s.token(1, &[]);
    let cols = [("Email", "email"), ("First", "firstname"), ("City", "city")];
    // With two rows per batch the repeats land in the same batch and in a later one.
    let csv = "Email,First,City\nann@x.example,Ann,Oslo\nANN@x.example,Anna,\nbo@x.example,Bo,\nann@x.example,,Rome\n";
    let done = s.import_contacts(&t, "UPSERT", &cols, csv);
    assert_eq!(
        (
            counter(&done, "CREATED_OBJECTS"),
            counter(&done, "UPDATED_OBJECTS")
        ),
        (2, 2)
    );
    let ann = contact(&s, &t, "ann@x.example");
    assert_eq!(ann["properties"]["firstname"], "Anna");
    assert_eq!(ann["properties"]["city"], "Rome");
    assert_eq!(s.all_records(&t, "contacts", "email").len(), 2);
}

#[test]
fn records_created_over_many_batches_each_have_their_own_id() {
    // Two rows per batch: on PostgreSQL the batches after the first are planned ahead and their
    // ids drawn on the read-ahead connection before the writer inserts them.
    let s = TestServer::start_with(|c| c.batch_rows = 2);
    let t = s.token(1, &[]);
    let cols = [("Email", "email"), ("First", "firstname")];
    let csv: String = std::iter::once("Email,First\n".to_string())
        .chain((0..30).map(|i| format!("n{i}@x.example,N{i}\n")))
        .collect();
    let done = s.import_contacts(&t, "UPSERT", &cols, &csv);
    assert_eq!(counter(&done, "CREATED_OBJECTS"), 30);
    let listed = s.all_records(&t, "contacts", "email,firstname");
    let mut ids: Vec<&str> = listed.iter().map(|r| r["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 30, "{listed:?}");
    for r in &listed {
        let id = r["id"].as_str().unwrap();
        let got = s.get(
            &t,
            &format!("/crm/v3/objects/contacts/{id}?properties=email,firstname"),
        );
        assert_eq!(got.status, 200, "{}", got.text);
        assert_eq!(got.json["properties"]["email"], r["properties"]["email"]);
        let email = got.json["properties"]["email"].as_str().unwrap();
        let n = &email[1..email.find('@').unwrap()];
        assert_eq!(got.json["properties"]["firstname"], format!("N{n}"));
    }
}

#[test]
fn a_stored_key_after_batches_of_new_ones_updates_its_record() {
    // Two rows per batch. Once a batch matched no stored record, later batches of new keys are
    // inserted without a lookup; the parser runs a few batches ahead, so the stored key comes
    // well after the first batches. Its insert is refused by the key index and the batch,
    // given back its drafts, must be written again as an update of the stored record.
    let s = TestServer::start_with(|c| c.batch_rows = 2);
    let t = s.token(1, &[]);
    let cols = [("Email", "email"), ("First", "firstname")];
    let import = |operation: &str, csv: &str| {
        let done = s.import_contacts(&t, operation, &cols, csv);
        (outcome(&done), done)
    };
    let new_rows = |prefix: &str, n: usize| -> String {
        (0..n)
            .map(|i| format!("{prefix}{i}@x.example,N{i}\n"))
            .collect()
    };
    import("UPSERT", "Email,First\nzed@x.example,Zed\n");
    let zed_id = contact(&s, &t, "zed@x.example")["id"].clone();
    let csv = format!(
        "Email,First\n{}zed@x.example,Zedd\n{}",
        new_rows("a", 40),
        new_rows("b", 9)
    );
    assert_eq!(import("UPSERT", &csv).0, [49, 1, 0]);
    let zed = contact(&s, &t, "zed@x.example");
    assert_eq!(zed["id"], zed_id);
    assert_eq!(zed["properties"]["firstname"], "Zedd");
    // The batches after zed's were planned as new by the parsing thread; the writer, no longer
    // assuming them new, must plan them again from their drafts, properties included.
    for i in 0..9 {
        let b = contact(&s, &t, &format!("b{i}@x.example"));
        assert_eq!(b["properties"]["firstname"], format!("N{i}"), "{b}");
    }
    assert_eq!(s.all_records(&t, "contacts", "email").len(), 50);

    // A create-only import says the stored key exists, and creates the rest.
    let csv = format!("Email,First\n{}a0@x.example,Again\n", new_rows("c", 40));
    let (counts, done) = import("CREATE", &csv);
    assert_eq!(counts, [40, 0, 1]);
    let errors = import_errors(&s, &t, &done, "");
    assert_eq!(errors[0]["errorType"], "CREATE_ONLY_IMPORT", "{errors:?}");
    assert_eq!(errors[0]["sourceData"]["lineNumber"], 42);
    assert_eq!(
        contact(&s, &t, "a0@x.example")["properties"]["firstname"],
        "N0"
    );
    assert_eq!(s.all_records(&t, "contacts", "email").len(), 90);
}

#[test]
fn a_record_three_batches_change_keeps_every_change() {
    // Two rows per batch, nearly every batch matching stored records. On PostgreSQL the parsing
    // thread reads each batch's records ahead, while the writer may not have committed the
    // earlier batches yet: each of zed's rows must merge into what the rows before it wrote, not
    // into the version read ahead.
    let s = TestServer::start_with(|c| c.batch_rows = 2);
    let t = s.token(1, &[]);
    let cols = [
        ("Email", "email"),
        ("First", "firstname"),
        ("Last", "lastname"),
        ("City", "city"),
    ];
    let import = |csv: &str| outcome(&s.import_contacts(&t, "UPSERT", &cols, csv));
    let stored: String = (0..30)
        .map(|i| format!("s{i}@x.example,S{i},,\n"))
        .collect();
    import(&format!(
        "Email,First,Last,City\nzed@x.example,Zed,,\n{stored}"
    ));
    let mut csv = String::from("Email,First,Last,City\nzed@x.example,Zed1,L1,\n");
    for i in 0..30 {
        csv.push_str(&format!("s{i}@x.example,T{i},,\n"));
        if i == 3 {
            csv.push_str("new@x.example,New,,\n");
        }
        if i == 6 {
            csv.push_str("zed@x.example,Zed2,,\n");
        }
        if i == 10 {
            csv.push_str("new@x.example,,,Oslo\n");
        }
        if i == 14 {
            csv.push_str("zed@x.example,,,Paris\n");
        }
    }
    assert_eq!(import(&csv), [1, 34, 0]);
    let zed = contact(&s, &t, "zed@x.example")["properties"].clone();
    let got = ["firstname", "lastname", "city"].map(|p| zed[p].as_str().unwrap_or_default());
    assert_eq!(got, ["Zed2", "L1", "Paris"], "{zed}");
    // A key new to the portal, twice: the second row finds what the first created.
    let new = contact(&s, &t, "new@x.example")["properties"].clone();
    assert_eq!(
        (&new["firstname"], &new["city"]),
        (&"New".into(), &"Oslo".into())
    );
    assert_eq!(
        contact(&s, &t, "s29@x.example")["properties"]["firstname"],
        "T29"
    );
    assert_eq!(s.all_records(&t, "contacts", "email").len(), 32);
}

#[test]
fn a_batch_planned_from_a_changed_record_is_undone_whole_and_planned_again() {
    // Every batch is one row updating zed and one creating a contact. On PostgreSQL zed is read
    // ahead while the batch before, which changed it, may not have committed: such a batch is
    // undone whole, its new contact included, and planned again. Kept, the contact would be
    // counted as updated by the second plan and zed's earlier values would be lost.
    let s = TestServer::start_with(|c| c.batch_rows = 2);
    let t = s.token(1, &[]);
    let cols = [("Email", "email"), ("First", "firstname"), ("City", "city")];
    let import = |csv: &str| outcome(&s.import_contacts(&t, "UPSERT", &cols, csv));
    import("Email,First,City\nzed@x.example,Zed,\n");
    let mut csv = String::from("Email,First,City\n");
    for i in 0..40 {
        csv.push_str(&format!("zed@x.example,Zed{i},\n"));
        csv.push_str(&format!("n{i}@x.example,N{i},\n"));
    }
    csv.push_str("zed@x.example,,Paris\n");
    assert_eq!(import(&csv), [40, 41, 0]);
    let zed = contact(&s, &t, "zed@x.example")["properties"].clone();
    assert_eq!(
        (&zed["firstname"], &zed["city"]),
        (&"Zed39".into(), &"Paris".into())
    );
    assert_eq!(s.all_records(&t, "contacts", "email").len(), 41);
}

#[test]
fn a_row_that_matches_a_version_read_ahead_but_changed_since_still_writes() {
    // Every batch is zed's row and an unchanged one. Zed's rows alternate between two names,
    // so each matches the version two batches back, the one the parsing thread may read ahead
    // while the batch before has not committed. Such a row looks unchanged; marking zed as
    // updated without checking that it still is that version would keep the other name.
    let s = TestServer::start_with(|c| c.batch_rows = 2);
    let t = s.token(1, &[]);
    let cols = [("Email", "email"), ("First", "firstname")];
    let import = |csv: &str| outcome(&s.import_contacts(&t, "UPSERT", &cols, csv));
    let fillers: String = (0..40).map(|i| format!("f{i}@x.example,F{i}\n")).collect();
    import(&format!("Email,First\nzed@x.example,Z0\n{fillers}"));
    let mut csv = String::from("Email,First\n");
    for i in 0..40 {
        csv.push_str(&format!("zed@x.example,Z{}\n", (i + 1) % 2));
        csv.push_str(&format!("f{i}@x.example,F{i}\n"));
    }
    csv.push_str("zed@x.example,Z1\nf0@x.example,F0\nzed@x.example,Z0\n");
    assert_eq!(import(&csv), [0, 83, 0]);
    let zed = contact(&s, &t, "zed@x.example");
    assert_eq!(zed["properties"]["firstname"], "Z0", "{zed}");
    let f = contact(&s, &t, "f39@x.example");
    assert_eq!(f["properties"]["firstname"], "F39", "{f}");
    assert_eq!(
        zed["properties"]["hs_updated_by_import_id"],
        f["properties"]["hs_updated_by_import_id"]
    );
}

#[test]
fn lifecycle_stage_only_moves_forward_and_phones_get_e164() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let cols = [
        ("Email", "email"),
        ("Stage", "lifecyclestage"),
        ("Phone", "phone"),
    ];
    s.import(
        &t,
        &contacts_request("a.csv", "UPSERT", &cols),
        &[(
            "a.csv",
            b"Email,Stage,Phone\nann@x.example,Customer,(555) 123-4567\n",
        )],
    );
    s.import(
        &t,
        &contacts_request("b.csv", "UPSERT", &cols),
        &[("b.csv", b"Email,Stage,Phone\nann@x.example,lead,\n")],
    );
    let ann = s.get(&t, "/crm/v3/objects/contacts/ann@x.example?idProperty=email&properties=lifecyclestage,phone,hs_calculated_phone_number");
    assert_eq!(
        ann.json["properties"]["lifecyclestage"], "customer",
        "an import never moves the stage backwards"
    );
    assert_eq!(
        ann.json["properties"]["phone"], "(555) 123-4567",
        "kept as given"
    );
    assert_eq!(
        ann.json["properties"]["hs_calculated_phone_number"],
        "+15551234567"
    );
    s.import(
        &t,
        &contacts_request("c.csv", "UPSERT", &cols),
        &[(
            "c.csv",
            b"Email,Stage,Phone\nann@x.example,evangelist,555-1234\n",
        )],
    );
    let ann = s.get(&t, "/crm/v3/objects/contacts/ann@x.example?idProperty=email&properties=lifecyclestage,phone,hs_calculated_phone_number");
    assert_eq!(
        ann.json["properties"]["lifecyclestage"], "evangelist",
        "forward is fine"
    );
    assert_eq!(ann.json["properties"]["phone"], "555-1234");
    assert_eq!(
        ann.json["properties"]["hs_calculated_phone_number"],
        serde_json::Value::Null,
        "a number without an E.164 form leaves none behind"
    );
}

#[test]
fn secondary_emails_are_kept_and_match_for_dedupe() {
    let s = TestServer::start_with(|c| c.batch_rows = 1);
    let t = s.token(1, &[]);
    let cols = [
        ("Email", "email"),
        ("First", "firstname"),
        ("Other", "hs_additional_emails"),
    ];
    let req = |f: &str| contacts_request(f, "UPSERT", &cols);
    let first = s.import(
        &t,
        &req("a.csv"),
        &[(
            "a.csv",
            b"Email,First,Other\n\"ann@x.example; Ann.Work@y.example\",Ann,\n",
        )],
    );
    assert_eq!(counter(&first, "CREATED_OBJECTS"), 1);
    let props = "properties=email,firstname,hs_additional_emails";
    let ann = s.get(
        &t,
        &format!("/crm/v3/objects/contacts/ann@x.example?idProperty=email&{props}"),
    );
    assert_eq!(
        ann.json["properties"]["hs_additional_emails"],
        "ann.work@y.example"
    );
    let ann_id = ann.json["id"].clone();

    // A later file using the secondary address updates Ann; her primary email stays.
    let second = s.import(&t, &req("b.csv"), &[("b.csv", b"Email,First,Other\nANN.WORK@y.example,Annie,\nbo@x.example,Bo,bo.home@z.example;ann@x.example\nbo@x.example,,bo.2@z.example\n")]);
    assert_eq!(
        (
            counter(&second, "CREATED_OBJECTS"),
            counter(&second, "UPDATED_OBJECTS")
        ),
        (1, 2)
    );
    let ann = s.get(
        &t,
        &format!("/crm/v3/objects/contacts/ann@x.example?idProperty=email&{props}"),
    );
    assert_eq!(ann.json["id"], ann_id);
    assert_eq!(ann.json["properties"]["firstname"], "Annie");
    assert_eq!(ann.json["properties"]["email"], "ann@x.example");
    // Bo cannot take Ann's address; his own two are kept, across batches.
    let bo = s.get(
        &t,
        &format!("/crm/v3/objects/contacts/bo@x.example?idProperty=email&{props}"),
    );
    assert_eq!(
        bo.json["properties"]["hs_additional_emails"],
        "bo.home@z.example;bo.2@z.example"
    );
    let errors = import_errors(&s, &t, &second, "");
    assert_eq!(errors[0]["errorType"], "SECONDARY_EMAIL_WRITE_FAILURE");
    assert_eq!(errors[0]["sourceData"]["lineNumber"], 3);
    assert_eq!(s.all_records(&t, "contacts", "email").len(), 2);
}

#[test]
fn a_growing_import_refreshes_postgresqls_planner_statistics() {
    // Without them PostgreSQL reads every record of the portal to find a batch's keys. SQLite's
    // planner needs none, and keeps none to check.
    if backend() != "postgres" {
        return;
    }
    let s = TestServer::start_with(|c| c.batch_rows = 2);
    let t = s.token(1, &[]);
    let analyzed = || {
        sql_count(
            &s.db.url,
            "SELECT COUNT(*) AS n FROM pg_stats WHERE schemaname = current_schema() \
             AND tablename = 'contacts' AND attname IN ('portal_id', 'email')",
        )
    };
    assert_eq!(analyzed(), 0);
    s.import_new_contacts(&t, 10);
    assert_eq!(analyzed(), 2);
}

#[test]
fn a_row_that_changes_nothing_keeps_every_stored_value_and_still_updates_its_record() {
    // A re-import checks a row that sets only the values stored against the stored JSON
    // without parsing it; the record must come out whole, marked as updated by the import.
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let all = [
        ("Email", "email"),
        ("First", "firstname"),
        ("Last", "lastname"),
        ("City", "city"),
    ];
    let first = s.import_contacts(
        &t,
        "UPSERT",
        &all,
        "Email,First,Last,City\nann@x.example,Ann,Lee,Oslo\nbo@x.example,Bo,Berg,Rome\n\
         cy@x.example,Cy,,Paris\ndi@x.example,Di,\"Q\"\"uote\",Lima\n",
    );
    assert_eq!(outcome(&first), [4, 0, 0]);
    let ann_id = contact(&s, &t, "ann@x.example")["id"].clone();
    let second = s.import_contacts(
        &t,
        "UPSERT",
        &[("Email", "email"), ("First", "firstname")],
        "Email,First\nann@x.example,Ann\nbo@x.example,Bob\ncy@x.example,Cy\ncy@x.example,Cyd\n\
         di@x.example,Di\n",
    );
    assert_eq!(counter(&second, "CREATED_OBJECTS"), 0);
    assert_eq!(counter(&second, "ERRORS"), 0);
    assert_eq!(contact(&s, &t, "ann@x.example")["id"], ann_id);
    for (email, first_name, last, city) in [
        ("ann@x.example", "Ann", "Lee", "Oslo"),
        ("bo@x.example", "Bob", "Berg", "Rome"),
        ("cy@x.example", "Cyd", "", "Paris"),
        ("di@x.example", "Di", "Q\"uote", "Lima"),
    ] {
        let c = contact(&s, &t, email);
        assert_eq!(c["properties"]["firstname"], first_name, "{c}");
        if !last.is_empty() {
            assert_eq!(c["properties"]["lastname"], last, "{c}");
        }
        assert_eq!(c["properties"]["city"], city, "{c}");
        assert_eq!(
            c["properties"]["hs_updated_by_import_id"], second["id"],
            "{email} was written by the second import"
        );
    }
}
