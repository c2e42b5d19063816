//! JSON records read one at a time from a stream, never the whole file: lines capped in size,
//! and the elements of a JSON array (or a run of objects) found by their brackets, each parsed
//! on its own, so a 2 GB array costs one record of memory and one damaged element costs only
//! itself. Offsets are byte offsets in the file (where `store::raw` reads a record again).

use std::io::BufRead;

/// A record (line or element) larger than this is skipped and counted: no log record is near it,
/// and a sparse or zero-filled file would otherwise be buffered whole.
pub const RECORD_MAX_BYTES: usize = 32 << 20;

/// One record's bytes and where it starts, or that it was over the cap (its size so far).
#[derive(Debug)]
pub enum Piece {
    Record { at: u64, bytes: Vec<u8> },
    TooLarge { bytes: u64 },
}

/// One line of a stream: its bytes with the newline, or that it was over the cap (its size).
#[derive(Debug)]
pub enum Line<'a> {
    Text(&'a [u8]),
    TooLarge(u64),
}

/// Hands `each` every line of `reader` and the byte offset it starts at, keeping at most
/// `RECORD_MAX_BYTES` of a line. A line that sits whole in the reader's buffer is handed over in
/// place (this is the hot path of JSON-lines evidence: no copy, no allocation); one that runs
/// past the buffer is gathered in one reused buffer. Stops at the end of the stream or at the
/// first read error, which it returns (the lines before it were handed over).
pub fn each_line<R: BufRead>(
    reader: &mut R,
    mut each: impl FnMut(u64, Line<'_>),
) -> std::io::Result<()> {
    let mut at = 0u64;
    let mut spill = Vec::new();
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(p) = memchr::memchr(b'\n', buf) {
            let len = p + 1;
            if len > RECORD_MAX_BYTES {
                each(at, Line::TooLarge(len as u64));
            } else {
                each(at, Line::Text(&buf[..len]));
            }
            reader.consume(len);
            at += len as u64;
            continue;
        }
        let len = gather_line(reader, &mut spill)?;
        if len > RECORD_MAX_BYTES as u64 {
            each(at, Line::TooLarge(len));
        } else {
            each(at, Line::Text(&spill));
        }
        at += len;
    }
}

/// Reads up to the next newline into `bytes` (cleared first), keeping at most
/// `RECORD_MAX_BYTES` (`bytes` is left empty past it); returns the line's whole length.
fn gather_line<R: BufRead>(reader: &mut R, bytes: &mut Vec<u8>) -> std::io::Result<u64> {
    bytes.clear();
    // `read_until` and `skip_until` find the newline with memchr.
    let kept =
        std::io::Read::take(&mut *reader, RECORD_MAX_BYTES as u64 + 1).read_until(b'\n', bytes)?;
    let mut len = kept as u64;
    if kept > RECORD_MAX_BYTES && bytes.last() != Some(&b'\n') {
        len += reader.skip_until(b'\n')? as u64;
        bytes.clear();
    }
    Ok(len)
}

/// Where the scanner stands between values.
pub struct Values<R> {
    reader: R,
    /// Byte offset in the file of the next byte to read.
    pub at: u64,
    in_array: bool,
    /// The array's closing bracket (or the end of a run of objects) was reached.
    pub closed: bool,
}

impl<R: BufRead> Values<R> {
    /// Values from the start of a JSON array body (after `[`) or of a run of objects, the
    /// reader standing at byte `at` of the file.
    pub fn new(reader: R, at: u64, in_array: bool) -> Self {
        Values {
            reader,
            at,
            in_array,
            closed: false,
        }
    }

    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        Ok(self.reader.fill_buf()?.first().copied())
    }

    fn bump(&mut self) {
        self.reader.consume(1);
        self.at += 1;
    }

    /// The next value, `None` at the end (array closed, or the stream ended: then `closed` says
    /// whether the array was closed).
    pub fn next_value(&mut self) -> std::io::Result<Option<Piece>> {
        loop {
            match self.peek()? {
                None => return Ok(None),
                Some(b) if b.is_ascii_whitespace() || (self.in_array && b == b',') => self.bump(),
                Some(b']') if self.in_array => {
                    self.bump();
                    self.closed = true;
                    return Ok(None);
                }
                Some(_) => break,
            }
        }
        let start = self.at;
        let mut bytes = Vec::new();
        let mut len = 0u64;
        let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
        while let Some(b) = self.peek()? {
            if !in_str
                && depth == 0
                && len > 0
                && (b == b',' || b == b']' || b.is_ascii_whitespace())
            {
                break; // the end of a scalar element
            }
            self.bump();
            len += 1;
            if bytes.len() < RECORD_MAX_BYTES {
                bytes.push(b);
            }
            if in_str {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_str = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        Ok(Some(if len > RECORD_MAX_BYTES as u64 {
            Piece::TooLarge { bytes: len }
        } else {
            Piece::Record { at: start, bytes }
        }))
    }
}

/// The text of the JSON value starting at byte `at` of a file (for reading a record again).
pub fn value_at<R: BufRead>(reader: R, at: u64) -> Option<Vec<u8>> {
    match Values::new(reader, at, false).next_value() {
        Ok(Some(Piece::Record { bytes, .. })) => Some(bytes),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str, in_array: bool) -> Vec<(u64, String)> {
        let mut v = Values::new(text.as_bytes(), 0, in_array);
        let mut out = Vec::new();
        while let Some(p) = v.next_value().unwrap() {
            if let Piece::Record { at, bytes } = p {
                out.push((at, String::from_utf8(bytes).unwrap()));
            }
        }
        out
    }

    #[test]
    fn elements_are_found_by_their_brackets_strings_and_escapes() {
        let got = all(r#" {"a":"}],\"{"} , {"b":[1,{"c":2}]},3, "x,]" ]"#, true);
        assert_eq!(
            got,
            vec![
                (1, r#"{"a":"}],\"{"}"#.to_string()),
                (18, r#"{"b":[1,{"c":2}]}"#.to_string()),
                (36, "3".to_string()),
                (39, r#""x,]""#.to_string()),
            ]
        );
        assert_eq!(all("{\"a\":1}\n{\"b\":2}", false).len(), 2);
    }

    /// Each line `each_line` hands over, read through a buffer of `cap` bytes.
    fn lines(bytes: &[u8], cap: usize) -> Vec<(u64, Result<Vec<u8>, u64>)> {
        let mut r = std::io::BufReader::with_capacity(cap, bytes);
        let mut out = Vec::new();
        each_line(&mut r, |at, l| {
            out.push(match l {
                Line::Text(t) => (at, Ok(t.to_vec())),
                Line::TooLarge(n) => (at, Err(n)),
            });
        })
        .unwrap();
        out
    }

    #[test]
    fn lines_read_in_place_or_gathered_are_the_same() {
        let text = b"{\"a\":1}\n\n  {\"bb\":22}\r\nno newline at the end";
        let want = vec![
            (0, Ok(b"{\"a\":1}\n".to_vec())),
            (8, Ok(b"\n".to_vec())),
            (9, Ok(b"  {\"bb\":22}\r\n".to_vec())),
            (22, Ok(b"no newline at the end".to_vec())),
        ];
        // Buffers smaller than a line, about a line, and holding the whole text.
        for cap in [1, 3, 8, 9, 13, 64, 1 << 16] {
            assert_eq!(lines(text, cap), want, "buffer of {cap} bytes");
        }
        assert!(lines(b"", 8).is_empty());
    }

    #[test]
    fn records_over_the_cap_are_counted_not_kept() {
        let mut big = vec![b'0'; RECORD_MAX_BYTES + 10];
        big.extend_from_slice(b"\nok\n");
        let n = (RECORD_MAX_BYTES + 11) as u64;
        // Gathered past a small buffer, and found whole in a buffer larger than the cap.
        for cap in [1 << 16, RECORD_MAX_BYTES + 64] {
            assert_eq!(
                lines(&big, cap),
                vec![(0, Err(n)), (n, Ok(b"ok\n".to_vec()))],
                "buffer of {cap} bytes"
            );
        }
        // A line of exactly the cap with its newline is kept; one byte more is not.
        let mut edge = vec![b'1'; RECORD_MAX_BYTES - 1];
        edge.push(b'\n');
        assert!(
            matches!(lines(&edge, 1 << 16).as_slice(), [(0, Ok(t))] if t.len() == RECORD_MAX_BYTES)
        );
        edge.insert(0, b'1');
        assert_eq!(
            lines(&edge, 1 << 16),
            vec![(0, Err(RECORD_MAX_BYTES as u64 + 1))]
        );
    }
}
