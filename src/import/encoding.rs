//! Text encodings of uploaded CSV files as people have them: UTF-8 with or without BOM,
//! UTF-16 (Excel's "Unicode text"), and Windows-1252 / Latin-1 (Excel's "CSV" on Windows),
//! detected from the start of the file and transcoded to UTF-8 as the file streams through.
//! Anything else (binary content) is refused rather than read as mojibake.

use encoding_rs::{Decoder, UTF_16BE, UTF_16LE, WINDOWS_1252};
use std::io::{self, Read};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Windows1252,
}

/// Bytes Windows-1252 leaves undefined; their presence means the file is not that encoding.
const UNDEFINED_1252: [u8; 5] = [0x81, 0x8D, 0x8F, 0x90, 0x9D];

fn is_text_control(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)
}

/// The encoding of a file starting with `head`, and the length of its byte-order mark.
pub fn detect(head: &[u8]) -> Result<(Encoding, usize), String> {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok((Encoding::Utf8, 3));
    }
    if head.starts_with(&[0xFF, 0xFE]) {
        return Ok((Encoding::Utf16Le, 2));
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return Ok((Encoding::Utf16Be, 2));
    }
    // UTF-16 without a BOM: ASCII text has a zero in every other byte.
    let sample = &head[..head.len().min(512) & !1];
    if sample.len() >= 4 {
        let zeros_at = |parity: usize| {
            sample
                .iter()
                .skip(parity)
                .step_by(2)
                .filter(|&&b| b == 0)
                .count()
        };
        let half = sample.len() / 2;
        if zeros_at(1) * 10 >= half * 9 && zeros_at(0) == 0 {
            return Ok((Encoding::Utf16Le, 0));
        }
        if zeros_at(0) * 10 >= half * 9 && zeros_at(1) == 0 {
            return Ok((Encoding::Utf16Be, 0));
        }
    }
    let binary = |b: &u8| *b < 0x20 && !is_text_control(*b);
    if head.iter().any(binary) {
        return Err("the file holds binary data, not CSV text".into());
    }
    match std::str::from_utf8(head) {
        Ok(_) => Ok((Encoding::Utf8, 0)),
        // A multi-byte character cut at the end of the sample is still UTF-8.
        Err(e) if e.error_len().is_none() => Ok((Encoding::Utf8, 0)),
        Err(_) if !head.iter().any(|b| UNDEFINED_1252.contains(b)) => {
            Ok((Encoding::Windows1252, 0))
        }
        Err(_) => {
            Err("the file is neither UTF-8 nor Windows-1252 text; save it as CSV UTF-8".into())
        }
    }
}

/// A stream of the file's text as UTF-8.
pub enum Decoded<R> {
    Utf8(R),
    Transcoded(Transcoder<R>),
}

impl<R: Read> Decoded<R> {
    pub fn new(inner: R, encoding: Encoding) -> Decoded<R> {
        let decoder = match encoding {
            Encoding::Utf8 => return Decoded::Utf8(inner),
            Encoding::Utf16Le => UTF_16LE.new_decoder_without_bom_handling(),
            Encoding::Utf16Be => UTF_16BE.new_decoder_without_bom_handling(),
            Encoding::Windows1252 => WINDOWS_1252.new_decoder_without_bom_handling(),
        };
        Decoded::Transcoded(Transcoder {
            inner,
            decoder,
            input: vec![0; 64 * 1024],
            output: Vec::new(),
            pos: 0,
            done: false,
        })
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Utf8(r) => r.read(out),
            Decoded::Transcoded(t) => t.read(out),
        }
    }
}

pub struct Transcoder<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    output: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: Read> Read for Transcoder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.output.len() {
            if self.done {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.input)?;
            let last = n == 0;
            let room = self.decoder.max_utf8_buffer_length(n).unwrap_or(n * 3 + 16);
            self.output.resize(room, 0);
            // Sized for the worst case, so one call consumes all of `input[..n]`.
            let (_, _, written, _) =
                self.decoder
                    .decode_to_utf8(&self.input[..n], &mut self.output, last);
            self.output.truncate(written);
            self.pos = 0;
            self.done = last;
        }
        let n = out.len().min(self.output.len() - self.pos);
        out[..n].copy_from_slice(&self.output[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Result<String, String> {
        let (enc, bom) = detect(bytes)?;
        let mut s = String::new();
        // A tiny inner buffer exercises reads that split characters.
        let mut d = Decoded::new(std::io::BufReader::with_capacity(3, &bytes[bom..]), enc);
        d.read_to_string(&mut s).map_err(|e| e.to_string())?;
        Ok(s)
    }

    #[test]
    fn excel_files_come_out_as_utf8() {
        assert_eq!(
            decode(b"\xEF\xBB\xBFName;City\nJos\xC3\xA9;Z\xC3\xBCrich\n").unwrap(),
            "Name;City\nJosé;Zürich\n"
        );
        assert_eq!(
            decode(b"Name;City\nJos\xE9;Z\xFCrich \x80\n").unwrap(),
            "Name;City\nJosé;Zürich €\n"
        );
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(
                "Name\tCity\nJosé\tZürich\n"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        assert_eq!(decode(&utf16).unwrap(), "Name\tCity\nJosé\tZürich\n");
        let no_bom: Vec<u8> = "Email,Name\na@b.example,Ann\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(detect(&no_bom).unwrap(), (Encoding::Utf16Le, 0));
        assert_eq!(
            detect("plain ascii, é".as_bytes()).unwrap(),
            (Encoding::Utf8, 0)
        );
    }

    #[test]
    fn binary_content_is_refused() {
        assert!(detect(b"\x00\x01\x02\x03garbage\x07").is_err());
        assert!(detect(b"PK\x03\x04\x14\x00\x06\x00").is_err());
        assert!(
            detect(b"abc\x81def\xE9").is_err(),
            "undefined in Windows-1252 and not UTF-8"
        );
    }
}
