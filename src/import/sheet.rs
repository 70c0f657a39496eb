//! Rows out of a spreadsheet (`fileFormat: SPREADSHEET`): .xlsx, .xls or .ods, first sheet,
//! values read from the cells (a date cell becomes an ISO date, a number its digits), so the
//! same mapping and coercion apply as for CSV. Line numbers are the sheet's row numbers.

use super::row_error::{ErrorType, RowError};
use super::source::{BrokenRow, Cells, Row, RowSource, SourceError};
use calamine::{Data, Ods, Range, Reader, Xls, Xlsx};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// A workbook may inflate to at most this much: a zip bomb is refused before anything is read.
pub const MAX_UNZIPPED_BYTES: u64 = 256 << 20;

/// Sums the sizes a zip declares for its entries (the parts a spreadsheet reader would inflate).
pub fn check_unzipped_size(path: &Path, limit: u64) -> Result<(), String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| e.to_string())?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| e.to_string())?;
        total = total.saturating_add(entry.size());
        if total > limit {
            return Err(format!("it would inflate to more than {limit} bytes"));
        }
    }
    Ok(())
}

pub struct SheetSource {
    range: Range<Data>,
    /// Sheet row number (1-based) of the range's first row.
    first_line: u64,
    header: Option<Vec<String>>,
    next: usize,
}

fn load<R: Reader<BufReader<File>>>(path: &Path) -> Result<Range<Data>, String>
where
    R::Error: std::fmt::Display,
{
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut book = R::new(BufReader::new(file)).map_err(|e| e.to_string())?;
    match book.worksheet_range_at(0) {
        Some(r) => r.map_err(|e| e.to_string()),
        None => Err("the workbook has no sheet".into()),
    }
}

/// A cell as text, the way a person reads it.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.format("%Y-%m-%d").to_string(),
            Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            None => dt.as_f64().to_string(),
        },
    }
}

impl SheetSource {
    /// Opens the first sheet of the workbook at `path`; the format comes from the file's bytes.
    pub fn open(path: &Path, has_header: bool) -> Result<SheetSource, RowError> {
        let mut magic = [0u8; 8];
        let n = File::open(path)
            .and_then(|mut f| f.read(&mut magic))
            .unwrap_or(0);
        let invalid = |why: String| {
            RowError::new(
                ErrorType::InvalidSpreadsheet,
                format!("The file is not a readable spreadsheet: {why}"),
            )
        };
        let range = if magic[..n].starts_with(b"PK\x03\x04") {
            check_unzipped_size(path, MAX_UNZIPPED_BYTES).map_err(invalid)?;
            load::<Xlsx<_>>(path)
                .or_else(|e| load::<Ods<_>>(path).map_err(|_| e))
                .map_err(invalid)?
        } else if magic[..n].starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
            load::<Xls<_>>(path).map_err(invalid)?
        } else {
            return Err(invalid(
                "expected .xlsx, .xls or .ods content (upload CSV files with fileFormat CSV)"
                    .into(),
            ));
        };
        let first_line = u64::from(range.start().map_or(0, |(row, _)| row)) + 1;
        let mut source = SheetSource {
            range,
            first_line,
            header: None,
            next: 0,
        };
        if has_header {
            source.header = source
                .range
                .rows()
                .next()
                .map(|r| r.iter().map(|c| cell_text(c).trim().to_string()).collect());
            source.next = 1;
        }
        Ok(source)
    }
}

impl RowSource for SheetSource {
    fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }

    fn next_row(&mut self) -> Option<Result<Result<Row, BrokenRow>, SourceError>> {
        loop {
            let cells = self.range.rows().nth(self.next)?;
            let line = self.first_line + self.next as u64;
            self.next += 1;
            let cells: Cells = cells.iter().map(cell_text).collect();
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            return Some(Ok(Ok(Row { line, cells })));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_zip_bomb_is_refused_before_it_is_inflated() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        {
            let mut zip = zip::ZipWriter::new(tmp.as_file_mut());
            let opts = zip::write::SimpleFileOptions::default();
            zip.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
            let block = vec![b' '; 1 << 20];
            for _ in 0..4 {
                zip.write_all(&block).unwrap();
            }
            zip.finish().unwrap();
        }
        let compressed = std::fs::metadata(tmp.path()).unwrap().len();
        assert!(
            compressed < 64 * 1024,
            "4 MiB of spaces compress to {compressed} bytes"
        );
        assert!(check_unzipped_size(tmp.path(), 1 << 20)
            .unwrap_err()
            .contains("inflate"));
        assert!(check_unzipped_size(tmp.path(), 8 << 20).is_ok());
        let refused = SheetSource::open(tmp.path(), true)
            .err()
            .map(|e| e.error_type);
        assert_eq!(
            refused,
            Some(ErrorType::InvalidSpreadsheet),
            "not a workbook either way"
        );
    }
}
