//! POST /crm/v3/imports/{id}/cancel.

use crate::support::*;

#[test]
fn canceling_a_queued_import_means_it_never_runs() {
    let s = TestServer::start_with(|c| c.run_worker = false);
    let t = s.token(1, &[]);
    let id = s.post_import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    let c = s.post(&t, &format!("/crm/v3/imports/{id}/cancel"));
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.json["status"], "COMPLETE");
    for f in ["startedAt", "completedAt", "requestedAt"] {
        assert!(c.json[f].is_string(), "{f}");
    }
    let db = s.stop();
    let s = TestServer::start_on(db, |_| {});
    std::thread::sleep(std::time::Duration::from_millis(300));
    let r = s.get(&t, &format!("/crm/v3/imports/{id}"));
    assert_eq!(r.json["state"], "CANCELED");
    assert!(
        s.all_records(&t, "contacts", "email").is_empty(),
        "a canceled import writes nothing"
    );
}

#[test]
fn canceling_a_running_import_stops_it_and_keeps_what_was_committed() {
    // Default batch size and grouping: on SQLite the cancel must get its turn between two of the
    // worker's transactions.
    let s = TestServer::start();
    let t = s.token(1, &[]);
    // Far more rows than two of the worker's 200 ms transactions take.
    let rows = 300_000;
    let csv = csv_of("Email", rows, |i| format!("c{i}@cancel.example"));
    let id = s.post_import(
        &t,
        &contacts_request("c.csv", "UPSERT", &[("Email", "email")]),
        &[("c.csv", csv.as_bytes())],
    );
    // Let it commit a few batches first.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while counter(
        &s.get(&t, &format!("/crm/v3/imports/{id}")).json,
        "TOTAL_ROWS",
    ) == 0
    {
        assert!(std::time::Instant::now() < until);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let c = s.post(&t, &format!("/crm/v3/imports/{id}/cancel"));
    assert_eq!(c.status, 200, "{}", c.text);
    let end = s.wait_finished(&t, &id);
    assert_eq!(end["state"], "CANCELED");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let end = s.get(&t, &format!("/crm/v3/imports/{id}")).json;
    assert_eq!(end["state"], "CANCELED", "a late batch never turns it DONE");
    let created = counter(&end, "CREATED_OBJECTS");
    assert!(created > 0 && created < rows, "stopped part-way: {created}");
    assert_eq!(
        s.all_records(&t, "contacts", "email").len() as i64,
        created,
        "counters match what was committed"
    );
}

#[test]
fn canceling_a_finished_import_is_refused_and_changes_nothing() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let done = s.import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    let id = done["id"].as_str().unwrap();
    let r = s.post(&t, &format!("/crm/v3/imports/{id}/cancel"));
    r.assert_error(400, "VALIDATION_ERROR");
    assert!(r.json["message"].as_str().unwrap().contains("DONE"));
    assert_eq!(
        s.get(&t, &format!("/crm/v3/imports/{id}")).json["state"],
        "DONE"
    );
    s.post(&t, "/crm/v3/imports/424242/cancel")
        .assert_error(404, "OBJECT_NOT_FOUND");
    s.post(&t, "/crm/v3/imports/nope/cancel")
        .assert_error(400, "VALIDATION_ERROR");
}
