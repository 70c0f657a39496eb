//! Bearer tokens: missing, forged, revoked, out of scope.

use crate::support::*;

#[test]
fn missing_or_invalid_tokens_get_401_in_hubspot_shape() {
    let s = TestServer::start();
    let no_token = Resp::from(ureq::get(&s.url("/crm/v3/imports")).call());
    no_token.assert_error(401, "INVALID_AUTHENTICATION");
    let basic = Resp::from(
        ureq::get(&s.url("/crm/v3/imports"))
            .set("Authorization", "Basic dXNlcjpwYXNz")
            .call(),
    );
    basic.assert_error(401, "INVALID_AUTHENTICATION");
    s.get("not.a.jwt", "/crm/v3/imports")
        .assert_error(401, "INVALID_AUTHENTICATION");
    // A token signed by another secret (as another hubport would mint it).
    let key = hubport::db::keys::ApiKey {
        id: 1,
        portal_id: 1,
        name: "x".into(),
        scopes: "crm.import".into(),
        created_at: chrono::Utc::now().naive_utc(),
        revoked_at: None,
        rate_per_10s: None,
        rate_per_day: None,
    };
    let forged = hubport::auth::Tokens::from_secret(b"another secret").mint(&key);
    let r = s.get(&forged, "/crm/v3/imports");
    r.assert_error(401, "INVALID_AUTHENTICATION");
    assert!(!r.text.contains("another secret"));
    // alg=none with the same claims.
    let claims = forged.split('.').nth(1).unwrap();
    s.get(
        &format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{claims}."),
        "/crm/v3/imports",
    )
    .assert_error(401, "INVALID_AUTHENTICATION");
    // The multipart endpoint refuses before reading the upload.
    let (ct, body) = multipart(&[
        Part::text("importRequest", GUIDE_REQUEST),
        Part::file("files", "Nov-event-leads.csv", "text/csv", GUIDE_CSV),
    ]);
    Resp::from(
        ureq::post(&s.url("/crm/v3/imports"))
            .set("Content-Type", &ct)
            .send_bytes(&body),
    )
    .assert_error(401, "INVALID_AUTHENTICATION");
    // /health needs no token.
    assert_eq!(Resp::from(ureq::get(&s.url("/health")).call()).status, 200);
}

#[test]
fn a_revoked_key_stops_working_at_once() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    assert_eq!(s.get(&t, "/crm/v3/imports").status, 200);
    let db = hubport::open_database(&s.config).unwrap();
    let keys = hubport::db::keys::list(&mut db.conn().unwrap()).unwrap();
    assert!(hubport::db::keys::revoke(&mut db.conn().unwrap(), keys[0].id).unwrap());
    s.get(&t, "/crm/v3/imports")
        .assert_error(401, "INVALID_AUTHENTICATION");
}

#[test]
fn missing_scopes_get_403_naming_the_scope() {
    let s = TestServer::start();
    let reader = s.token(1, &["crm.objects.contacts.read"]);
    let r = s.get(&reader, "/crm/v3/imports");
    let body = r.assert_error(403, "MISSING_SCOPES");
    assert_eq!(
        body["errors"][0]["context"]["requiredGranularScopes"],
        serde_json::json!(["crm.import"])
    );
    let r = s.create_import(
        &reader,
        GUIDE_REQUEST,
        &[("Nov-event-leads.csv", GUIDE_CSV)],
    );
    r.assert_error(403, "MISSING_SCOPES");
    assert_eq!(s.get(&reader, "/crm/v3/objects/contacts").status, 200);
    let importer = s.token(1, &["crm.import"]);
    let r = s.get(&importer, "/crm/v3/objects/deals");
    assert_eq!(
        r.assert_error(403, "MISSING_SCOPES")["errors"][0]["context"]["requiredGranularScopes"],
        serde_json::json!(["crm.objects.deals.read"])
    );
    assert_eq!(s.get(&importer, "/crm/v3/imports").status, 200);
}

/// A token signed with the server's own secret but with claims of our choosing.
fn forge(s: &TestServer, claims: serde_json::Value) -> String {
    let db = hubport::open_database(&s.config).unwrap();
    let secret = hubport::db::settings::get(&mut db.conn().unwrap(), "jwt_secret")
        .unwrap()
        .expect("generated secret");
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[test]
fn expired_tokens_and_tokens_claiming_another_portal_are_refused() {
    let s = TestServer::start();
    let valid = s.token(1, &[]);
    assert_eq!(s.get(&valid, "/crm/v3/imports").status, 200);
    let key_id = {
        let db = hubport::open_database(&s.config).unwrap();
        hubport::db::keys::list(&mut db.conn().unwrap()).unwrap()[0]
            .id
            .to_string()
    };
    let now = chrono::Utc::now().timestamp();
    let expired = forge(
        &s,
        serde_json::json!({"sub": key_id, "portal": 1, "scopes": ["crm.import"], "iat": now - 7200, "exp": now - 3600}),
    );
    s.get(&expired, "/crm/v3/imports")
        .assert_error(401, "INVALID_AUTHENTICATION");
    let still_valid = forge(
        &s,
        serde_json::json!({"sub": key_id, "portal": 1, "scopes": ["crm.import"], "iat": now, "exp": now + 3600}),
    );
    assert_eq!(
        s.get(&still_valid, "/crm/v3/imports").status,
        200,
        "the forge itself is sound"
    );
    let other_portal = forge(
        &s,
        serde_json::json!({"sub": key_id, "portal": 2, "scopes": ["crm.import"], "iat": now}),
    );
    s.get(&other_portal, "/crm/v3/imports")
        .assert_error(401, "INVALID_AUTHENTICATION");
}

#[test]
fn a_flood_of_bad_tokens_from_one_address_is_cut_off() {
    let s = TestServer::start_with(|c| c.auth_failures_per_10s = 3);
    let valid = s.token(1, &[]);
    for _ in 0..3 {
        s.get("forged.token.value", "/crm/v3/imports")
            .assert_error(401, "INVALID_AUTHENTICATION");
    }
    let r = s.get("forged.token.value", "/crm/v3/imports");
    let body = r.assert_error(429, "RATE_LIMITS");
    assert_eq!(body["errorType"], "RATE_LIMIT");
    // Refused before any token is checked, valid ones included, until the window ends.
    s.get(&valid, "/crm/v3/imports")
        .assert_error(429, "RATE_LIMITS");
    assert_eq!(Resp::from(ureq::get(&s.url("/health")).call()).status, 200);
}
