//! Text output for the CLI: aligned tables of sanitized cells, and writes that treat a closed
//! pipe (`svchop scan | head`) as a normal end. The only place that formats tables for humans.

use crate::model::sanitize::clip;
use std::io::{self, Write};

/// A column: its header, and which end of a cell goes when the table must be cut to fit.
pub struct Column {
    pub header: &'static str,
    /// Cut the start and keep the end (paths: the file name stays).
    pub keep_end: bool,
    /// Never cut (ids, times, short codes): the other columns give way.
    pub whole: bool,
    /// Left out on a terminal too narrow for every column (it is elsewhere too: in the JSON).
    pub optional: bool,
    /// The least width a cut column keeps (besides its header's): a path column keeps enough
    /// of its end for the file name, optional columns giving way first.
    pub min: usize,
}

impl Column {
    pub const fn new(header: &'static str) -> Self {
        Column {
            header,
            keep_end: false,
            whole: false,
            optional: false,
            min: 0,
        }
    }

    /// A column whose cells keep their end when cut (paths).
    pub const fn keep_end(header: &'static str) -> Self {
        Column {
            header,
            keep_end: true,
            whole: false,
            optional: false,
            min: 0,
        }
    }

    /// A column that is never cut.
    pub const fn whole(header: &'static str) -> Self {
        Column {
            header,
            keep_end: false,
            whole: true,
            optional: false,
            min: 0,
        }
    }

    /// This column, never cut narrower than `min` (optional columns go first).
    #[must_use]
    pub const fn at_least(mut self, min: usize) -> Self {
        self.min = min;
        self
    }

    /// This column, left out when the terminal is too narrow for all.
    #[must_use]
    pub const fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
}

/// Column widths that fit `avail` characters: a column narrower than its fair share keeps its
/// natural width, the rest share what is left equally (never below `floor`, so a very narrow
/// terminal overflows rather than showing nothing).
pub fn fit_widths(natural: &[usize], avail: usize, floor: usize) -> Vec<usize> {
    let mut widths = natural.to_vec();
    if natural.iter().sum::<usize>() <= avail {
        return widths;
    }
    let mut order: Vec<usize> = (0..natural.len()).collect();
    order.sort_by_key(|&i| natural[i]);
    let mut left = avail;
    for (k, &i) in order.iter().enumerate() {
        let share = left / (order.len() - k);
        widths[i] = natural[i].min(share).max(floor.min(natural[i]));
        left = left.saturating_sub(widths[i]);
    }
    widths
}

/// Cuts `s` to `max` characters from the start, keeping its end (`…` marks the cut).
pub fn clip_start(s: &str, max: usize) -> String {
    let safe = crate::model::sanitize::for_terminal(s);
    let n = safe.chars().count();
    if n <= max {
        return safe.into_owned();
    }
    if max == 0 {
        return String::new();
    }
    let tail: String = safe.chars().skip(n - (max - 1)).collect();
    format!("…{tail}")
}

/// Spaces between two columns.
const GAP: usize = 2;

/// The columns a table keeps on a terminal of `width` (`natural`: each column's widest cell or
/// header): optional columns go (the last first) until the rest can fit with every cut column at
/// least as wide as its header.
fn columns_that_fit(columns: &[Column], natural: &[usize], width: Option<usize>) -> Vec<usize> {
    let mut keep: Vec<usize> = (0..columns.len()).collect();
    let Some(w) = width else {
        return keep;
    };
    let need = |keep: &[usize]| -> usize {
        keep.iter()
            .map(|&i| {
                let c = &columns[i];
                if c.whole {
                    natural[i]
                } else {
                    natural[i].min(c.header.len().max(6).max(c.min))
                }
            })
            .sum::<usize>()
            + GAP * keep.len().saturating_sub(1)
    };
    while need(&keep) > w {
        let Some(pos) = keep.iter().rposition(|&i| columns[i].optional) else {
            break;
        };
        keep.remove(pos);
    }
    keep
}

/// Widths on a terminal of `w` columns: whole columns keep their natural width, the others
/// share the rest (never narrower than their header).
fn fitted_widths(columns: &[&Column], natural: &[usize], w: usize) -> Vec<usize> {
    let gaps = GAP * columns.len().saturating_sub(1);
    let fixed: usize = natural
        .iter()
        .zip(columns)
        .filter(|(_, c)| c.whole)
        .map(|(n, _)| n)
        .sum();
    let flexible: Vec<usize> = natural
        .iter()
        .zip(columns)
        .filter(|(_, c)| !c.whole)
        .map(|(n, _)| *n)
        .collect();
    let mut fitted = fit_widths(&flexible, w.saturating_sub(gaps + fixed), 4).into_iter();
    let mut widths: Vec<usize> = natural
        .iter()
        .zip(columns)
        .map(|(n, c)| {
            if c.whole {
                *n
            } else {
                fitted
                    .next()
                    .unwrap_or(*n)
                    .max(c.header.len())
                    .max(c.min.min(*n))
            }
        })
        .collect();
    // What a column's least width took beyond the fair shares comes off the other cut columns,
    // the widest first (never below their header).
    let mut excess = (widths.iter().sum::<usize>() + gaps).saturating_sub(w);
    while excess > 0 {
        let Some(i) = (0..widths.len())
            .filter(|&i| {
                !columns[i].whole
                    && widths[i]
                        > columns[i]
                            .header
                            .len()
                            .max(6)
                            .max(columns[i].min.min(natural[i]))
            })
            .max_by_key(|&i| widths[i])
        else {
            break;
        };
        widths[i] -= 1;
        excess -= 1;
    }
    widths
}

/// Renders rows under headers, each cell sanitized, columns padded. On a terminal of `width`
/// columns the table is fitted to it (optional columns left out when it is too narrow for all,
/// the widest of the others give way first); with `None` (a file or a pipe) nothing is cut.
pub fn table(columns: &[Column], rows: &[Vec<String>], width: Option<usize>) -> String {
    let raw: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            (0..columns.len())
                .map(|i| {
                    crate::model::sanitize::for_terminal(r.get(i).map_or("", String::as_str))
                        .into_owned()
                })
                .collect()
        })
        .collect();
    let natural: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            raw.iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(c.header.len())
        })
        .collect();
    let keep = columns_that_fit(columns, &natural, width);
    let columns: Vec<&Column> = keep.iter().map(|&i| &columns[i]).collect();
    let natural: Vec<usize> = keep.iter().map(|&i| natural[i]).collect();
    let widths = match width {
        Some(w) => fitted_widths(&columns, &natural, w),
        None => natural,
    };
    let cells: Vec<Vec<String>> = raw
        .iter()
        .map(|r| {
            keep.iter()
                .zip(&columns)
                .zip(&widths)
                .map(|((&i, c), &w)| {
                    if c.keep_end {
                        clip_start(&r[i], w)
                    } else {
                        clip(&r[i], w)
                    }
                })
                .collect()
        })
        .collect();
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let last = cells.len().saturating_sub(1);
        for (i, c) in cells.iter().enumerate() {
            out.push_str(c);
            if i < last {
                let pad = widths[i].saturating_sub(c.chars().count()) + GAP;
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

/// Writes to stdout; `Ok(false)` when the reader went away (broken pipe).
pub fn emit(text: &str) -> io::Result<bool> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
    }
}

/// Standard output for a sink: buffered, and a reader that went away (`svchop scan | head`)
/// ends the output quietly (what is left is dropped), never an error.
pub struct Stdout {
    out: io::BufWriter<io::Stdout>,
    closed: bool,
}

impl Stdout {
    pub fn new() -> Self {
        Stdout {
            out: io::BufWriter::new(io::stdout()),
            closed: false,
        }
    }

    fn quiet<T>(&mut self, r: io::Result<T>, or: T) -> io::Result<T> {
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(or)
            }
            r => r,
        }
    }
}

impl Default for Stdout {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let r = self.out.write(buf);
        self.quiet(r, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.out.flush();
        self.quiet(r, ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(count(1, "match"), "1 match");
        assert_eq!(count(3, "match"), "3 matches");
        assert_eq!(count(0, "record"), "0 records");
        assert_eq!(count(1, "record"), "1 record");
    }

    #[test]
    fn table_aligns_and_sanitizes() {
        let cols = [Column::new("A"), Column::new("B")];
        let rows = [vec!["x\x1b[2J".into(), "a long value".into()]];
        let t = table(&cols, &rows, None);
        assert!(t.contains("x\\x1b[2J") && t.contains("a long value"), "{t}");
        assert!(!t.contains('\x1b'));
        let cut = table(&cols, &rows, Some(20));
        assert!(cut.lines().all(|l| l.chars().count() <= 20), "{cut}");
        assert!(cut.contains("x\\x1b[2J") && cut.contains('…'), "{cut}");
    }

    #[test]
    fn widths_fit_the_terminal_and_paths_keep_their_file_name() {
        // Narrow columns keep their width; the wide ones share the rest.
        assert_eq!(fit_widths(&[4, 3, 60, 40], 50, 4), vec![4, 3, 22, 21]);
        assert_eq!(fit_widths(&[4, 3, 10], 50, 4), vec![4, 3, 10]);
        let cols = [Column::keep_end("PATH"), Column::new("N")];
        let rows = [vec![
            "/evidence/hosts/WS01/Windows/System32/winevt/Logs/Security.evtx".into(),
            "7".into(),
        ]];
        let t = table(&cols, &rows, Some(30));
        assert!(t.contains("…") && t.contains("Security.evtx"), "{t}");
        assert_eq!(clip_start("abcdef", 4), "…def");
    }
}
