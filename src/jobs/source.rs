//! A stored upload as rows: CSV straight from its database chunks, spreadsheets through a
//! temporary file (their readers need to seek). Used by the worker, and at POST time to count
//! rows against the caps.

use crate::db::files::{ChunkReader, FileRow};
use crate::db::Db;
use crate::import::request::{FileFormat, FileSpec};
use crate::import::sheet::SheetSource;
use crate::import::source::{CsvSource, RowSource, SourceError};
use crate::import::RowError;

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
        FileFormat::Csv => match CsvSource::new(ChunkReader::new(db, file), spec.has_header) {
            Ok(s) => Ok(Box::new(s)),
            Err(SourceError::Unreadable(e)) => Err(OpenError::Unreadable(e)),
            Err(e) => Err(OpenError::Failed(e.to_string())),
        },
        FileFormat::Spreadsheet => match open_sheet(db, file, spec.has_header) {
            Ok(Ok(s)) => Ok(Box::new(s)),
            Ok(Err(e)) => Err(OpenError::Unreadable(e)),
            Err(e) => Err(OpenError::Failed(e)),
        },
    }
}
