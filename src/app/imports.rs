//! Creating, reading, listing and canceling imports, and reading their row errors.

use super::row_count::RowCount;
use crate::auth::Principal;
use crate::crm::PortalId;
use crate::db::errors::ImportErrorRow;
use crate::db::imports::{ImportRow, NewImport};
use crate::db::{self, Db, DbError};
use crate::error::{ApiError, Context, ErrorDetail};
use crate::import::request::by_file_name;
use crate::import::{ImportRequest, ImportState};
use crate::jobs::queue;
use crate::jobs::source::{count_rows, open_source};

/// A file part already stored in the database, not yet attached to an import.
pub struct UploadedFile {
    pub id: i64,
    pub file_name: String,
    /// Its rows, when they were counted as it was stored.
    pub rows: Option<RowCount>,
}

/// An import with its file ids, as the API reports it.
pub struct ImportView {
    pub row: ImportRow,
    pub file_ids: Vec<i64>,
    /// The API key (id, name) that started the import.
    pub started_by: Option<(i64, String)>,
}

fn invalid(message: String, details: Vec<ErrorDetail>) -> ApiError {
    ApiError::Validation {
        message,
        errors: details,
    }
}

/// The row caps an import is checked against (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub max_file_rows: u64,
    pub max_rows_per_day: u64,
}

/// Validates the request against the uploaded files, then records the import and its job in
/// one transaction. Uploads are already stored; the caller discards them if this fails.
pub fn create(
    db: &Db,
    who: &Principal,
    caps: Caps,
    request_text: Option<String>,
    files: &[UploadedFile],
) -> Result<ImportView, ApiError> {
    let text =
        request_text.ok_or_else(|| ApiError::validation("The importRequest field is missing"))?;
    let request = ImportRequest::parse(&text).map_err(|e| {
        let details = e
            .problems
            .iter()
            .map(|p| ErrorDetail::new(p.message.clone()).in_(&p.field))
            .collect();
        invalid(e.message, details)
    })?;
    if files.is_empty() {
        return Err(ApiError::validation(
            "No file was uploaded; send each file in a files field",
        ));
    }
    let mut problems = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if files[..i].iter().any(|o| o.file_name == f.file_name) {
            problems.push(
                ErrorDetail::new(format!("The file '{}' was uploaded twice", f.file_name))
                    .in_("files"),
            );
        }
    }
    let mut attached = Vec::new();
    for (i, spec) in request.files.iter().enumerate() {
        match by_file_name(files, &spec.file_name, |f| &f.file_name) {
            Some(f) => attached.push((f.id, i as i32)),
            None => problems.push(
                ErrorDetail::new(format!(
                    "importRequest.files[{i}].fileName is '{}' but no uploaded file has that name (uploaded: {})",
                    spec.file_name,
                    files.iter().map(|f| format!("'{}'", f.file_name)).collect::<Vec<_>>().join(", ")
                ))
                .in_(&format!("files[{i}].fileName")),
            ),
        }
    }
    for f in files {
        if !attached.iter().any(|(id, _)| *id == f.id)
            && !problems
                .iter()
                .any(|p| p.message.contains("uploaded twice"))
        {
            problems.push(
                ErrorDetail::new(format!(
                    "The uploaded file '{}' is not listed in importRequest.files",
                    f.file_name
                ))
                .in_("files"),
            );
        }
    }
    if !problems.is_empty() {
        let message = format!(
            "The uploaded files do not match importRequest.files: {}",
            problems[0].message
        );
        return Err(invalid(message, problems));
    }
    let row_count = check_caps(db, who, caps, &request, &attached, files)?;
    let type_ids: Vec<&str> = request
        .mapped_object_types()
        .into_iter()
        .map(|t| t.type_id())
        .collect();
    let row = db.write(|c| {
        let row = db::imports::insert(
            c,
            NewImport {
                portal: who.portal,
                api_key_id: Some(who.key_id),
                name: &request.name,
                state: ImportState::Started.as_str(),
                request_json: &text,
                mapped_object_type_ids: &type_ids.join(","),
                row_count,
            },
        )?;
        db::files::attach(c, who.portal, row.id, &attached)?;
        queue::enqueue(c, who.portal, row.id)?;
        Ok::<_, DbError>(row)
    })?;
    tracing::info!(
        import_id = row.id,
        portal = who.portal.0,
        files = attached.len(),
        "import created"
    );
    // Read back as every other answer is built, files and key included.
    get(db, who.portal, row.id)
}

/// Counts the data rows of each uploaded file (before the import exists, so a refused one leaves
/// nothing behind) against the per-file cap, and the portal's rolling 24 hours against the
/// daily cap. Returns the import's row count.
fn check_caps(
    db: &Db,
    who: &Principal,
    caps: Caps,
    request: &ImportRequest,
    attached: &[(i64, i32)],
    files: &[UploadedFile],
) -> Result<i64, ApiError> {
    let limits = (caps.max_file_rows, caps.max_rows_per_day);
    let mut total: u64 = 0;
    for &(file_id, position) in attached {
        let spec = &request.files[position as usize];
        let streamed = files
            .iter()
            .find(|f| f.id == file_id)
            .and_then(|f| f.rows.as_ref()?.rows(spec));
        let rows = match streamed {
            Some(counted) => counted,
            None => {
                let mut conn = db.conn()?;
                let Some(file) = db::files::get(&mut conn, who.portal, file_id)? else {
                    continue;
                };
                drop(conn);
                count_rows(open_source(db.clone(), &file, spec), limits.0)
            }
        }
        .map_err(ApiError::Internal)?;
        if rows > limits.0 {
            return Err(ApiError::LimitExceeded {
                message: format!(
                    "Too many rows detected in '{}': a file may hold {} rows",
                    spec.file_name, limits.0
                ),
                code: "TOO_MANY_ROWS",
                context: Context::from([
                    ("maximumAllowedRows".to_string(), vec![limits.0.to_string()]),
                    (
                        "rowsDetected".to_string(),
                        vec![format!("more than {}", limits.0)],
                    ),
                ]),
            });
        }
        total += rows;
    }
    let since = db::now() - std::time::Duration::from_secs(24 * 3600);
    let used = db::imports::rows_since(&mut *db.conn()?, who.portal, since)? as u64;
    if used + total > limits.1 {
        return Err(ApiError::LimitExceeded {
            message: format!("This portal has surpassed the number of import rows it can import in 24 hours - {}", limits.1),
            code: "TOO_MANY_ROWS_PER_DAY",
            context: Context::from([
                ("totalImportRowsLimit".to_string(), vec![limits.1.to_string()]),
                ("totalImportRows".to_string(), vec![(used + total).to_string()]),
            ]),
        });
    }
    Ok(total as i64)
}

fn with_files(
    conn: &mut db::DbConnection,
    portal: PortalId,
    rows: Vec<ImportRow>,
) -> Result<Vec<ImportView>, DbError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let pairs = db::files::ids_for_imports(conn, portal, &ids)?;
    let key_ids: Vec<i64> = rows.iter().filter_map(|r| r.api_key_id).collect();
    let keys = db::keys::names(conn, portal, &key_ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let file_ids = pairs
                .iter()
                .filter(|(i, _)| *i == row.id)
                .map(|(_, f)| *f)
                .collect();
            let started_by = keys
                .iter()
                .find(|(k, _)| Some(*k) == row.api_key_id)
                .cloned();
            ImportView {
                row,
                file_ids,
                started_by,
            }
        })
        .collect())
}

pub fn get(db: &Db, portal: PortalId, id: i64) -> Result<ImportView, ApiError> {
    let mut conn = db.conn()?;
    let row = db::imports::get(&mut conn, portal, id)?
        .ok_or_else(|| ApiError::not_found(id.to_string()))?;
    Ok(with_files(&mut conn, portal, vec![row])?.remove(0))
}

/// Newest first. Returns the page and the cursor of the next one.
pub fn list(
    db: &Db,
    portal: PortalId,
    after: Option<i64>,
    limit: i64,
) -> Result<(Vec<ImportView>, Option<i64>), ApiError> {
    let mut conn = db.conn()?;
    let mut rows = db::imports::page(&mut conn, portal, after, limit + 1)?;
    let next = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    });
    Ok((with_files(&mut conn, portal, rows)?, next.flatten()))
}

/// Cancels a STARTED, PROCESSING or DEFERRED import; a running worker stops before its next batch.
pub fn cancel(db: &Db, portal: PortalId, id: i64) -> Result<ImportRow, ApiError> {
    db.write(|c| {
        let row =
            db::imports::get(c, portal, id)?.ok_or_else(|| ApiError::not_found(id.to_string()))?;
        let moved = db::imports::transition(
            c,
            portal,
            id,
            &ImportState::CANCELABLE,
            ImportState::Canceled.as_str(),
            None,
        )?;
        if !moved {
            return Err(ApiError::validation(format!(
                "Import {id} is {} and can no longer be canceled; only STARTED, PROCESSING or DEFERRED imports can",
                row.state
            )));
        }
        queue::finish_queued(c, id)?;
        Ok(db::imports::get(c, portal, id)?.unwrap_or(row))
    })
}

/// Oldest first. Returns the page and the cursor of the next one.
pub fn errors(
    db: &Db,
    portal: PortalId,
    id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<(Vec<ImportErrorRow>, Option<i64>), ApiError> {
    let mut conn = db.conn()?;
    db::imports::get(&mut conn, portal, id)?.ok_or_else(|| ApiError::not_found(id.to_string()))?;
    let mut rows = db::errors::page(&mut conn, portal, id, after, limit + 1)?;
    let next = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    });
    Ok((rows, next.flatten()))
}
