//! Uploaded files, stored in the database in chunks: written as the upload streams in,
//! read back chunk by chunk by whichever node processes the import.

use super::schema::{file_chunks, import_files};
use super::{now, Db, DbConnection, DbError, SizedConn};
use crate::crm::PortalId;
use diesel::prelude::*;
use std::io::{self, Read};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = import_files)]
pub struct FileRow {
    pub id: i64,
    pub portal_id: i64,
    pub import_id: Option<i64>,
    pub position: i32,
    pub file_name: String,
    pub content_type: Option<String>,
    pub size_bytes: i64,
    pub chunk_count: i32,
    pub created_at: chrono::NaiveDateTime,
    /// How each chunk is stored: `lz4` (`LZ4`), or NULL for the bytes as received (files
    /// stored before hubport compressed them).
    pub chunk_encoding: Option<String>,
}

/// `import_files.chunk_encoding` of files whose chunks are LZ4 blocks, each with its length
/// before compression in front (`lz4_flex::block::compress_prepend_size`).
const LZ4: &str = "lz4";

/// A chunk as it is stored: compressed by hubport before the database sees it, where the database
/// compressing it (PostgreSQL's LZ4 TOAST) or writing it whole (SQLite) kept a 114 MiB upload
/// waiting a second on one process. A CSV shrinks to about a third.
pub struct StoredChunk(Vec<u8>);

impl StoredChunk {
    pub fn new(data: &[u8]) -> StoredChunk {
        StoredChunk(lz4_flex::block::compress_prepend_size(data))
    }
}

/// A stored chunk as received. The length in front is checked first: a damaged chunk must not
/// make the reader allocate whatever its first bytes say.
fn decode(encoding: Option<&str>, stored: Vec<u8>) -> Result<Vec<u8>, String> {
    match encoding {
        None => Ok(stored),
        Some(LZ4) => {
            let claimed = stored
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
            match claimed {
                Some(n) if n <= MAX_CHUNK_BYTES => {
                    lz4_flex::block::decompress_size_prepended(&stored)
                        .map_err(|e| format!("damaged LZ4 chunk: {e}"))
                }
                _ => Err("damaged LZ4 chunk: bad length".into()),
            }
        }
        Some(other) => Err(format!("unknown chunk encoding {other:?}")),
    }
}

/// The largest chunk a reader accepts (uploads store 1 MiB chunks).
const MAX_CHUNK_BYTES: usize = 16 << 20;

/// Registers a file that is not yet part of any import.
pub fn create(
    conn: &mut DbConnection,
    portal: PortalId,
    position: i32,
    file_name: &str,
    content_type: Option<&str>,
) -> Result<i64, DbError> {
    let row = (
        import_files::portal_id.eq(portal.0),
        import_files::position.eq(position),
        import_files::file_name.eq(file_name),
        import_files::content_type.eq(content_type),
        import_files::size_bytes.eq(0i64),
        import_files::chunk_count.eq(0),
        import_files::created_at.eq(now()),
        import_files::chunk_encoding.eq(Some(LZ4)),
    );
    Ok(
        crate::db_run!(conn, c => diesel::insert_into(import_files::table)
        .values(row)
        .returning(import_files::id)
        .get_result(c))?,
    )
}

/// Stores the next chunk of a file `create` registered.
pub fn append_chunk(
    conn: &mut DbConnection,
    file_id: i64,
    seq: i32,
    chunk: &StoredChunk,
) -> Result<(), DbError> {
    diesel::insert_into(file_chunks::table)
        .values((
            file_chunks::file_id.eq(file_id),
            file_chunks::seq.eq(seq),
            file_chunks::data.eq(&chunk.0),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn finish(
    conn: &mut DbConnection,
    file_id: i64,
    size: i64,
    chunks: i32,
) -> Result<(), DbError> {
    diesel::update(import_files::table.find(file_id))
        .set((
            import_files::size_bytes.eq(size),
            import_files::chunk_count.eq(chunks),
        ))
        .execute(conn)?;
    Ok(())
}

/// Hands uploaded files to their import (inside the transaction that creates it); `position`
/// is the file's index in `importRequest.files`.
pub fn attach(
    conn: &mut DbConnection,
    portal: PortalId,
    import_id: i64,
    files: &[(i64, i32)],
) -> Result<(), DbError> {
    for &(id, position) in files {
        diesel::update(
            import_files::table
                .filter(import_files::id.eq(id))
                .filter(import_files::portal_id.eq(portal.0)),
        )
        .set((
            import_files::import_id.eq(import_id),
            import_files::position.eq(position),
        ))
        .execute(conn)?;
    }
    Ok(())
}

/// `(import_id, file_id)` pairs for several imports, in file order.
pub fn ids_for_imports(
    conn: &mut DbConnection,
    portal: PortalId,
    import_ids: &[i64],
) -> Result<Vec<(i64, i64)>, DbError> {
    let rows: Vec<(Option<i64>, i64)> = import_files::table
        .filter(import_files::import_id.eq_any(import_ids))
        .filter(import_files::portal_id.eq(portal.0))
        .order((import_files::import_id, import_files::position))
        .select((import_files::import_id, import_files::id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(i, f)| i.map(|i| (i, f)))
        .collect())
}

/// Removes files that never became part of an import (a refused or broken upload).
pub fn delete_unattached(
    conn: &mut DbConnection,
    portal: PortalId,
    file_ids: &[i64],
) -> Result<(), DbError> {
    let ids: Vec<i64> = import_files::table
        .filter(import_files::id.eq_any(file_ids))
        .filter(import_files::portal_id.eq(portal.0))
        .filter(import_files::import_id.is_null())
        .select(import_files::id)
        .load(conn)?;
    diesel::delete(file_chunks::table.filter(file_chunks::file_id.eq_any(&ids))).execute(conn)?;
    diesel::delete(import_files::table.filter(import_files::id.eq_any(&ids))).execute(conn)?;
    Ok(())
}

/// Removes unattached files older than `cutoff`: uploads cut off by a crash or a dropped client.
pub fn delete_stale_unattached(
    conn: &mut DbConnection,
    cutoff: chrono::NaiveDateTime,
) -> Result<usize, DbError> {
    let stale = import_files::table
        .filter(import_files::import_id.is_null())
        .filter(import_files::created_at.lt(cutoff))
        .select(import_files::id);
    diesel::delete(file_chunks::table.filter(file_chunks::file_id.eq_any(stale))).execute(conn)?;
    let n = diesel::delete(
        import_files::table
            .filter(import_files::import_id.is_null())
            .filter(import_files::created_at.lt(cutoff)),
    )
    .execute(conn)?;
    Ok(n)
}

/// Deletes the stored bytes of files whose import reached one of the `ended` states before
/// `cutoff`; the file rows (name, size) stay with the import's history. Returns how many files
/// lost their bytes.
pub fn delete_bytes_of_ended(
    conn: &mut DbConnection,
    ended: &[&str],
    cutoff: chrono::NaiveDateTime,
) -> Result<usize, DbError> {
    use super::schema::imports;
    // Only files that still have bytes: the rows stay, so the sweep would reload them forever.
    let ids: Vec<i64> = import_files::table
        .inner_join(imports::table.on(import_files::import_id.eq(imports::id.nullable())))
        .filter(imports::state.eq_any(ended))
        .filter(imports::updated_at.lt(cutoff))
        .filter(diesel::dsl::exists(
            file_chunks::table.filter(file_chunks::file_id.eq(import_files::id)),
        ))
        .select(import_files::id)
        .load(conn)?;
    for chunk in ids.chunks(500) {
        diesel::delete(file_chunks::table.filter(file_chunks::file_id.eq_any(chunk)))
            .execute(conn)?;
    }
    Ok(ids.len())
}

pub fn for_import(
    conn: &mut DbConnection,
    portal: PortalId,
    import_id: i64,
) -> Result<Vec<FileRow>, DbError> {
    Ok(import_files::table
        .filter(import_files::import_id.eq(import_id))
        .filter(import_files::portal_id.eq(portal.0))
        .order(import_files::position)
        .select(FileRow::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut DbConnection, portal: PortalId, id: i64) -> Result<Option<FileRow>, DbError> {
    Ok(import_files::table
        .filter(import_files::id.eq(id))
        .filter(import_files::portal_id.eq(portal.0))
        .select(FileRow::as_select())
        .first(conn)
        .optional()?)
}

fn chunk(conn: &mut DbConnection, file_id: i64, seq: i32) -> Result<Option<Vec<u8>>, DbError> {
    Ok(file_chunks::table
        .filter(file_chunks::file_id.eq(file_id))
        .filter(file_chunks::seq.eq(seq))
        .select(file_chunks::data)
        .first(conn)
        .optional()?)
}

/// Streams a stored file: one chunk in memory at a time, one short query per chunk, on one
/// connection held while reading.
pub struct ChunkReader {
    db: Db,
    conn: Option<SizedConn>,
    file_id: i64,
    encoding: Option<String>,
    chunks: i32,
    next: i32,
    buf: Vec<u8>,
    pos: usize,
}

impl ChunkReader {
    pub fn new(db: Db, file: &FileRow) -> Self {
        ChunkReader {
            db,
            conn: None,
            file_id: file.id,
            encoding: file.chunk_encoding.clone(),
            chunks: file.chunk_count,
            next: 0,
            buf: Vec::new(),
            pos: 0,
        }
    }

    fn fresh_chunk(&self) -> Result<(Option<Vec<u8>>, SizedConn), DbError> {
        let mut conn = self.db.scan_conn()?;
        Ok((chunk(&mut conn, self.file_id, self.next)?, conn))
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.buf.len() {
            if self.next >= self.chunks {
                return Ok(0);
            }
            let held = self.conn.take();
            let read = match held {
                Some(mut c) => match chunk(&mut c, self.file_id, self.next) {
                    Ok(v) => Ok((v, c)),
                    // The held connection may be the one that broke (a database restart): one
                    // more try on a fresh one, as a pool connection per chunk would have had.
                    Err(_) => self.fresh_chunk(),
                },
                None => self.fresh_chunk(),
            };
            let (data, conn) = read.map_err(io::Error::other)?;
            self.conn = Some(conn);
            let stored = data.ok_or_else(|| {
                io::Error::other(format!(
                    "chunk {} of file {} missing",
                    self.next, self.file_id
                ))
            })?;
            self.buf = decode(self.encoding.as_deref(), stored).map_err(|e| {
                io::Error::other(format!("chunk {} of file {}: {e}", self.next, self.file_id))
            })?;
            self.pos = 0;
            self.next += 1;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_come_back_as_they_were_received() {
        let csv = b"email,firstname\nada@example.com,Ada\n".repeat(1000);
        let stored = StoredChunk::new(&csv).0;
        assert!(stored.len() < csv.len() / 4, "{} bytes", stored.len());
        assert_eq!(decode(Some(LZ4), stored).unwrap(), csv);
        assert_eq!(decode(Some(LZ4), StoredChunk::new(b"").0).unwrap(), b"");
    }

    #[test]
    fn files_stored_before_compression_read_as_stored() {
        assert_eq!(decode(None, b"a,b\n1,2\n".to_vec()).unwrap(), b"a,b\n1,2\n");
    }

    #[test]
    fn a_damaged_chunk_is_an_error_not_an_allocation() {
        let huge = [0xff, 0xff, 0xff, 0x7f, 1, 2, 3].to_vec();
        assert!(decode(Some(LZ4), huge).unwrap_err().contains("bad length"));
        assert!(decode(Some(LZ4), vec![1])
            .unwrap_err()
            .contains("bad length"));
        let mut cut = StoredChunk::new(&b"0123456789".repeat(100)).0;
        cut.truncate(cut.len() / 2);
        assert!(decode(Some(LZ4), cut).unwrap_err().contains("damaged LZ4"));
        assert!(decode(Some("zstd"), vec![])
            .unwrap_err()
            .contains("unknown"));
    }
}
