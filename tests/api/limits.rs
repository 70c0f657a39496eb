//! Import caps: bytes and rows per file, rows per portal per rolling 24 hours — each a 429 with
//! HubSpot's error body before anything is written.

use crate::support::*;

/// Moves portal `portal`'s imports `hours` into the past, as if made that long ago.
fn backdate(url: &str, portal: i64, hours: i64) {
    let earlier = if backend() == "postgres" {
        format!("created_at - INTERVAL '{hours} hours'")
    } else {
        format!("strftime('%Y-%m-%d %H:%M:%f', created_at, '-{hours} hours')")
    };
    sql(
        url,
        &format!("UPDATE imports SET created_at = {earlier} WHERE portal_id = {portal}"),
    );
}

#[test]
fn a_file_over_the_byte_cap_is_cut_off_with_file_too_large() {
    let s = TestServer::start_with(|c| c.max_file_bytes = 2048);
    let t = s.token(1, &[]);
    let csv = csv_of("Email", 2000, |i| format!("person{i}@big.example"));
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
    assert_no_stored_uploads(&s);
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
    assert_no_stored_uploads(&s);
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
fn the_row_cap_counts_the_same_whichever_part_comes_first() {
    // With the importRequest first, rows are counted as the file is stored; with the file
    // first, from the stored file afterwards. A file of several 1 MiB chunks, its rows spanning
    // two lines each (a quoted cell), so chunk ends fall inside rows.
    const CAP: i64 = 20_000;
    let s = TestServer::start_with(|c| {
        c.max_file_rows = CAP as u64;
        c.run_worker = false;
    });
    let t = s.token(1, &[]);
    let request = contacts_request("big.csv", "UPSERT", &[("Email", "email"), ("Note", "city")]);
    let pad = "x".repeat(100);
    let file = |rows| {
        csv_of("Email,Note", rows, |i| {
            format!("r{i}@x.example,\"one\ntwo {i} {pad}\"")
        })
    };
    let post = |request_first: bool, csv: &str| {
        let (req, f) = (
            Part::text("importRequest", &request),
            Part::file("files", "big.csv", "text/csv", csv.as_bytes()),
        );
        let parts = if request_first { [req, f] } else { [f, req] };
        let (ct, body) = multipart(&parts);
        s.post_raw(&t, "/crm/v3/imports", &ct, &body)
    };
    let (at_cap, over) = (file(CAP), file(CAP + 1));
    assert!(over.len() > 2 << 20, "{} bytes", over.len());
    for request_first in [true, false] {
        let r = post(request_first, &at_cap);
        assert_eq!(r.status, 200, "request first: {request_first}: {}", r.text);
        let r = post(request_first, &over);
        let body = r.assert_error(429, "RATE_LIMITS");
        assert_eq!(
            body["errors"][0]["code"], "TOO_MANY_ROWS",
            "{request_first}"
        );
    }
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
    // A rolling 24 hours, not a calendar day: 23 hours on the first import still counts, 25
    // hours on it no longer does.
    backdate(&s.db.url, 1, 23);
    let r = s.create_import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    assert_eq!(
        r.assert_error(429, "RATE_LIMITS")["errors"][0]["code"],
        "TOO_MANY_ROWS_PER_DAY",
        "23 hours later"
    );
    backdate(&s.db.url, 1, 2);
    assert_eq!(
        s.import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)])["state"],
        "DONE",
        "25 hours later"
    );
}

#[test]
fn imports_beyond_the_portals_concurrency_wait_deferred_then_run() {
    let s = TestServer::start_with(|c| {
        c.max_concurrent_imports = 1;
        c.workers = 2;
        // Small transactions keep the first import going while the other portal's runs.
        c.batch_rows = 50;
        c.group_commit = std::time::Duration::ZERO;
    });
    let t = s.token(1, &[]);
    let csv = csv_of("Email", 100_000, |i| format!("p{i}@first.example"));
    let big_id = s.post_import(
        &t,
        &contacts_request("big.csv", "UPSERT", &[("Email", "email")]),
        &[("big.csv", csv.as_bytes())],
    );
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while s.get(&t, &format!("/crm/v3/imports/{big_id}")).json["state"] != "PROCESSING" {
        assert!(
            std::time::Instant::now() < until,
            "the first import never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let small_id = s.post_import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    // The second import of portal 1 waits, visibly, while the first one runs.
    let mut seen_deferred = false;
    loop {
        let small_now = s.get(&t, &format!("/crm/v3/imports/{small_id}")).json;
        let big_now = s.get(&t, &format!("/crm/v3/imports/{big_id}")).json;
        match small_now["state"].as_str().unwrap() {
            // (It may still read DEFERRED for one poll after the first one is done.)
            "DEFERRED" if !seen_deferred => {
                seen_deferred = true;
                // Meanwhile another portal is not held up by portal 1's running import.
                let other = s.token(2, &[]);
                let elsewhere =
                    s.import(&other, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
                assert_eq!(elsewhere["state"], "DONE");
                assert_ne!(
                    s.get(&t, &format!("/crm/v3/imports/{big_id}")).json["state"],
                    "DONE",
                    "done while portal 1's first import still ran"
                );
            }
            "PROCESSING" | "DONE" => {
                assert_eq!(big_now["state"], "DONE", "it starts after the first one");
                break;
            }
            _ => {}
        }
        assert!(std::time::Instant::now() < until + std::time::Duration::from_secs(60));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(seen_deferred, "the waiting import showed DEFERRED");
    assert_eq!(s.wait_finished(&t, &small_id)["state"], "DONE");
}
