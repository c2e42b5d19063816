//! Text output for the CLI: aligned tables of sanitized cells, and writes that treat a closed
//! pipe (`svchop scan | head`) as a normal end. The only place that formats tables for humans.

use crate::model::sanitize::clip;
use std::io::{self, Write};

/// A column: header and the most characters a cell may take.
pub struct Column {
    pub header: &'static str,
    pub max: usize,
}

/// Renders rows under headers, each cell sanitized and clipped, columns padded.
pub fn table(columns: &[Column], rows: &[Vec<String>]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| clip(r.get(i).map_or("", String::as_str), c.max))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(c.header.len())
        })
        .collect();
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let last = cells.len().saturating_sub(1);
        for (i, c) in cells.iter().enumerate() {
            out.push_str(c);
            if i < last {
                let pad = widths[i].saturating_sub(c.chars().count()) + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    };
    line(columns.iter().map(|c| c.header).collect(), &mut out);
    for r in &cells {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// JSON text made safe to print on a terminal (see `model::sanitize::for_json`).
/// `1 record`, `2 records`, `1 match`, `3 matches`: a count with its noun (regular plurals).
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else if ["s", "x", "ch", "sh"].iter().any(|e| noun.ends_with(e)) {
        format!("{n} {noun}es")
    } else {
        format!("{n} {noun}s")
    }
}

pub fn json_safe(json: String) -> String {
    crate::model::sanitize::for_json(json)
}

/// Writes to stdout; `Ok(false)` when the reader went away (broken pipe).
pub fn emit(text: &str) -> io::Result<bool> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_safe_keeps_meaning() {
        let v = serde_json::json!({"s": "a\u{9b}b\u{202e}c"});
        let safe = json_safe(v.to_string());
        assert!(safe.is_ascii());
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(count(1, "match"), "1 match");
        assert_eq!(count(3, "match"), "3 matches");
        assert_eq!(count(0, "record"), "0 records");
        assert_eq!(count(1, "record"), "1 record");
    }

    #[test]
    fn table_aligns_and_sanitizes() {
        let cols = [
            Column {
                header: "A",
                max: 10,
            },
            Column {
                header: "B",
                max: 5,
            },
        ];
        let t = table(&cols, &[vec!["x\x1b[2J".into(), "long value".into()]]);
        assert!(t.contains("x\\x1b[2J"));
        assert!(t.contains("long…"));
        assert!(!t.contains('\x1b'));
    }
}
