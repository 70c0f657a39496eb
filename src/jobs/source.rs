//! A stored upload as rows: CSV straight from its database chunks, spreadsheets through a
//! temporary file (their readers need to seek). Used by the worker, and at POST time to count
//! rows against the caps.

use crate::db::files::{ChunkReader, FileRow};
use crate::db::Db;
use crate::import::request::{FileFormat, FileSpec};
use crate::import::sheet::SheetSource;
use crate::import::source::{CsvSource, RowSource, SourceError};
use crate::import::RowError;
use std::io::Read;

/// Spreadsheet readers need to seek: the stored file is copied to a temporary file first.
fn open_sheet(
    db: Db,
    file: &FileRow,
    has_header: bool,
) -> Result<Result<SheetSource, RowError>, String> {
    let mut tmp = tempfile::NamedTempFile::new().map_err(|e| format!("temporary file: {e}"))?;
    std::io::copy(&mut ChunkReader::new(db, file), tmp.as_file_mut()).map_err(|e| e.to_string())?;
    Ok(SheetSource::open(tmp.path(), has_header))
}

/// Why a stored file gives no rows.
pub enum OpenError {
    /// The file is not readable as rows: one file-wide row error, the import goes on.
    Unreadable(RowError),
    /// Reading it failed (storage): the job is retried.
    Failed(String),
}

/// A stored file as rows, CSV or spreadsheet as its request says.
pub fn open_source(
    db: Db,
    file: &FileRow,
    spec: &FileSpec,
) -> Result<Box<dyn RowSource>, OpenError> {
    match spec.format {
        FileFormat::Csv => open_csv(ChunkReader::new(db, file), spec.has_header),
        FileFormat::Spreadsheet => match open_sheet(db, file, spec.has_header) {
            Ok(Ok(s)) => Ok(Box::new(s)),
            Ok(Err(e)) => Err(OpenError::Unreadable(e)),
            Err(e) => Err(OpenError::Failed(e)),
        },
    }
}

/// A CSV file's rows from any reader of its bytes as stored.
pub fn open_csv(
    bytes: impl Read + 'static,
    has_header: bool,
) -> Result<Box<dyn RowSource>, OpenError> {
    match CsvSource::new(bytes, has_header) {
        Ok(s) => Ok(Box::new(s)),
        Err(SourceError::Unreadable(e)) => Err(OpenError::Unreadable(e)),
        Err(e) => Err(OpenError::Failed(e.to_string())),
    }
}

/// The data rows of an opened file as the worker will read them, counted up to one past `cap`.
/// A broken line is still a row (it becomes a row error); an unreadable file holds none, and
/// counting ends where the worker's reading will (both become row errors).
pub fn count_rows(opened: Result<Box<dyn RowSource>, OpenError>, cap: u64) -> Result<u64, String> {
    let mut source = match opened {
        Ok(s) => s,
        Err(OpenError::Unreadable(_)) => return Ok(0),
        Err(OpenError::Failed(m)) => return Err(m),
    };
    let mut n: u64 = 0;
    while let Some(r) = source.skip_row() {
        match r {
            Ok(()) => {}
            Err(SourceError::Unreadable(_)) => break,
            Err(e) => return Err(e.to_string()),
        }
        n += 1;
        if n > cap {
            break;
        }
    }
    Ok(n)
}
