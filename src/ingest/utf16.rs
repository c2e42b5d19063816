//! UTF-16 text evidence (Windows PowerShell 5's `>` writes UTF-16LE with a byte-order mark:
//! `Get-WinEvent ... | % { $_.ToXml() } > events.xml`, `ConvertTo-Json > events.json`), read as
//! UTF-8 through a streaming transcoder, so every reader of text reads it unchanged. Offsets in
//! it count the UTF-8 bytes the transcoder gives.

use std::io::Read;

/// The byte order a text's byte-order mark shows, if UTF-16: `Some(false)` little-endian,
/// `Some(true)` big-endian.
pub fn bom(head: &[u8]) -> Option<bool> {
    match head {
        [0xFF, 0xFE, ..] => Some(false),
        [0xFE, 0xFF, ..] => Some(true),
        _ => None,
    }
}

/// Reads UTF-16 (after its byte-order mark) as UTF-8; unpaired surrogates become U+FFFD.
pub struct Utf16<R> {
    inner: R,
    big_endian: bool,
    out: Vec<u8>,
    at: usize,
    /// An odd byte, or a high surrogate, waiting for the rest of it.
    odd: Option<u8>,
    high: Option<u16>,
    started: bool,
    done: bool,
}

impl<R: Read> Utf16<R> {
    pub fn new(inner: R, big_endian: bool) -> Self {
        Utf16 {
            inner,
            big_endian,
            out: Vec::new(),
            at: 0,
            odd: None,
            high: None,
            started: false,
            done: false,
        }
    }

    fn fill(&mut self) -> std::io::Result<()> {
        self.out.clear();
        self.at = 0;
        let mut raw = vec![0u8; 64 << 10];
        while self.out.is_empty() && !self.done {
            let n = self.inner.read(&mut raw)?;
            if n == 0 {
                self.done = true;
                if self.odd.take().is_some() || self.high.take().is_some() {
                    self.out.extend_from_slice("\u{fffd}".as_bytes());
                }
                break;
            }
            let mut bytes: Vec<u8> = self.odd.take().into_iter().collect();
            bytes.extend_from_slice(&raw[..n]);
            if bytes.len() % 2 == 1 {
                self.odd = bytes.pop();
            }
            let mut units: Vec<u16> = self.high.take().into_iter().collect();
            units.extend(bytes.chunks_exact(2).map(|c| {
                if self.big_endian {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                }
            }));
            if !self.started && !units.is_empty() {
                self.started = true;
                // The byte-order mark itself.
                if units.first() == Some(&0xFEFF) {
                    units.remove(0);
                }
            }
            if units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
                self.high = units.pop();
            }
            let text: String = char::decode_utf16(units)
                .map(|c| c.unwrap_or('\u{fffd}'))
                .collect();
            self.out.extend_from_slice(text.as_bytes());
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf16<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.out.len() {
            self.fill()?;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The UTF-8 text of the first bytes of a UTF-16 text (for sniffing).
pub fn head_as_utf8(head: &[u8], big_endian: bool) -> String {
    let mut s = String::new();
    let _ = Utf16::new(head, big_endian).read_to_string(&mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader giving one byte at a time.
    struct Slow<'a>(&'a [u8]);

    impl Read for Slow<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some((&b, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            buf[0] = b;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn utf16_reads_as_utf8_across_reads() {
        let text = "<Event>ä €𝄞 \r\n</Event>";
        for big in [false, true] {
            let mut bytes = if big {
                vec![0xFE, 0xFF]
            } else {
                vec![0xFF, 0xFE]
            };
            for u in text.encode_utf16() {
                bytes.extend(if big {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                });
            }
            assert_eq!(bom(&bytes), Some(big));
            // One byte at a time: odd bytes and split surrogate pairs wait for the rest.
            let mut out = String::new();
            Utf16::new(Slow(&bytes), big)
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, text);
        }
    }
}
