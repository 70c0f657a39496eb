//! Receives `POST /crm/v3/imports` bodies: parts in any order, each `files` part streamed into
//! the database in 1 MiB chunks, compressed, as it arrives (never the whole file in memory). On
//! any failure the chunks already stored are removed again.

use super::{blocking, start_blocking, AppState};
use crate::app::imports::UploadedFile;
use crate::app::row_count::RowCount;
use crate::crm::PortalId;
use crate::db;
use crate::error::ApiError;
use crate::import::ImportRequest;
use actix_multipart::Multipart;
use actix_web::web;
use futures_util::StreamExt;
use std::sync::mpsc::SyncSender;

const CHUNK_BYTES: usize = 1 << 20;
/// The importRequest is a few KiB in practice; a megabyte leaves room for huge mappings.
const MAX_REQUEST_JSON_BYTES: usize = 1 << 20;
/// Bounds on the form itself: a real import has one importRequest and a few files.
const MAX_FILES: usize = 10;
const MAX_PARTS: usize = 32;

pub struct Received {
    pub request_text: Option<String>,
    pub files: Vec<UploadedFile>,
}

pub async fn receive(
    state: &web::Data<AppState>,
    portal: PortalId,
    mut body: Multipart,
) -> Result<Received, ApiError> {
    let mut received = Received {
        request_text: None,
        files: Vec::new(),
    };
    let result = receive_parts(state, portal, &mut body, &mut received).await;
    if let Err(e) = result {
        discard(state, portal, received.files.iter().map(|f| f.id).collect()).await;
        return Err(e);
    }
    Ok(received)
}

/// Removes stored uploads that will not become an import. When the database cannot take even
/// the delete (a full SQLite disk refuses every write until space is freed; a database that is
/// down), it is retried in the background until it succeeds, so the partial upload goes as soon
/// as the database can write again; the orphan sweep is the last resort if this process stops.
pub async fn discard(state: &web::Data<AppState>, portal: PortalId, ids: Vec<i64>) {
    if ids.is_empty() || try_discard(state, portal, ids.clone()).await {
        return;
    }
    tracing::warn!(
        files = ?ids,
        "could not remove a refused upload yet; retrying in the background"
    );
    let state = state.clone();
    actix_web::rt::spawn(async move {
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_secs(1);
        // After a day the orphan sweep takes these files anyway.
        while started.elapsed() < ORPHAN_RETRY_FOR {
            actix_web::rt::time::sleep(pause).await;
            if try_discard(&state, portal, ids.clone()).await {
                tracing::info!(files = ?ids, "removed the refused upload");
                return;
            }
            pause = (pause * 2).min(std::time::Duration::from_secs(30));
        }
    });
}

/// How long a failed removal of a refused upload is retried in the background.
const ORPHAN_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

async fn try_discard(state: &web::Data<AppState>, portal: PortalId, ids: Vec<i64>) -> bool {
    blocking(state, move |d| {
        Ok(d.write(|c| db::files::delete_unattached(c, portal, &ids))?)
    })
    .await
    .is_ok()
}

fn multipart_error(e: actix_multipart::MultipartError) -> ApiError {
    use actix_multipart::MultipartError as M;
    match e {
        M::ContentTypeMissing | M::ContentTypeParse | M::ContentTypeIncompatible | M::BoundaryMissing => ApiError::validation(
            "The request must be multipart/form-data with an importRequest field and one or more files fields",
        ),
        other => ApiError::validation(format!("Malformed multipart/form-data body: {other}")),
    }
}

/// Where the chunks of the file being received go to be counted, if anywhere. Each chunk gets a
/// sender of its own, so that closing the count (`RowCount::close`) ends it.
fn row_feed(out: &Received) -> Option<SyncSender<Vec<u8>>> {
    out.files.last()?.rows.as_ref()?.feed()
}

/// Stores one chunk of a file, compressed, then hands it as received to the file's row count,
/// if any. The store starts at once (`InFlight`).
fn store_chunk(
    state: &web::Data<AppState>,
    id: i64,
    seq: i32,
    (stored, chunk): (db::files::StoredChunk, Vec<u8>),
    rows: Option<SyncSender<Vec<u8>>>,
) -> impl std::future::Future<Output = Result<(), ApiError>> {
    start_blocking(state, move |d| {
        d.write(|c| {
            db::relax_commit_durability(c)?;
            db::files::append_chunk(c, id, seq, &stored)
        })?;
        if let Some(r) = rows {
            // A count that has stopped (past the cap) takes no more.
            let _ = r.send(chunk);
        }
        Ok(())
    })
}

/// Chunks on their way into the database: up to `COMPRESSING` being compressed at once (on
/// the blocking pool, not the thread that serves requests), and one being written. Compressing
/// a 114 MiB upload took 0.4 s of one core, waiting for its writes 0.2–0.3 s, receiving it
/// 0.1 s: one at a time they added up. Writes go one at a time, in order, which keeps the
/// chunks (and the row count's feed) in order and memory to a few chunks.
#[derive(Default)]
struct InFlight {
    compressing: std::collections::VecDeque<Compressing>,
    writing: Option<Pending<()>>,
}

type Pending<T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ApiError>>>>;

/// A chunk being compressed, and where it goes next.
struct Compressing {
    id: i64,
    seq: i32,
    rows: Option<SyncSender<Vec<u8>>>,
    chunk: Pending<(db::files::StoredChunk, Vec<u8>)>,
}

/// Chunks compressed at once: the machine's two cores.
const COMPRESSING: usize = 2;

impl InFlight {
    /// Starts compressing `chunk`; once more are compressing than cores take, writes the oldest.
    async fn store(
        &mut self,
        state: &web::Data<AppState>,
        id: i64,
        seq: i32,
        chunk: Vec<u8>,
        rows: Option<SyncSender<Vec<u8>>>,
    ) -> Result<(), ApiError> {
        let compressed = start_blocking(state, move |_| {
            Ok((db::files::StoredChunk::new(&chunk), chunk))
        });
        self.compressing.push_back(Compressing {
            id,
            seq,
            rows,
            chunk: Box::pin(compressed),
        });
        while self.compressing.len() > COMPRESSING {
            self.write_oldest(state).await?;
        }
        Ok(())
    }

    /// Waits for the oldest chunk's compression and the write before it, then starts its write.
    async fn write_oldest(&mut self, state: &web::Data<AppState>) -> Result<(), ApiError> {
        let Some(next) = self.compressing.pop_front() else {
            return Ok(());
        };
        // The write first: if either fails, no write is left running.
        if let Some(write) = self.writing.take() {
            write.await?;
        }
        let compressed = next.chunk.await?;
        let write = store_chunk(state, next.id, next.seq, compressed, next.rows);
        self.writing = Some(Box::pin(write));
        Ok(())
    }

    /// Writes every chunk received and waits until they are stored.
    async fn settle(&mut self, state: &web::Data<AppState>) -> Result<(), ApiError> {
        while !self.compressing.is_empty() {
            self.write_oldest(state).await?;
        }
        self.abandon().await
    }

    /// Drops the chunks not yet written and waits for the one being written, so that nothing
    /// is written after the upload is given up (and its chunks removed).
    async fn abandon(&mut self) -> Result<(), ApiError> {
        self.compressing.clear();
        match self.writing.take() {
            Some(write) => write.await,
            None => Ok(()),
        }
    }
}

/// Receives every part; a chunk still being stored when it fails is waited for, so that
/// `receive` removes it with the rest.
async fn receive_parts(
    state: &web::Data<AppState>,
    portal: PortalId,
    body: &mut Multipart,
    out: &mut Received,
) -> Result<(), ApiError> {
    let mut in_flight = InFlight::default();
    let received = receive_fields(state, portal, body, out, &mut in_flight).await;
    let stored = in_flight.abandon().await;
    received.and(stored)
}

async fn receive_fields(
    state: &web::Data<AppState>,
    portal: PortalId,
    body: &mut Multipart,
    out: &mut Received,
    in_flight: &mut InFlight,
) -> Result<(), ApiError> {
    let mut parts = 0;
    let mut request: Option<ImportRequest> = None;
    while let Some(field) = body.next().await {
        let mut field = field.map_err(multipart_error)?;
        parts += 1;
        if parts > MAX_PARTS {
            return Err(ApiError::validation(format!(
                "The request has more than {MAX_PARTS} multipart parts"
            )));
        }
        match field.name().unwrap_or_default() {
            "importRequest" => {
                if out.request_text.is_some() {
                    return Err(ApiError::validation(
                        "The importRequest field was sent twice",
                    ));
                }
                let mut buf = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(multipart_error)?;
                    if buf.len() + chunk.len() > MAX_REQUEST_JSON_BYTES {
                        return Err(ApiError::validation(format!(
                            "The importRequest field is larger than {MAX_REQUEST_JSON_BYTES} bytes"
                        )));
                    }
                    buf.extend_from_slice(&chunk);
                }
                let text = String::from_utf8(buf).map_err(|_| {
                    ApiError::validation("The importRequest field is not valid UTF-8")
                })?;
                // Read now only to count the files that follow as they arrive; `create`
                // validates it.
                request = ImportRequest::parse(&text).ok();
                out.request_text = Some(text);
            }
            "files" => {
                let file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).trim().to_string())
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| {
                        ApiError::validation(
                            "A files part has no filename; send it as a file upload",
                        )
                    })?;
                let content_type = field.content_type().map(|m| m.essence_str().to_string());
                if out.files.len() >= MAX_FILES {
                    return Err(ApiError::validation(format!(
                        "An import takes at most {MAX_FILES} files"
                    )));
                }
                let position = out.files.len() as i32;
                let name = file_name.clone();
                let id = blocking(state, move |d| {
                    Ok(d.write(|c| {
                        db::files::create(c, portal, position, &name, content_type.as_deref())
                    })?)
                })
                .await?;
                let rows = request
                    .as_ref()
                    .and_then(|r| r.file_named(&file_name))
                    .and_then(|spec| RowCount::start(spec, state.config.max_file_rows));
                out.files.push(UploadedFile {
                    id,
                    file_name,
                    rows,
                });
                let (mut buf, mut seq, mut size) = (Vec::with_capacity(CHUNK_BYTES), 0i32, 0i64);
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(multipart_error)?;
                    size += chunk.len() as i64;
                    let max = state.config.max_file_bytes;
                    if size as u64 > max {
                        // Cut off here: the rest of the upload is never read or stored.
                        return Err(ApiError::LimitExceeded {
                            message: format!("The file '{}' is larger than the {max} bytes an import file may have", out.files.last().map(|f| f.file_name.as_str()).unwrap_or_default()),
                            code: "FILE_TOO_LARGE",
                            context: crate::error::Context::from([
                                ("maximumAllowedBytes".to_string(), vec![max.to_string()]),
                                ("bytesDetected".to_string(), vec![format!("more than {max}")]),
                            ]),
                        });
                    }
                    buf.extend_from_slice(&chunk);
                    while buf.len() >= CHUNK_BYTES {
                        let rest = buf.split_off(CHUNK_BYTES);
                        let full = std::mem::replace(&mut buf, rest);
                        in_flight.store(state, id, seq, full, row_feed(out)).await?;
                        seq += 1;
                    }
                }
                if !buf.is_empty() {
                    in_flight.store(state, id, seq, buf, row_feed(out)).await?;
                    seq += 1;
                }
                in_flight.settle(state).await?;
                if let Some(rows) = out.files.last_mut().and_then(|f| f.rows.as_mut()) {
                    rows.close();
                }
                blocking(state, move |d| {
                    Ok(d.write(|c| db::files::finish(c, id, size, seq))?)
                })
                .await?;
            }
            _ => {
                // Unknown fields are read and dropped, as HubSpot ignores them.
                while let Some(chunk) = field.next().await {
                    chunk.map_err(multipart_error)?;
                }
            }
        }
    }
    Ok(())
}
