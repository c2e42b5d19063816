//! JSON records read one at a time from a stream, never the whole file: lines capped in size,
//! and the elements of a JSON array (or a run of objects) found by their brackets, each parsed
//! on its own, so a 2 GB array costs one record of memory and one damaged element costs only
//! itself. Offsets are byte offsets in the file (where `store::raw` reads a record again).

use std::io::BufRead;

/// A record (line or element) larger than this is skipped and counted: no log record is near it,
/// and a sparse or zero-filled file would otherwise be buffered whole.
pub const RECORD_MAX_BYTES: usize = 32 << 20;

/// One record's bytes, where it starts, or that it was over the cap (its size so far).
#[derive(Debug)]
pub enum Piece {
    Record { at: u64, bytes: Vec<u8> },
    TooLarge { at: u64, bytes: u64 },
}

/// Reads `reader` from byte `at` up to the next newline, keeping at most `RECORD_MAX_BYTES`.
/// `None` at the end of the stream.
pub fn next_line<R: BufRead>(reader: &mut R, at: &mut u64) -> std::io::Result<Option<Piece>> {
    let start = *at;
    let mut bytes = Vec::new();
    // `read_until` and `skip_until` find the newline with memchr (this is the hot path of
    // JSON-lines evidence); the line is kept only up to the cap.
    let kept = std::io::Read::take(&mut *reader, RECORD_MAX_BYTES as u64 + 1)
        .read_until(b'\n', &mut bytes)?;
    let mut len = kept as u64;
    if kept > RECORD_MAX_BYTES && bytes.last() != Some(&b'\n') {
        len += reader.skip_until(b'\n')? as u64;
        bytes = Vec::new();
    }
    *at += len;
    Ok(match len {
        0 => None,
        _ if len > RECORD_MAX_BYTES as u64 => Some(Piece::TooLarge {
            at: start,
            bytes: len,
        }),
        _ => Some(Piece::Record { at: start, bytes }),
    })
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
            Piece::TooLarge {
                at: start,
                bytes: len,
            }
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

    #[test]
    fn records_over_the_cap_are_counted_not_kept() {
        let big = vec![b'0'; RECORD_MAX_BYTES + 10];
        let mut at = 0;
        let mut r = &big[..];
        match next_line(&mut r, &mut at).unwrap() {
            Some(Piece::TooLarge { bytes, .. }) => {
                assert_eq!(usize::try_from(bytes).unwrap(), big.len());
            }
            other => panic!("{other:?}"),
        }
        assert!(next_line(&mut r, &mut at).unwrap().is_none());
    }
}
