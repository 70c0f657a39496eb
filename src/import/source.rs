//! Rows out of an uploaded file, one at a time, whatever its size: encoding detected and
//! transcoded to UTF-8, delimiter sniffed from the first line, BOM dropped, each broken line reported as a row error instead of ending the file.

pub use super::cells::Cells;
use super::encoding::{detect, Decoded};
use super::row_error::{ErrorType, RowError};
use std::io::{BufRead, BufReader, Read};

/// One data row as text, with the line a person sees in a spreadsheet (header = line 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: u64,
    pub cells: Cells,
}

/// A line that could not be read as a row; the rest of the file goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokenRow {
    pub line: u64,
    pub cells: Cells,
    pub error: RowError,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("could not read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The file as a whole cannot be read as rows (a file-wide row error, not a retry).
    #[error("{}", .0.message)]
    Unreadable(RowError),
}

/// Where rows come from: a CSV stream or a spreadsheet.
pub trait RowSource {
    fn header(&self) -> Option<&[String]>;
    /// The next data row; `None` at the end. Blank rows are skipped.
    fn next_row(&mut self) -> Option<Result<Result<Row, BrokenRow>, SourceError>>;
    /// Reads past the next data row, broken or not, as `next_row` would, where a source can do
    /// so without building it (counting rows against the caps).
    fn skip_row(&mut self) -> Option<Result<(), SourceError>> {
        self.next_row().map(|r| r.map(|_| ()))
    }
}

/// A line longer than this ends the file (a CSV reader must hold a whole record in memory).
pub const MAX_LINE_BYTES: u64 = 8 << 20;
/// A row larger than this is a `ROW_DATA_TOO_LARGE` row error.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// Refuses to pass on a line longer than `MAX_LINE_BYTES`, so one enormous line cannot make the
/// process hold the whole file.
pub struct LineGuard<R> {
    inner: R,
    since_newline: u64,
}

impl<R: Read> Read for LineGuard<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        // From line end to line end, not byte by byte (that was a twentieth of the parsing
        // thread's instructions).
        let mut line = self.since_newline;
        let mut start = 0;
        for end in memchr::memchr2_iter(b'\n', b'\r', &out[..n]) {
            line += (end - start) as u64;
            if line > MAX_LINE_BYTES {
                break;
            }
            (line, start) = (0, end + 1);
        }
        if line <= MAX_LINE_BYTES {
            line += (n - start) as u64;
        }
        if line > MAX_LINE_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                LineTooLong,
            ));
        }
        self.since_newline = line;
        Ok(n)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a line is longer than {MAX_LINE_BYTES} bytes")]
struct LineTooLong;

fn line_too_long(row: u64) -> SourceError {
    SourceError::Unreadable(RowError::new(
        ErrorType::RowDataTooLarge,
        format!(
            "Row {row} is longer than {MAX_LINE_BYTES} bytes; the rest of the file was not read"
        ),
    ))
}

fn is_line_too_long(e: &csv::Error) -> bool {
    matches!(e.kind(), csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|i| i.is::<LineTooLong>()))
}

pub struct CsvSource<R: Read> {
    reader: csv::Reader<BufReader<LineGuard<Decoded<BufReader<R>>>>>,
    header: Option<Vec<String>>,
    record: csv::ByteRecord,
    /// The spreadsheet row of the last record read: the header is row 1, every record one row
    /// (a quoted cell spanning lines stays one row, as Excel shows it).
    row: u64,
}

const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The delimiter that occurs most often outside quotes on the first line (comma on a tie).
fn sniff_delimiter(first: &[u8]) -> u8 {
    let line = first.split(|&b| b == b'\n').next().unwrap_or(first);
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
                counts[i] += 1;
            }
        }
    }
    let best = (0..4)
        .max_by_key(|&i| (counts[i], usize::from(i == 0)))
        .unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        DELIMITERS[best]
    }
}

impl<R: Read> CsvSource<R> {
    /// Reads the header (when `has_header`) and gets ready to stream rows.
    pub fn new(inner: R, has_header: bool) -> Result<Self, SourceError> {
        let mut raw = BufReader::with_capacity(64 * 1024, inner);
        let (encoding, bom) = detect(raw.fill_buf()?)
            .map_err(|m| SourceError::Unreadable(RowError::new(ErrorType::InvalidFileType, m)))?;
        raw.consume(bom);
        let guarded = LineGuard {
            inner: Decoded::new(raw, encoding),
            since_newline: 0,
        };
        let mut buf = BufReader::with_capacity(64 * 1024, guarded);
        let delimiter = sniff_delimiter(buf.fill_buf()?);
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(buf);
        let mut source = CsvSource {
            reader,
            header: None,
            record: csv::ByteRecord::new(),
            row: 0,
        };
        if has_header {
            source.row = 1;
            // A header that is not valid UTF-8 still names columns well enough to match by position.
            if source
                .reader
                .read_byte_record(&mut source.record)
                .map_err(|e| {
                    if is_line_too_long(&e) {
                        line_too_long(1)
                    } else {
                        csv_io(e)
                    }
                })?
            {
                source.header = Some(
                    source
                        .record
                        .iter()
                        .map(|c| String::from_utf8_lossy(c).trim().to_string())
                        .collect(),
                );
            }
        }
        Ok(source)
    }
}

impl<R: Read> RowSource for CsvSource<R> {
    fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }

    fn next_row(&mut self) -> Option<Result<Result<Row, BrokenRow>, SourceError>> {
        match self.advance()? {
            Err(e) => Some(Err(e)),
            Ok(Some(broken)) => Some(Ok(Err(broken))),
            Ok(None) => Some(Ok(self.decode_record())),
        }
    }

    fn skip_row(&mut self) -> Option<Result<(), SourceError>> {
        self.advance().map(|r| r.map(|_| ()))
    }
}

impl<R: Read> CsvSource<R> {
    /// Reads the next data record into `self.record` (`Ok(None)`), or the row that could not be
    /// read as one; `None` at the end.
    fn advance(&mut self) -> Option<Result<Option<BrokenRow>, SourceError>> {
        loop {
            let read = self.reader.read_byte_record(&mut self.record);
            self.row += 1;
            let line = self.row;
            match read {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) if is_line_too_long(&e) => return Some(Err(line_too_long(line))),
                Err(e) => match e.kind() {
                    csv::ErrorKind::Io(_) => return Some(Err(csv_io(e))),
                    _ => {
                        return Some(Ok(Some(BrokenRow {
                            line,
                            cells: Cells::default(),
                            error: RowError::new(
                                ErrorType::CouldNotParseRow,
                                format!("Line {line} could not be parsed as CSV: {e}"),
                            ),
                        })));
                    }
                },
            }
            if self
                .record
                .iter()
                .all(|c| c.iter().all(u8::is_ascii_whitespace))
            {
                continue;
            }
            if self.record.as_slice().len() > MAX_ROW_BYTES {
                let error = RowError::new(
                    ErrorType::RowDataTooLarge,
                    format!("Row {line} holds more than {MAX_ROW_BYTES} bytes"),
                );
                return Some(Ok(Some(BrokenRow {
                    line,
                    cells: Cells::default(),
                    error,
                })));
            }
            return Some(Ok(None));
        }
    }

    /// The record `advance` read, as text.
    #[allow(clippy::result_large_err)] // as `RowSource::next_row` returns it
    fn decode_record(&self) -> Result<Row, BrokenRow> {
        let line = self.row;
        let mut cells = Cells::with_capacity(self.record.len(), self.record.as_slice().len());
        let mut bad_column = None;
        for (i, c) in self.record.iter().enumerate() {
            match std::str::from_utf8(c) {
                Ok(s) => cells.push(s),
                Err(_) => {
                    bad_column.get_or_insert(i);
                    cells.push(&String::from_utf8_lossy(c));
                }
            }
        }
        if let Some(col) = bad_column {
            let error = RowError::new(
                ErrorType::CouldNotParseRow,
                format!(
                    "Line {line} is not valid UTF-8 (column {}); save the file as UTF-8",
                    col + 1
                ),
            )
            .cell(col, &cells[col]);
            return Err(BrokenRow { line, cells, error });
        }
        Ok(Row { line, cells })
    }
}

fn csv_io(e: csv::Error) -> SourceError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => SourceError::Io(io),
        other => SourceError::Io(std::io::Error::other(format!("{other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &[u8], header: bool) -> (Option<Vec<String>>, Vec<Result<Row, BrokenRow>>) {
        let mut s = CsvSource::new(text, header).unwrap();
        let h = s.header().map(<[String]>::to_vec);
        let mut out = Vec::new();
        while let Some(r) = s.next_row() {
            out.push(r.unwrap());
        }
        (h, out)
    }

    /// Reads all of `text` through a `LineGuard`, `piece` bytes at a time.
    fn guarded(text: &[u8], piece: usize) -> std::io::Result<usize> {
        let mut g = LineGuard {
            inner: text,
            since_newline: 0,
        };
        let mut buf = vec![0; piece];
        let mut total = 0;
        loop {
            match g.read(&mut buf)? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    }

    #[test]
    fn a_line_longer_than_the_limit_is_refused_wherever_reads_end() {
        let max = MAX_LINE_BYTES as usize;
        let line = |len: usize, end: &[u8]| [vec![b'x'; len], end.to_vec()].concat();
        let fits = [line(3, b"\n"), line(max, b"\r\n"), line(max, b"")].concat();
        let long_last = [line(3, b"\r"), line(max + 1, b"")].concat();
        let long_inside = [line(3, b"\n"), line(max + 1, b"\n"), line(3, b"\n")].concat();
        for piece in [1000, 64 * 1024, 3 * max] {
            assert_eq!(guarded(&fits, piece).unwrap(), fits.len(), "{piece}");
            for text in [&long_last, &long_inside] {
                let e = guarded(text, piece).unwrap_err();
                assert!(
                    e.get_ref().is_some_and(|i| i.is::<LineTooLong>()),
                    "{piece}"
                );
            }
        }
    }

    #[test]
    fn skipping_passes_the_rows_reading_returns() {
        let mut long = b"a\n1\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_ROW_BYTES + 1));
        long.extend(b"\n2\n");
        let files: [&[u8]; 4] = [
            b"a,b\r\n1,2\r\n\"x\ny\",3\r\n \t,\r\n\r\n4,5\r\n\r\n",
            b"a,b\n\"open,1\n2,3\n",
            b"a\n\xff\xfe\n\xe9t\xe9\n",
            &long,
        ];
        for text in files {
            let (_, read) = rows(text, true);
            let mut s = CsvSource::new(text, true).unwrap();
            let mut skipped = 0;
            while let Some(r) = s.skip_row() {
                r.unwrap();
                skipped += 1;
            }
            assert_eq!(skipped, read.len(), "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn header_rows_and_line_numbers() {
        let (h, r) = rows(b"a,b\r\n1,2\r\n\"x\ny\",3\r\n4,5\r\n\r\n\r\n", true);
        assert_eq!(h.unwrap(), ["a", "b"]);
        let ok: Vec<_> = r.into_iter().map(Result::unwrap).collect();
        assert_eq!(ok.len(), 3, "trailing blank lines are not rows");
        assert_eq!(
            ok[0],
            Row {
                line: 2,
                cells: ["1", "2"].into_iter().collect()
            }
        );
        assert_eq!(&ok[1].cells[0], "x\ny");
        assert_eq!(ok[1].line, 3);
        assert_eq!(
            ok[2].line, 4,
            "a quoted newline stays in one spreadsheet row"
        );
    }

    #[test]
    fn bom_semicolons_and_crlf() {
        let (h, r) = rows(
            b"\xEF\xBB\xBFEmail;Name\r\na@b.example;\"Ann; Lee\"\r\n",
            true,
        );
        assert_eq!(h.unwrap(), ["Email", "Name"]);
        assert_eq!(r[0].as_ref().unwrap().cells, ["a@b.example", "Ann; Lee"]);
    }

    #[test]
    fn latin1_files_are_transcoded_and_later_invalid_utf8_is_a_row_error() {
        let (_, r) = rows(b"a,b\n1,caf\xE9\n2,ok\n", true);
        assert_eq!(
            r[0].as_ref().unwrap().cells,
            ["1", "café"],
            "Windows-1252 detected and transcoded"
        );
        // UTF-8 for the first 64 KiB, then a stray Latin-1 byte: that row alone is refused.
        let mut text = b"a,b\n".to_vec();
        for i in 0..5000 {
            text.extend_from_slice(format!("{i},caf\u{e9} and some padding text\n").as_bytes());
        }
        text.extend_from_slice(b"x,caf\xE9\n2,ok\n");
        let (_, r) = rows(&text, true);
        let broken = r[5000].as_ref().unwrap_err();
        assert_eq!(broken.error.error_type, ErrorType::CouldNotParseRow);
        assert_eq!(broken.line, 5002);
        assert_eq!(r[5001].as_ref().unwrap().cells, ["2", "ok"]);
    }

    #[test]
    fn binary_content_is_unreadable() {
        assert!(matches!(
            CsvSource::new(&b"\x00\x01\x02garbage\xff"[..], true),
            Err(SourceError::Unreadable(_))
        ));
    }

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(sniff_delimiter(b"a;b;c\n1,5;2;3"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(sniff_delimiter(b"\"a,b\"|c|d\n"), b'|');
        assert_eq!(sniff_delimiter(b"single\n"), b',');
    }

    #[test]
    fn no_header_means_every_line_is_data() {
        let (h, r) = rows(b"1,2\n3,4\n", false);
        assert!(h.is_none());
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].as_ref().unwrap().line, 1);
    }
}
