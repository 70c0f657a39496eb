//! Per-key rate limits: HubSpot's headers on every authenticated answer, its 429 body, and a
//! client that honours Retry-After gets through.

use crate::support::*;
use std::time::{Duration, Instant};

fn num(r: &Resp, name: &str) -> i64 {
    r.header(name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .parse()
        .unwrap()
}

#[test]
fn every_authenticated_answer_reports_usage() {
    let s = TestServer::start_with(|c| {
        c.rate_limit_per_10s = 190;
        c.rate_limit_per_day = 625_000;
    });
    let t = s.token(1, &[]);
    let first = s.get(&t, "/crm/v3/imports");
    assert_eq!(first.status, 200);
    assert_eq!(
        num(&first, "x-hubspot-ratelimit-interval-milliseconds"),
        10_000
    );
    assert_eq!(num(&first, "x-hubspot-ratelimit-max"), 190);
    assert_eq!(num(&first, "x-hubspot-ratelimit-remaining"), 189);
    assert_eq!(num(&first, "x-hubspot-ratelimit-daily"), 625_000);
    assert_eq!(num(&first, "x-hubspot-ratelimit-daily-remaining"), 624_999);
    let second = s.get(&t, "/crm/v3/objects/contacts/999");
    second.assert_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(
        num(&second, "x-hubspot-ratelimit-remaining"),
        188,
        "errors count too"
    );
    let health = Resp::from(ureq::get(&s.url("/health")).call());
    assert_eq!(health.status, 200);
}

#[test]
fn over_the_ten_second_limit_is_hubspots_429_and_a_retrying_client_gets_through() {
    let s = TestServer::start_with(|c| c.rate_limit_per_10s = 3);
    let t = s.token(1, &[]);
    for _ in 0..3 {
        assert_eq!(s.get(&t, "/crm/v3/imports").status, 200);
    }
    let r = s.get(&t, "/crm/v3/imports");
    assert_eq!(r.status, 429);
    let retry_after = num(&r, "retry-after");
    assert!(
        (1..=4).contains(&retry_after),
        "Retry-After {retry_after} s"
    );
    assert_eq!(num(&r, "x-hubspot-ratelimit-remaining"), 0);
    assert!(
        num(&r, "x-hubspot-ratelimit-daily-remaining") > 0,
        "a 10-second 429 leaves the day's budget as it was"
    );
    let body = &r.json;
    assert_eq!(body["status"], "error");
    assert_eq!(
        body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert_eq!(body["errorType"], "RATE_LIMIT");
    assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(body["category"], "RATE_LIMITS");
    assert!(uuid::Uuid::parse_str(body["correlationId"].as_str().unwrap()).is_ok());

    // Another key has its own window.
    let other = s.token(1, &[]);
    assert_eq!(s.get(&other, "/crm/v3/imports").status, 200);

    // A client that waits Retry-After and retries gets every call through: the call right after
    // the wait is never refused again.
    let start = Instant::now();
    let (mut ok, mut waits, mut waited) = (0, 0, false);
    while ok < 5 {
        let r = s.get(&t, "/crm/v3/imports");
        if r.status == 429 {
            assert!(!waited, "429 again after waiting Retry-After: {}", r.text);
            waits += 1;
            waited = true;
            std::thread::sleep(Duration::from_secs(num(&r, "retry-after") as u64));
        } else {
            assert_eq!(r.status, 200, "{}", r.text);
            ok += 1;
            waited = false;
        }
        assert!(start.elapsed() < Duration::from_secs(30));
    }
    assert!(waits > 0, "the limit held: the client had to wait");
}

#[test]
fn per_key_overrides_and_the_daily_budget() {
    let s = TestServer::start();
    let db = hubport::open_database(&s.config).unwrap();
    let key = hubport::db::keys::create(
        &mut db.conn().unwrap(),
        hubport::crm::PortalId(1),
        "tight",
        &hubport::auth::parse_scopes(None).unwrap(),
        hubport::db::keys::RateOverrides {
            per_10s: None,
            per_day: Some(2),
        },
    )
    .unwrap();
    let t = hubport::auth::Tokens::load(&db, &s.config)
        .unwrap()
        .mint(&key);
    let r = s.get(&t, "/crm/v3/imports");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(num(&r, "x-hubspot-ratelimit-daily"), 2);
    assert_eq!(s.get(&t, "/crm/v3/imports").status, 200);
    let third = s.get(&t, "/crm/v3/imports");
    assert_eq!(third.status, 429);
    assert_eq!(third.json["policyName"], "DAILY");
    assert_eq!(third.json["message"], "You have reached your daily limit.");
    assert_eq!(third.json["category"], "RATE_LIMITS");
    // The server default still applies to other keys.
    assert_eq!(s.get(&s.token(1, &[]), "/crm/v3/imports").status, 200);
}

/// GET /crm/v3/imports on `node`: (status, daily remaining header, body).
fn call(node: &Process, t: &str) -> (u16, Option<i64>, serde_json::Value) {
    let r = node.get(t, "/crm/v3/imports");
    let left = r
        .header("x-hubspot-ratelimit-daily-remaining")
        .map(|v| v.parse().unwrap());
    (r.status, left, r.json)
}

#[test]
fn the_daily_budget_is_shared_by_every_node() {
    let db = TestDb::new();
    // Sync every 50 ms (the default is a second) so that the test's pace is slow next to it.
    let env = [("HUBPORT_RATE_LIMIT_SYNC_MS", "50")];
    let a = Process::start(&db, None, &env);
    let b = Process::start(&db, None, &env);
    let budget = 40;
    let t = Process::token_with(&db, 1, &["--per-day", &budget.to_string()]);
    let settle = || std::thread::sleep(Duration::from_millis(500));

    // Node a spends 10; node b, once synced, reports the global figure.
    for _ in 0..10 {
        assert_eq!(call(&a, &t).0, 200);
    }
    settle();
    let (status, left, _) = call(&b, &t);
    assert_eq!(status, 200);
    assert_eq!(left, Some(budget - 11), "b counts a's requests too");

    // Requests alternate between the nodes, paced like a client spreading its calls, until
    // both refuse: together they let the budget through, plus at most what one node admits
    // before the other's counts reach it (two sync intervals: at this pace one call, three
    // allowed for a loaded machine).
    let mut allowed = 11;
    let mut refused = (false, false);
    let started = Instant::now();
    while !(refused.0 && refused.1) {
        for (node, done) in [(&a, &mut refused.0), (&b, &mut refused.1)] {
            let (status, _, body) = call(node, &t);
            match status {
                200 => {
                    assert!(!*done, "a node let a request through after refusing one");
                    allowed += 1;
                }
                429 => {
                    assert_eq!(body["policyName"], "DAILY");
                    assert_eq!(body["message"], "You have reached your daily limit.");
                    assert_eq!(body["category"], "RATE_LIMITS");
                    *done = true;
                }
                other => panic!("{other}: {body}"),
            }
        }
        std::thread::sleep(Duration::from_millis(100));
        assert!(started.elapsed() < Duration::from_secs(20), "never refused");
    }
    println!("{allowed} requests allowed across two nodes for a daily budget of {budget}");
    assert!(
        (budget..=budget + 3).contains(&allowed),
        "{allowed} requests allowed for a budget of {budget}"
    );

    // Settled: both nodes refuse, with HubSpot's body and the day's end as Retry-After.
    settle();
    for node in [&a, &b] {
        let r = node.get(&t, "/crm/v3/imports");
        assert_eq!(r.assert_error(429, "RATE_LIMITS")["policyName"], "DAILY");
    }
    // The budget is per key: another key of the same portal is untouched on both nodes.
    let other = Process::token(&db, 1);
    assert_eq!(call(&a, &other).0, 200);
    assert_eq!(call(&b, &other).0, 200);
}
