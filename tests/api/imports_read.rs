//! GET /crm/v3/imports and /crm/v3/imports/{id}.

use crate::support::*;

#[test]
fn list_is_newest_first_and_pages_with_after() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let mut ids = Vec::new();
    for n in 0..3 {
        let req = contacts_request(&format!("f{n}.csv"), "UPSERT", &[("Email", "email")]);
        let csv = format!("Email\nn{n}@x.example\n");
        ids.push(
            s.import(&t, &req, &[(&format!("f{n}.csv"), csv.as_bytes())])["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let p1 = s.get(&t, "/crm/v3/imports?limit=2");
    assert_eq!(p1.status, 200);
    let got: Vec<&str> = p1.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    let after = p1.json["paging"]["next"]["after"].as_str().unwrap();
    let p2 = s.get(
        &t,
        &format!("/crm/v3/imports?limit=2&after={after}&before="),
    );
    let got: Vec<&str> = p2.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[0].as_str()]);
    assert!(
        p2.json.get("paging").is_none(),
        "no paging on the last page"
    );
    assert_eq!(
        s.get(&t, "/crm/v3/imports").json["results"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "default limit covers them"
    );
    for bad in [
        "limit=0",
        "limit=-5",
        "limit=101",
        "limit=abc",
        "limit=99999999999999999999999",
        "after=xyz",
    ] {
        s.get(&t, &format!("/crm/v3/imports?{bad}"))
            .assert_error(400, "VALIDATION_ERROR");
    }
}

#[test]
fn get_by_id_and_unknown_or_malformed_ids() {
    let s = TestServer::start();
    let t = s.token(1, &[]);
    let done = s.import(&t, GUIDE_REQUEST, &[("Nov-event-leads.csv", GUIDE_CSV)]);
    let id = done["id"].as_str().unwrap();
    let r = s.get(&t, &format!("/crm/v3/imports/{id}"));
    assert_eq!(r.json["id"], id);
    assert_eq!(r.json["importName"], "November Marketing Event Leads");
    assert_eq!(r.json["startedBy"]["keyName"], "test", "who started it");
    assert!(r.json["startedBy"]["keyId"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .is_ok());
    let nf = s.get(&t, "/crm/v3/imports/987654");
    nf.assert_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(nf.json["context"]["id"], serde_json::json!(["987654"]));
    for bad in ["abc", "12abc", "99999999999999999999999", "-3", "0"] {
        s.get(&t, &format!("/crm/v3/imports/{bad}"))
            .assert_error(400, "VALIDATION_ERROR");
        s.get(&t, &format!("/crm/v3/imports/{bad}/errors"))
            .assert_error(400, "VALIDATION_ERROR");
    }
    s.get(&t, "/crm/v3/imports/987654/errors")
        .assert_error(404, "OBJECT_NOT_FOUND");
}
