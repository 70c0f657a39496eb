//! Property tests over hostile input (the fuzz suite CI runs, bounded): the request parser, the
//! CSV and spreadsheet row sources, mapping and coercion never panic, and what they accept keeps
//! its shape.

use super::coerce::{coerce_value, normalize_email, parse_number, DateFormat};
use super::mapping::{Catalogue, FilePlan};
use super::request::ImportRequest;
use super::sheet::SheetSource;
use super::source::{CsvSource, Row, RowSource};
use crate::crm::properties::default_properties;
use crate::crm::ObjectType;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text that looks enough like CSV to reach the interesting paths.
fn csvish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b','),
            Just(b';'),
            Just(b'"'),
            Just(b'\n'),
            Just(b'\r'),
            Just(b'\t'),
            Just(0u8),
            Just(0xE9u8),
            Just(0xC3u8),
            b'a'..=b'z',
            any::<u8>(),
        ],
        0..2048,
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn import_requests_parse_or_fail_cleanly(text in ".{0,400}") {
        let _ = ImportRequest::parse(&text);
    }

    #[test]
    fn json_shaped_requests_parse_or_fail_cleanly(
        name in ".{0,20}",
        ops in prop::collection::btree_map("[0-9a-zA-Z-]{0,5}", ".{0,8}", 0..4),
        files in prop::collection::vec(("[ -~]{0,12}", ".{0,12}", prop::option::of(any::<bool>()), prop::collection::vec(("[ -~]{0,6}", ".{0,6}", "[ -~]{0,8}"), 0..5)), 0..4),
    ) {
        let files: Vec<serde_json::Value> = files
            .into_iter()
            .map(|(file, format, header, cols)| serde_json::json!({
                "fileName": file, "fileFormat": format, "fileImportPage": {"hasHeader": header,
                "columnMappings": cols.into_iter().map(|(c, t, p)| serde_json::json!({"columnName": c, "columnObjectTypeId": t, "propertyName": p})).collect::<Vec<_>>()}
            }))
            .collect();
        let text = serde_json::json!({"name": name, "importOperations": ops, "files": files}).to_string();
        if let Ok(r) = ImportRequest::parse(&text) {
            prop_assert!(!r.files.is_empty());
            prop_assert!(r.echo_json()["importName"].is_string());
        }
    }

    #[test]
    fn csv_sources_yield_rows_in_order_whatever_the_bytes(bytes in csvish(), header in any::<bool>()) {
        if let Ok(mut source) = CsvSource::new(&bytes[..], header) {
            let mut last = 0;
            while let Some(next) = source.next_row() {
                let line = match next {
                    Ok(Ok(row)) => row.line,
                    Ok(Err(broken)) => broken.line,
                    Err(_) => break,
                };
                prop_assert!(line > last, "row numbers grow: {} after {}", line, last);
                last = line;
            }
        }
    }

    #[test]
    fn spreadsheet_sources_refuse_garbage_cleanly(mut bytes in prop::collection::vec(any::<u8>(), 0..1024), zip in any::<bool>()) {
        if zip {
            bytes.splice(0..0, *b"PK\x03\x04");
        }
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, &bytes).unwrap();
        if let Ok(mut sheet) = SheetSource::open(file.path(), true) {
            while sheet.next_row().is_some() {}
        }
    }

    #[test]
    fn rows_map_whatever_the_cells(cells in prop::collection::vec(".{0,24}", 0..6)) {
        let request = r#"{"name":"f","files":[{"fileName":"f.csv","fileImportPage":{"columnMappings":[
            {"columnObjectTypeId":"0-1","columnName":"Email","propertyName":"email"},
            {"columnObjectTypeId":"0-2","columnName":"Domain","propertyName":"domain"},
            {"columnObjectTypeId":"0-3","columnName":"Amount","propertyName":"amount"},
            {"columnObjectTypeId":"0-3","columnName":"Close","propertyName":"closedate"},
            {"columnObjectTypeId":"0-2","toColumnObjectTypeId":"0-1","columnName":"Link","propertyName":null}]}}]}"#;
        let r = ImportRequest::parse(request).unwrap();
        let header: Vec<String> = ["Email", "Domain", "Amount", "Close", "Link"].iter().map(|s| s.to_string()).collect();
        let plan = FilePlan::new(&r.files[0], Some(&header), &Catalogue::default()).unwrap();
        let mapped = plan.map_row(Row { line: 2, cells: cells.into_iter().collect() });
        for d in &mapped.drafts {
            if let Some(k) = &d.key {
                prop_assert_eq!(k.trim(), k.as_str());
            }
        }
    }

    #[test]
    fn coercion_never_panics_and_keeps_its_formats(raw in ".{0,40}") {
        for ot in ObjectType::ALL {
            for def in default_properties(ot) {
                for f in [DateFormat::MonthDayYear, DateFormat::DayMonthYear, DateFormat::YearMonthDay] {
                    let _ = coerce_value(def, &raw, f);
                }
            }
        }
        if let Ok(n) = parse_number(&raw) {
            prop_assert!(n.parse::<f64>().is_ok(), "{} became {}", raw, n);
        }
        if let Ok(e) = normalize_email(&raw) {
            prop_assert_eq!(e.matches('@').count(), 1);
            prop_assert_eq!(e.to_lowercase(), e.clone());
        }
    }
}
