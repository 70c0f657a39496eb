//! An upload's rows counted against the caps as it is stored, on a thread of their own, when
//! the importRequest came before the file and so says how to read it. Counting after the upload
//! meant reading the whole file back from the database: a third of a big upload's time.

use crate::import::request::{FileFormat, FileSpec};
use crate::jobs::source::{count_rows, open_csv};
use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

pub struct RowCount {
    has_header: bool,
    feed: Option<SyncSender<Vec<u8>>>,
    counted: Receiver<Result<u64, String>>,
}

impl RowCount {
    /// Counts a CSV file read as `spec` says, up to one row past `cap` (`count_rows`); None for
    /// spreadsheets, which are read from a whole file.
    pub fn start(spec: &FileSpec, cap: u64) -> Option<RowCount> {
        if spec.format != FileFormat::Csv {
            return None;
        }
        // A few chunks in flight: counting is faster than storing, and waits for it.
        let (feed, chunks) = sync_channel(4);
        let (done, counted) = sync_channel(1);
        let has_header = spec.has_header;
        std::thread::Builder::new()
            .name("hubport-count".into())
            .spawn(move || {
                let bytes = Chunks {
                    chunks,
                    current: Vec::new(),
                    pos: 0,
                };
                let _ = done.send(count_rows(open_csv(bytes, has_header), cap));
            })
            .ok()?;
        Some(RowCount {
            has_header,
            feed: Some(feed),
            counted,
        })
    }

    /// Where each chunk goes once stored, in the file's order.
    pub fn feed(&self) -> Option<SyncSender<Vec<u8>>> {
        self.feed.clone()
    }

    /// The file is whole: no more chunks.
    pub fn close(&mut self) {
        self.feed = None;
    }

    /// The rows of the whole file, if it was counted as `spec` reads it; None leaves counting to
    /// the stored file.
    pub fn rows(&self, spec: &FileSpec) -> Option<Result<u64, String>> {
        let same = spec.format == FileFormat::Csv && spec.has_header == self.has_header;
        if !same || self.feed.is_some() {
            return None;
        }
        self.counted.recv().ok()
    }
}

/// The stored chunks as one stream of bytes; it ends when the upload does.
struct Chunks {
    chunks: Receiver<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for Chunks {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.current.len() {
            match self.chunks.recv() {
                Ok(c) => (self.current, self.pos) = (c, 0),
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
