//! `hubport import`: a terminal client for a quick import into a running hubport. It builds the
//! importRequest from the file's header, streams the file over HTTP exactly as a HubSpot client
//! would, and follows the import's counters with a progress bar.

use crate::crm::ObjectType;
use crate::import::source::{CsvSource, RowSource};
use serde_json::{json, Value};
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

pub struct ImportArgs<'a> {
    pub file: &'a Path,
    pub object: ObjectType,
    /// `Column=property` overrides; `Column=` leaves the column out.
    pub maps: &'a [String],
    pub operation: &'a str,
    pub date_format: &'a str,
    pub url: &'a str,
    pub token: &'a str,
}

/// The property a header names by default: lower-case, without spaces, `_` or `-`
/// ("First Name" → `firstname`), which matches HubSpot's default property names.
fn default_property(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The importRequest for `header`, one mapping per column (HubSpot's current shape).
pub fn build_request(name: &str, header: &[String], args: &ImportArgs) -> Result<Value, String> {
    let mut overrides = Vec::new();
    for m in args.maps {
        let (col, prop) = m
            .split_once('=')
            .ok_or_else(|| format!("--map '{m}' must look like \"Column=property\""))?;
        if !header.iter().any(|h| h == col.trim()) {
            return Err(format!(
                "--map names column '{}' which the file does not have (columns: {})",
                col.trim(),
                header.join(", ")
            ));
        }
        overrides.push((col.trim().to_string(), prop.trim().to_string()));
    }
    let mappings: Vec<Value> = header
        .iter()
        .map(|h| {
            let prop = overrides.iter().find(|(c, _)| c == h).map(|(_, p)| p.clone()).unwrap_or_else(|| default_property(h));
            let mut m = json!({"columnObjectTypeId": args.object.type_id(), "columnName": h, "propertyName": prop});
            if prop.is_empty() {
                m = json!({"columnObjectTypeId": args.object.type_id(), "columnName": h, "ignored": true});
            } else if Some(prop.as_str()) == args.object.alternate_key() {
                m["columnType"] = json!("HUBSPOT_ALTERNATE_ID");
            }
            m
        })
        .collect();
    Ok(json!({
        "name": name,
        "importOperations": { args.object.type_id(): args.operation },
        "dateFormat": args.date_format,
        "files": [{ "fileName": name, "fileFormat": "CSV", "fileImportPage": { "hasHeader": true, "columnMappings": mappings } }],
    }))
}

fn http_error(e: ureq::Error) -> String {
    match e {
        ureq::Error::Status(code, r) => {
            format!("HTTP {code}: {}", r.into_string().unwrap_or_default())
        }
        other => other.to_string(),
    }
}

/// Runs the import and returns its final state (DONE, FAILED or CANCELED).
pub fn run_import(args: &ImportArgs) -> Result<String, String> {
    let name = args
        .file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("the file needs a name")?
        .to_string();
    let open = || File::open(args.file).map_err(|e| format!("{}: {e}", args.file.display()));
    let mut source = CsvSource::new(open()?, true).map_err(|e| e.to_string())?;
    let header = source.header().ok_or("the file is empty")?.to_vec();
    let mut rows = 0u64;
    // Counted locally for the progress bar; broken lines count as rows, as on the server.
    while let Some(r) = source.next_row() {
        if let Err(e) = r {
            return Err(e.to_string());
        }
        rows += 1;
    }
    let request = build_request(&name, &header, args)?;

    let boundary = format!("hubport-{}", uuid::Uuid::new_v4().simple());
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"importRequest\"\r\nContent-Type: application/json\r\n\r\n{request}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let size = std::fs::metadata(args.file)
        .map_err(|e| e.to_string())?
        .len();
    let body = head.as_bytes().chain(open()?).chain(tail.as_bytes());
    let auth = format!("Bearer {}", args.token);
    let created: Value = ureq::post(&format!("{}/crm/v3/imports", args.url))
        .set("Authorization", &auth)
        .set(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .set(
            "Content-Length",
            &(head.len() as u64 + size + tail.len() as u64).to_string(),
        )
        .send(body)
        .map_err(http_error)?
        .into_json()
        .map_err(|e| e.to_string())?;
    let id = created["id"]
        .as_str()
        .ok_or("the server answered without an import id")?
        .to_string();
    eprintln!("import {id} started: {rows} rows of {name}");

    let bar = indicatif::ProgressBar::new(rows);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} rows {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let counter = |v: &Value, k: &str| v["metadata"]["counters"][k].as_i64().unwrap_or(0);
    let done = loop {
        let import: Value = ureq::get(&format!("{}/crm/v3/imports/{id}", args.url))
            .set("Authorization", &auth)
            .call()
            .map_err(http_error)?
            .into_json()
            .map_err(|e| e.to_string())?;
        bar.set_position(counter(&import, "TOTAL_ROWS").max(0) as u64);
        let state = import["state"].as_str().unwrap_or_default().to_string();
        bar.set_message(state.clone());
        if crate::import::ImportState::FINISHED.contains(&state.as_str()) {
            bar.finish();
            break import;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let state = done["state"].as_str().unwrap_or_default().to_string();
    println!("import {id}: {state}");
    for k in ["TOTAL_ROWS", "CREATED_OBJECTS", "UPDATED_OBJECTS", "ERRORS"] {
        println!("  {k:<16} {}", counter(&done, k));
    }
    if counter(&done, "ERRORS") > 0 {
        let errors: Value = ureq::get(&format!(
            "{}/crm/v3/imports/{id}/errors?limit=10&includeErrorMessage=true",
            args.url
        ))
        .set("Authorization", &auth)
        .call()
        .map_err(http_error)?
        .into_json()
        .map_err(|e| e.to_string())?;
        println!("first errors:");
        for e in errors["results"].as_array().into_iter().flatten() {
            println!(
                "  line {:>6}  {:<28} {}",
                e["sourceData"]["lineNumber"],
                e["errorType"].as_str().unwrap_or(""),
                e["errorMessage"].as_str().unwrap_or("")
            );
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_map_to_default_property_names_and_overrides_win() {
        let header: Vec<String> = ["First Name", "E-mail", "Company Name", "Notes"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let maps = vec!["Company Name=company".to_string(), "Notes=".to_string()];
        let args = ImportArgs {
            file: Path::new("x.csv"),
            object: ObjectType::Contact,
            maps: &maps,
            operation: "UPSERT",
            date_format: "MONTH_DAY_YEAR",
            url: "",
            token: "",
        };
        let r = build_request("x.csv", &header, &args).unwrap();
        let m = &r["files"][0]["fileImportPage"]["columnMappings"];
        assert_eq!(m[0]["propertyName"], "firstname");
        assert_eq!(m[1]["propertyName"], "email");
        assert_eq!(m[1]["columnType"], "HUBSPOT_ALTERNATE_ID");
        assert_eq!(m[2]["propertyName"], "company");
        assert_eq!(m[3]["ignored"], true);
        let bad = vec!["Nope=x".to_string()];
        assert!(build_request("x.csv", &header, &ImportArgs { maps: &bad, ..args }).is_err());
    }
}
