//! What operators see: Prometheus metrics and structured logs tied to correlation ids.

use crate::support::*;

#[test]
fn metrics_count_requests_rows_and_imports() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    s.import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    s.get(&t, "/crm/v3/imports/999")
        .assert_error(404, "OBJECT_NOT_FOUND");
    let r = Resp::from(ureq::get(&s.url("/metrics")).call());
    assert_eq!(r.status, 200);
    assert!(
        r.content_type.starts_with("text/plain"),
        "{}",
        r.content_type
    );
    let has = |needle: &str| assert!(r.text.contains(needle), "{needle} missing from\n{}", r.text);
    has("hubport_http_requests_total{route=\"/crm/v3/imports\",method=\"POST\",status=\"200\"} 1");
    has("hubport_http_requests_total{route=\"/crm/v3/imports/{importId}\",method=\"GET\",status=\"404\"} 1");
    has("hubport_http_request_duration_seconds_count{route=\"/crm/v3/imports\"} 1");
    has("hubport_imports{state=\"DONE\"} 1");
    has("hubport_job_queue_depth 0");
    has("hubport_db_pool_connections{state=\"idle\"}");
    // Row counters are process-wide (other tests share this process), so only check they moved.
    let created = r
        .text
        .lines()
        .find(|l| l.starts_with("hubport_import_rows_total{outcome=\"created\"}"))
        .unwrap();
    assert!(
        created.rsplit(' ').next().unwrap().parse::<u64>().unwrap() >= 4,
        "{created}"
    );
}

#[test]
fn json_logs_carry_the_correlation_id_and_portal_and_never_the_token() {
    let db = TestDb::new();
    let server = Process::start(&db, None, &[("HUBPORT_LOG_FORMAT", "json")]);
    let token = Process::token(&db, 77);
    let r = server.get(&token, "/crm/v3/imports/424242");
    r.assert_error(404, "OBJECT_NOT_FOUND");
    let id = r.correlation_id.clone().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let logs = server.logs();
    let line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v.to_string().contains(&id) && v["fields"]["message"] == "handled")
        .unwrap_or_else(|| panic!("no JSON log line with {id}:\n{logs}"));
    let text = line.to_string();
    assert!(text.contains("\"portal\":77"), "{text}");
    assert!(text.contains("\"status\":404"), "{text}");
    assert!(!logs.contains(&token), "the token leaked into the logs");
    assert!(
        !logs.contains(PROCESS_SECRET),
        "the secret leaked into the logs"
    );
}
