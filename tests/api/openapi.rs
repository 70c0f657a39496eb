//! The OpenAPI document: committed copy in sync, served with an offline docs page, and
//! conformant with HubSpot's published specs for the paths hubport serves.

use crate::support::*;
use serde_json::Value;

fn committed() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/hubport.json"))
        .expect("openapi/hubport.json")
}

#[test]
fn committed_document_matches_the_code() {
    assert!(
        committed() == hubport::http::openapi::document_json(),
        "openapi/hubport.json is stale: run `cargo run -- openapi > openapi/hubport.json` and commit it"
    );
}

#[test]
fn document_and_docs_page_are_served_without_a_token() {
    let s = TestServer::start();
    let doc = Resp::from(ureq::get(&s.url("/openapi.json")).call());
    assert_eq!(doc.status, 200);
    assert!(
        doc.json == serde_json::from_str::<Value>(&committed()).unwrap(),
        "/openapi.json differs from openapi/hubport.json"
    );
    let page = Resp::from(ureq::get(&s.url("/docs/")).call());
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("swagger"),
        "{}",
        &page.text[..page.text.len().min(300)]
    );
    let js = Resp::from(ureq::get(&s.url("/docs/swagger-ui-bundle.js")).call());
    assert_eq!(
        js.status, 200,
        "assets are served by hubport itself, not a CDN"
    );
    assert!(js.text.len() > 100_000);
}

fn hubspot(rel: &str) -> Value {
    let path = format!(
        "{}/../shared/reference/hubspot/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap()
}

/// A property's JSON type, `null` alternatives and `$ref`s folded ("ref" for a reference).
fn kind(p: &Value) -> String {
    if p.get("$ref").is_some() {
        return "ref".into();
    }
    if let Some(alts) = p.get("oneOf").and_then(Value::as_array) {
        return alts
            .iter()
            .map(kind)
            .find(|k| k != "null")
            .unwrap_or_default();
    }
    match &p["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or_default()
            .to_string(),
        _ => "any".into(),
    }
}

/// Every field HubSpot requires is present in ours, required too, and of the same JSON type.
fn assert_schema_conforms(ours: &Value, theirs: &Value, name: &str) {
    let (o, t) = (
        &ours["components"]["schemas"][name],
        &theirs["components"]["schemas"][name],
    );
    assert!(o.is_object(), "hubport has no schema {name}");
    let our_required: Vec<&str> = o["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for field in t["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        assert!(
            our_required.contains(&field),
            "{name}.{field} is required by HubSpot but not by hubport"
        );
        let (op, tp) = (&o["properties"][field], &t["properties"][field]);
        assert_eq!(kind(op), kind(tp), "{name}.{field} type differs");
    }
}

#[test]
fn imports_and_objects_paths_conform_to_hubspots_specs() {
    let ours: Value = serde_json::from_str(&committed()).unwrap();
    let imports = hubspot("crm-imports/v3/imports.json");
    for (path, item) in imports["paths"].as_object().unwrap() {
        for method in item
            .as_object()
            .unwrap()
            .keys()
            .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
        {
            assert!(
                ours["paths"][path][method].is_object(),
                "HubSpot's {method} {path} is missing"
            );
        }
    }
    for name in [
        "PublicImportResponse",
        "PublicImportMetadata",
        "PublicImportError",
        "ImportRowCore",
        "ActionResponse",
        "Error",
        "CollectionResponsePublicImportResponseForwardPaging",
        "CollectionResponsePublicImportErrorForwardPaging",
    ] {
        assert_schema_conforms(&ours, &imports, name);
    }

    let objects = hubspot("crm-objects/v3/objects.json");
    // Intended differences: hubport serves the read side of the objects API only.
    let served = [
        ("/crm/v3/objects/{objectType}", "get"),
        ("/crm/v3/objects/{objectType}/{objectId}", "get"),
    ];
    for (path, method) in served {
        assert!(
            objects["paths"][path][method].is_object(),
            "HubSpot has {method} {path}"
        );
        assert!(
            ours["paths"][path][method].is_object(),
            "hubport serves {method} {path}"
        );
    }
    for name in [
        "SimplePublicObjectWithAssociations",
        "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging",
        "ForwardPaging",
        "NextPage",
    ] {
        assert_schema_conforms(&ours, &objects, name);
    }
    // Query parameters HubSpot's SDKs send on the served paths are all declared.
    for (path, method) in served {
        let names = |doc: &Value| -> Vec<String> {
            doc["paths"][path][method]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect()
        };
        let ours_names = names(&ours);
        for n in names(&objects) {
            let intended = ["propertiesWithHistory", "associations"].contains(&n.as_str());
            assert!(
                intended || ours_names.contains(&n),
                "{method} {path}: parameter {n} not declared"
            );
        }
    }
}
