//! Import caps: bytes and rows per file, rows per portal per rolling 24 hours — each a 429 with
//! HubSpot's error body before anything is written.

use crate::support::*;

fn no_orphan_uploads(s: &TestServer) {
    let db = hubport::open_database(&s.config).unwrap();
    let n = hubport::db::files::delete_stale_unattached(
        &mut db.conn().unwrap(),
        hubport::db::now() + chrono::Duration::days(2),
    )
    .unwrap();
    assert_eq!(n, 0, "a refused upload leaves no stored file");
}

#[test]
fn a_file_over_the_byte_cap_is_cut_off_with_file_too_large() {
    let s = TestServer::start_with(|c| c.max_file_bytes = 2048);
    let t = s.token(1, &[]);
    let mut csv = String::from("Email\n");
    for i in 0..2000 {
        csv.push_str(&format!("person{i}@big.example\n"));
    }
    let r = s.create_import(
        &t,
        &contacts_request("big.csv", "UPSERT", &[("Email", "email")]),
        &[("big.csv", csv.as_bytes())],
    );
    let body = r.assert_error(429, "RATE_LIMITS");
    assert_eq!(body["errors"][0]["code"], "FILE_TOO_LARGE");
    assert_eq!(
        body["errors"][0]["context"]["maximumAllowedBytes"],
        serde_json::json!(["2048"])
    );
    assert_eq!(
        s.get(&t, "/crm/v3/imports").json["results"],
        serde_json::json!([])
    );
    no_orphan_uploads(&s);
    // A file under the cap still goes in.
    assert_eq!(
        s.import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)])["state"],
        "DONE"
    );
}

#[test]
fn a_file_over_the_row_cap_is_refused_before_any_record() {
    let s = TestServer::start_with(|c| c.max_file_rows = 4);
    let t = s.token(1, &[]);
    let r = s.create_import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    let body = r.assert_error(429, "RATE_LIMITS");
    assert_eq!(body["errors"][0]["code"], "TOO_MANY_ROWS");
    assert_eq!(
        body["errors"][0]["context"]["maximumAllowedRows"],
        serde_json::json!(["4"])
    );
    assert!(s.all_records(&t, "contacts", "email").is_empty());
    assert_eq!(
        s.get(&t, "/crm/v3/imports").json["results"],
        serde_json::json!([])
    );
    no_orphan_uploads(&s);
    let done = s.import(
        &t,
        &contacts_request("four.csv", "UPSERT", &[("Email", "email")]),
        &[(
            "four.csv",
            b"Email\na@x.example\nb@x.example\nc@x.example\nd@x.example\n",
        )],
    );
    assert_eq!(
        counter(&done, "CREATED_OBJECTS"),
        4,
        "exactly the cap is fine"
    );
}

#[test]
fn the_daily_row_cap_counts_a_rolling_24_hours_per_portal() {
    let s = TestServer::start_with(|c| c.max_rows_per_day = 8);
    let t = s.token(1, &[]);
    assert_eq!(
        s.import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)])["state"],
        "DONE"
    );
    let r = s.create_import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    let body = r.assert_error(429, "RATE_LIMITS");
    assert_eq!(body["errors"][0]["code"], "TOO_MANY_ROWS_PER_DAY");
    assert_eq!(
        body["errors"][0]["context"]["totalImportRowsLimit"],
        serde_json::json!(["8"])
    );
    assert_eq!(
        body["errors"][0]["context"]["totalImportRows"],
        serde_json::json!(["10"])
    );
    assert_eq!(
        s.get(&t, "/crm/v3/imports").json["results"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Another portal has its own budget.
    let other = s.token(2, &[]);
    assert_eq!(
        s.import(&other, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)])["state"],
        "DONE"
    );
}
