//! JSON files: an array, JSON lines, or one or more objects. Each record's shape is sniffed (or
//! forced), renamed to Windows fields, filtered by `kept`, and normalized once the file's rule for
//! zone-less times is known. A damaged line or a truncated array loses only what is damaged.

use super::fieldmap::{RawRecord, normalize};
use super::jsonscan::{Line, Piece, RECORD_MAX_BYTES, Values, each_line};
use super::kept::is_kept;
use super::report::FileReport;
use super::shapes::Shape;
use crate::model::time::infer_offset;
use crate::model::{Channel, Event};
use chrono::TimeDelta;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

/// Settings for one JSON file.
#[derive(Debug, Clone, Copy)]
pub struct JsonOptions {
    pub forced: Option<Shape>,
    /// Offset to read zone-less times at when the file gives no way to infer one.
    pub assume_offset: Option<TimeDelta>,
    /// Parse every record as a whole value (no `evtx_dump` fast path; see
    /// `LoadOptions::reference_readers`).
    pub whole_values: bool,
}

/// Normalizes records as they are read. Records with only a local time wait for the end of the
/// file, when the zone to read them in is known (voted by the records that carry both times).
struct Collector<'a> {
    opts: JsonOptions,
    report: &'a mut FileReport,
    sink: &'a mut dyn FnMut(Event),
    shown: Arc<str>,
    hosts: crate::model::HostCache,
    /// Zone-less records, with their position among the kept records.
    naive: Vec<(usize, RawRecord<'static>)>,
    votes: BTreeMap<i64, u32>,
    kept: usize,
    /// Records without a readable time, by position, reported in read order at the end.
    timeless: Vec<(usize, Option<u64>)>,
    shapes: BTreeSet<Shape>,
    unknown: u64,
    first_unknown: Option<String>,
}

impl Collector<'_> {
    /// A record over `RECORD_MAX_BYTES`: read past, counted, not kept.
    /// A record over the size cap; `offset`: the byte of the file it starts at, where known.
    fn too_large(&mut self, at: &str, bytes: u64, offset: Option<u64>) {
        let starts = offset.map_or(String::new(), |o| format!(" at byte {o}"));
        self.unreadable(
            at,
            format!(
                "record of {bytes} bytes{starts} skipped (over {} MiB; not a log record)",
                RECORD_MAX_BYTES >> 20
            ),
        );
    }

    /// A record that could not be read as JSON: counted as read and skipped, with the reason.
    fn unreadable(&mut self, at: &str, why: impl Into<String>) {
        self.report.records_read += 1;
        self.report.records_skipped += 1;
        self.report.problem(at, why);
    }

    /// One record; `offset` is where it starts in the file (see `store::raw`).
    fn take(&mut self, value: &Value, line: Option<u64>, offset: u64) {
        self.report.records_read += 1;
        let Some(shape) = self.opts.forced.or_else(|| Shape::sniff(value)) else {
            self.unknown += 1;
            self.report.records_skipped += 1;
            if self.first_unknown.is_none() {
                self.first_unknown = Some(line.map_or("record".into(), |l| format!("line {l}")));
            }
            return;
        };
        self.shapes.insert(shape);
        let Some(raw) = shape.to_raw(value) else {
            self.report.records_skipped += 1;
            self.report
                .problem(at(line), format!("not a {} record", shape.name()));
            return;
        };
        self.keep(raw, line, offset);
    }

    /// One record's text: read straight into a record when it is plainly `evtx_dump`'s shape
    /// (and no other shape is forced), else parsed as a `Value` and read as any record.
    fn take_text(&mut self, text: &str, line: Option<u64>, offset: u64) -> Result<(), String> {
        if self.opts.forced.is_none_or(|s| s == Shape::EvtxJson)
            && !self.opts.whole_values
            && let Some(raw) = super::evtxjsonfast::read(text)
        {
            self.report.records_read += 1;
            self.shapes.insert(Shape::EvtxJson);
            self.keep(raw, line, offset);
            return Ok(());
        }
        let v = parse_mending_surrogates(text).map_err(|e| format!("damaged JSON: {e}"))?;
        self.take(&v, line, offset);
        Ok(())
    }

    /// A record read: dropped (noted for coverage) unless the detections use it.
    fn keep(&mut self, mut raw: RawRecord<'_>, line: Option<u64>, offset: u64) {
        if !is_kept(&Channel::from_name(&raw.channel), raw.event_id) {
            let ts = raw.time.utc.or(raw.time.received);
            self.report.note(&raw.host, &raw.channel, raw.event_id, ts);
            return;
        }
        raw.line = line;
        raw.offset = Some(offset);
        if let Some(o) = raw.time.local.and_then(|local| {
            raw.time
                .utc
                .or(raw.time.received)
                .and_then(|u| infer_offset(local, u))
        }) {
            *self.votes.entry(o.num_seconds()).or_default() += 1;
        }
        let at = self.kept;
        self.kept += 1;
        if raw.time.utc.is_none() && raw.time.local.is_some() {
            self.naive.push((at, raw.into_owned()));
        } else {
            // The time does not depend on the zone: the record is done now.
            self.emit(at, raw, TimeDelta::zero());
        }
    }

    fn emit(&mut self, at: usize, raw: RawRecord<'_>, offset: TimeDelta) {
        let line = raw.line;
        if let Some(ev) = normalize(raw, &self.shown, offset, &mut self.hosts) {
            self.report.records_kept += 1;
            self.report.saw(&ev.host.display, ev.ts);
            self.report.note(
                &ev.host.display,
                ev.channel.name(),
                ev.event_id,
                Some(ev.ts),
            );
            (self.sink)(ev);
        } else {
            self.report.records_skipped += 1;
            self.timeless.push((at, line));
        }
    }
}

/// A JSON value; a text that fails only for unpaired UTF-16 surrogates (a name Windows accepts;
/// exporters write `\ud800`) is no damage: read with them as U+FFFD. The error is the text's own.
pub fn parse_mending_surrogates(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<Value>(text).or_else(|e| {
        mend_lone_surrogates(text)
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .ok_or(e)
    })
}

/// JSON text with every `\uXXXX` escape of an unpaired UTF-16 surrogate written as `\ufffd`
/// (U+FFFD), or `None` when it has none. A high surrogate followed by a low one is a pair and
/// kept; escaped backslashes (`\\u`) are not escapes of `u`.
pub fn mend_lone_surrogates(text: &str) -> Option<String> {
    fn unit(b: &[u8], at: usize) -> Option<u16> {
        let hex = std::str::from_utf8(b.get(at..at + 4)?).ok()?;
        u16::from_str_radix(hex, 16).ok()
    }
    let b = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut mended = false;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        if b.get(i + 1) != Some(&b'u') {
            // Any other escape: both bytes as they are.
            out.extend_from_slice(&b[i..(i + 2).min(b.len())]);
            i += 2;
            continue;
        }
        match unit(b, i + 2) {
            Some(0xD800..=0xDBFF)
                if b.get(i + 6) == Some(&b'\\')
                    && b.get(i + 7) == Some(&b'u')
                    && unit(b, i + 8).is_some_and(|lo| (0xDC00..=0xDFFF).contains(&lo)) =>
            {
                out.extend_from_slice(&b[i..i + 12]);
                i += 12;
            }
            Some(0xD800..=0xDFFF) => {
                out.extend_from_slice(b"\\ufffd");
                mended = true;
                i += 6;
            }
            _ => {
                out.extend_from_slice(&b[i..(i + 2).min(b.len())]);
                i += 2;
            }
        }
    }
    // Only ASCII escapes were replaced by ASCII: the text stays UTF-8.
    mended.then(|| String::from_utf8(out).ok()).flatten()
}

fn at(line: Option<u64>) -> String {
    line.map_or("record".into(), |l| format!("line {l}"))
}

/// Reads one JSON file (any container) into events (tests and benchmarks).
#[cfg(any(test, feature = "bench"))]
pub fn read_json(path: &Path, shown: &Arc<str>, opts: JsonOptions) -> (Vec<Event>, FileReport) {
    super::collected(|sink| read_json_into(path, shown, opts, sink))
}

/// `read_json`, handing each event to `sink` as soon as it is normalized.
pub fn read_json_into(
    path: &Path,
    shown: &Arc<str>,
    opts: JsonOptions,
    sink: &mut dyn FnMut(Event),
) -> FileReport {
    match std::fs::File::open(path) {
        Ok(f) => read_json_from_into(BufReader::new(f), shown, opts, sink),
        Err(e) => {
            let mut report = FileReport::new(shown, "json");
            report.problem("file", format!("cannot open: {e}"));
            report
        }
    }
}

/// Reads JSON from any buffered reader (a file, or bytes in memory).
#[cfg(any(test, feature = "bench"))]
pub fn read_json_from<R: BufRead>(
    reader: R,
    shown: &Arc<str>,
    opts: JsonOptions,
) -> (Vec<Event>, FileReport) {
    super::collected(|sink| read_json_from_into(reader, shown, opts, sink))
}

/// `read_json_into` on any buffered reader (an archive member in memory).
pub fn read_json_from_into<R: BufRead>(
    mut reader: R,
    shown: &Arc<str>,
    opts: JsonOptions,
    sink: &mut dyn FnMut(Event),
) -> FileReport {
    let mut report = FileReport::new(shown, "json");
    let csv_mode = super::evtxecmd::looks_like_csv_reader(&mut reader);
    let lines_mode = !csv_mode && looks_like_lines(&mut reader);
    let mut c = Collector {
        opts,
        report: &mut report,
        sink,
        shown: Arc::clone(shown),
        hosts: crate::model::HostCache::default(),
        naive: Vec::new(),
        votes: BTreeMap::new(),
        kept: 0,
        timeless: Vec::new(),
        shapes: BTreeSet::new(),
        unknown: 0,
        first_unknown: None,
    };
    let container = if csv_mode {
        read_csv(reader, &mut c);
        "csv"
    } else if lines_mode {
        read_lines(reader, &mut c);
        "jsonl"
    } else {
        read_whole(reader, &mut c);
        "json"
    };
    let shapes: Vec<&str> = c.shapes.iter().map(|s| s.name()).collect();
    let format = if shapes.is_empty() {
        container.to_string()
    } else {
        format!("{container}:{}", shapes.join("+"))
    };
    if c.unknown > 0 {
        let first = c.first_unknown.take().unwrap_or_default();
        c.report.problem(
            first,
            format!("{} record(s) of unknown shape skipped", c.unknown),
        );
    }
    c.finish();
    report.format = format;
    report
}

/// CSV rows (EvtxECmd's), each a record of its columns: read as the same record in JSON lines.
fn read_csv<R: BufRead>(reader: R, c: &mut Collector<'_>) {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h
            .iter()
            .map(|k| k.trim_start_matches('\u{feff}').to_string())
            .collect(),
        Err(e) => {
            c.unreadable("line 1", format!("damaged CSV header: {e}"));
            return;
        }
    };
    let mut row = csv::StringRecord::new();
    loop {
        let pos = rdr.position().clone();
        let at = format!("line {}", pos.line());
        match rdr.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {
                let size = row.as_byte_record().as_slice().len();
                if size > RECORD_MAX_BYTES {
                    c.too_large(&at, size as u64, Some(pos.byte()));
                    continue;
                }
                let v: serde_json::Map<String, Value> = headers
                    .iter()
                    .zip(row.iter())
                    .map(|(k, x)| (k.clone(), Value::String(x.to_string())))
                    .collect();
                c.take(&Value::Object(v), Some(pos.line()), pos.byte());
            }
            Err(e) => {
                c.unreadable(&at, format!("damaged CSV row: {e}"));
                // A broken quote can swallow the rest: stop rather than misread rows.
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
            }
        }
    }
}

/// How much of a file's start is looked at to tell JSON lines.
const SNIFF_BYTES: usize = 8 << 10;

/// A file is JSON lines when its first non-blank line is a complete JSON object within the first
/// `SNIFF_BYTES`.
fn looks_like_lines<R: BufRead>(reader: &mut R) -> bool {
    let Ok(buf) = reader.fill_buf() else {
        return false;
    };
    let text = String::from_utf8_lossy(&buf[..buf.len().min(SNIFF_BYTES)]);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if !text.starts_with('{') {
        return false;
    }
    match text.lines().next() {
        Some(first) => serde_json::from_str::<Value>(first).is_ok_and(|v| v.is_object()),
        None => false,
    }
}

fn read_lines<R: BufRead>(mut reader: R, c: &mut Collector<'_>) {
    let mut line_no = 0u64;
    let read = each_line(&mut reader, |at, line| {
        line_no += 1;
        let buf = match line {
            Line::Text(t) => t,
            Line::TooLarge(bytes) => {
                c.too_large(&format!("line {line_no}"), bytes, Some(at));
                return;
            }
        };
        let Ok(text) = std::str::from_utf8(buf) else {
            c.unreadable(&format!("line {line_no}"), "not UTF-8");
            return;
        };
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            return;
        }
        if let Err(why) = c.take_text(text, Some(line_no), at) {
            c.unreadable(&format!("line {line_no}"), why);
        }
    });
    if let Err(e) = read {
        c.report
            .problem(format!("line {}", line_no + 1), format!("read error: {e}"));
    }
}

/// A JSON array, or objects one after another: each record found by its brackets and parsed on
/// its own (the file is never held whole; one damaged record costs only itself).
fn read_whole<R: BufRead>(mut reader: R, c: &mut Collector<'_>) {
    let mut at = 0u64;
    let start = match skip_bom_and_space(&mut reader, &mut at) {
        Ok(b) => b,
        Err(e) => {
            c.report.problem("file", format!("read error: {e}"));
            return;
        }
    };
    let in_array = match start {
        Some(b'[') => {
            reader.consume(1);
            at += 1;
            true
        }
        Some(b'{') => false,
        Some(_) => {
            c.report
                .problem("file", "not JSON (neither an array nor objects)");
            return;
        }
        None => return,
    };
    let mut values = Values::new(reader, at, in_array);
    let mut index = 0u64;
    loop {
        let piece = match values.next_value() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                c.report
                    .problem(format!("record {}", index + 1), format!("read error: {e}"));
                return;
            }
        };
        index += 1;
        match piece {
            Piece::TooLarge { bytes, .. } => c.too_large(&format!("record {index}"), bytes, None),
            Piece::Record { at, bytes } => {
                let text = String::from_utf8_lossy(&bytes);
                if let Err(why) = c.take_text(&text, None, at) {
                    c.unreadable(&format!("record {index}"), why);
                }
            }
        }
    }
    if in_array && !values.closed {
        c.report.problem(
            format!("record {}", index + 1),
            "JSON array is not closed (truncated file?)",
        );
    }
}

/// Skips a UTF-8 byte-order mark and white space; the first byte after them, not consumed.
fn skip_bom_and_space<R: BufRead>(reader: &mut R, at: &mut u64) -> std::io::Result<Option<u8>> {
    if reader.fill_buf()?.starts_with(&[0xef, 0xbb, 0xbf]) {
        reader.consume(3);
        *at += 3;
    }
    loop {
        match reader.fill_buf()?.first().copied() {
            Some(b) if b.is_ascii_whitespace() => {
                reader.consume(1);
                *at += 1;
            }
            other => return Ok(other),
        }
    }
}

impl Collector<'_> {
    /// Infers the file's zone for zone-less times (the most common offset among records that
    /// carry both a UTC time and a local one), normalizes the records that waited for it, and
    /// reports records without a readable time in read order.
    fn finish(&mut self) {
        let inferred = self
            .votes
            .iter()
            .max_by_key(|&(_, n)| n)
            .and_then(|(&secs, _)| TimeDelta::try_seconds(secs));
        let (offset, rule) = match (self.opts.assume_offset, inferred) {
            (Some(o), _) => (o, format!("{} (--assume-tz)", fmt_offset(o))),
            (None, Some(o)) => (
                o,
                format!(
                    "{} (inferred from records with both UTC and local times)",
                    fmt_offset(o)
                ),
            ),
            (None, None) => (
                TimeDelta::zero(),
                "UTC (nothing to infer a zone from)".to_string(),
            ),
        };
        if !self.naive.is_empty() {
            self.report.naive_time_rule = Some(rule);
        }
        for (at, raw) in std::mem::take(&mut self.naive) {
            self.emit(at, raw, offset);
        }
        let mut timeless = std::mem::take(&mut self.timeless);
        timeless.sort_unstable_by_key(|&(at, _)| at);
        for (_, line) in timeless {
            self.report.problem(at(line), "no readable time");
        }
    }
}

pub fn fmt_offset(o: TimeDelta) -> String {
    let secs = o.num_seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.abs();
    format!("UTC{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
}
