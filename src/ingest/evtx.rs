//! EVTX files with the evtx crate: chunks parsed in parallel, each record turned into JSON, its
//! channel and id checked against `kept`, and only kept records normalized. Damaged chunks and
//! records are counted and described, never fatal.

use super::evtxjson::{channel_and_id, to_raw, unwrap_event};
use super::evtxpeek::{Read, Templates};
use super::fieldmap::{RawRecord, normalize};
use super::kept::is_kept;
use super::report::FileReport;
use crate::model::{Channel, Event};
use chrono::{DateTime, TimeDelta};
use evtx::{EvtxParser, ParserSettings};
use std::path::Path;
use std::sync::Arc;

/// What became of one record.
pub(crate) enum Outcome {
    Kept(Box<Event>),
    /// Not used by the detections: (host, channel, event id) for coverage.
    Dropped(Option<(String, String, u16)>),
    Unusable(String),
}

/// Reads one EVTX file (tests and benchmarks; the store reads through `read_evtx_into`).
#[cfg(any(test, feature = "bench"))]
pub fn read_evtx(path: &Path, shown: &Arc<str>) -> (Vec<Event>, FileReport) {
    super::collected(|sink| read_evtx_into(path, shown, sink))
}

/// EVTX files up to this size are parsed on one thread, many files at once (most collections
/// hold hundreds of logs of one or a few chunks: parallel across files is what uses the cores);
/// larger ones one at a time, their chunks in parallel.
pub const SMALL_EVTX_BYTES: u64 = 4 << 20;

/// `read_evtx`, handing each kept event to `sink` as it is read.
pub fn read_evtx_into(path: &Path, shown: &Arc<str>, sink: &mut dyn FnMut(Event)) -> FileReport {
    read_evtx_file(path, shown, Via::Templates, sink)
}

/// `read_evtx_into` with every record rendered, none read from its template (the reference
/// the template reader is checked against).
pub fn read_evtx_rendered(
    path: &Path,
    shown: &Arc<str>,
    sink: &mut dyn FnMut(Event),
) -> FileReport {
    read_evtx_file(path, shown, Via::Rendering, sink)
}

/// How records are read: from their templates where they can be, or all rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Templates,
    Rendering,
}

fn read_evtx_file(
    path: &Path,
    shown: &Arc<str>,
    via: Via,
    sink: &mut dyn FnMut(Event),
) -> FileReport {
    let small = std::fs::metadata(path).is_ok_and(|m| m.len() <= SMALL_EVTX_BYTES);
    read_opened(
        EvtxParser::from_path(path),
        small,
        (shown, via),
        sink,
        |report| {
            account_for_chunks(path, report);
        },
    )
}

/// An EVTX image held in memory (an archive member), read as a file of it is read: its chunks in
/// parallel when it is large, records rendered with `rendered`, damage counted the same way.
pub fn read_evtx_in_memory(
    bytes: &[u8],
    shown: &Arc<str>,
    rendered: bool,
    sink: &mut dyn FnMut(Event),
) -> FileReport {
    let small = bytes.len() as u64 <= SMALL_EVTX_BYTES;
    let via = if rendered {
        Via::Rendering
    } else {
        Via::Templates
    };
    let parser = EvtxParser::from_read_seek(std::io::Cursor::new(bytes));
    read_opened(parser, small, (shown, via), sink, |report| {
        count_damage(&mut std::io::Cursor::new(bytes), bytes.len() as u64, report);
    })
}

/// An opened image read (one thread when `small`), then its damage counted by `damage`; a
/// report of why when it did not open as EVTX.
fn read_opened<T: std::io::Read + std::io::Seek>(
    opened: evtx::err::Result<EvtxParser<T>>,
    small: bool,
    (shown, via): (&Arc<str>, Via),
    sink: &mut dyn FnMut(Event),
    damage: impl FnOnce(&mut FileReport),
) -> FileReport {
    match opened {
        Ok(p) => {
            let mut report = read_parser(
                p.with_configuration(ParserSettings::new().num_threads(usize::from(small))),
                shown,
                via,
                sink,
            );
            damage(&mut report);
            report
        }
        Err(e) => {
            let mut report = FileReport::new(shown, "evtx");
            report.problem("file", format!("not readable as EVTX: {e}"));
            report
        }
    }
}

/// Reads an EVTX image held in memory (single-threaded; used by the fuzz targets).
#[cfg(any(test, feature = "bench"))]
pub fn read_evtx_bytes(bytes: Vec<u8>, shown: &Arc<str>) -> (Vec<Event>, FileReport) {
    match EvtxParser::from_buffer(bytes) {
        Ok(p) => super::collected(|sink| {
            read_parser(
                p.with_configuration(ParserSettings::new().num_threads(1)),
                shown,
                Via::Templates,
                sink,
            )
        }),
        Err(e) => {
            let mut report = FileReport::new(shown, "evtx");
            report.problem("file", format!("not readable as EVTX: {e}"));
            (Vec::new(), report)
        }
    }
}

fn read_parser<T: std::io::Read + std::io::Seek>(
    mut parser: EvtxParser<T>,
    shown: &Arc<str>,
    via: Via,
    sink: &mut dyn FnMut(Event),
) -> FileReport {
    let mut report = FileReport::new(shown, "evtx");
    let file = Arc::clone(shown);
    // Each chunk gets its own clone of this closure, and so its own host-name cache.
    let mut hosts = crate::model::HostCache::default();
    let mut templates = Templates::default();
    let records = parser.serialized_records(move |record| {
        let record = record?;
        let id = record.event_record_id;
        let ts = DateTime::from_timestamp(record.timestamp.as_second(), 0);
        // Read from the record's template when it can be (unrendered); rendered otherwise.
        let read = match via {
            Via::Templates => templates.read(&record, |c, i| is_kept(&Channel::from_name(c), i)),
            Via::Rendering => Read::Render,
        };
        let outcome = match read {
            Read::Drop(p) => Outcome::Dropped(Some((p.computer, p.channel, p.event_id))),
            Read::Keep(raw) => finish(*raw, (id, &file), &mut hosts),
            Read::Render => classify(&record.into_json_value()?.data, (id, &file), &mut hosts),
        };
        Ok((id, ts, outcome))
    });
    for item in records {
        match item {
            Ok((_, _, Outcome::Kept(ev))) => {
                report.records_read += 1;
                report.records_kept += 1;
                report.saw(&ev.host.display, ev.ts);
                report.note(
                    &ev.host.display,
                    ev.channel.name(),
                    ev.event_id,
                    Some(ev.ts),
                );
                sink(*ev);
            }
            Ok((_, ts, Outcome::Dropped(what))) => {
                report.records_read += 1;
                if let Some((host, channel, id)) = what {
                    report.note(&host, &channel, id, ts);
                }
            }
            Ok((id, _, Outcome::Unusable(why))) => {
                report.records_read += 1;
                report.records_skipped += 1;
                report.problem(format!("record {id}"), why);
            }
            Err(e) => {
                report.records_skipped += 1;
                let text = e.to_string();
                report.problem(locate(&text), first_line(&text));
            }
        }
    }
    report
}

/// A rendered record (`{"Event": {...}}`) normalized: kept, dropped (not read by any detection)
/// or unusable. Windows Event XML is read through here too (`evtxml`).
pub(crate) fn classify(
    data: &serde_json::Value,
    (header_id, file): (u64, &Arc<str>),
    hosts: &mut crate::model::HostCache,
) -> Outcome {
    let Some(event) = unwrap_event(data) else {
        return Outcome::Unusable("record has no System element".into());
    };
    let Some((channel, id)) = channel_and_id(event) else {
        return Outcome::Dropped(None);
    };
    if !is_kept(&Channel::from_name(&channel), id) {
        let host = event
            .get("System")
            .and_then(|s| s.get("Computer"))
            .and_then(super::evtxjson::text_of)
            .unwrap_or_default();
        return Outcome::Dropped(Some((host, channel, id)));
    }
    let Some(raw) = to_raw(event) else {
        return Outcome::Unusable("record has no System element".into());
    };
    finish(raw, (header_id, file), hosts)
}

/// The kept record normalized, cited by the record number in its header.
fn finish(
    mut raw: RawRecord,
    (header_id, file): (u64, &Arc<str>),
    hosts: &mut crate::model::HostCache,
) -> Outcome {
    // Cite the record as evtx_dump and the file itself number it; keep the logged
    // EventRecordID (it differs in exported or filtered logs) among the fields.
    if let Some(logged) = raw.record_id.filter(|l| *l != header_id) {
        raw.data
            .push(("EventRecordID".into(), logged.to_string().into()));
    }
    raw.record_id = Some(header_id);
    match normalize(raw, file, TimeDelta::zero(), hosts) {
        Some(ev) => Outcome::Kept(Box::new(ev)),
        None => Outcome::Unusable("record has no readable TimeCreated".into()),
    }
}

/// An EVTX file's layout (MS-EVEN6 2.1): a 4 KiB file header, then chunks of 64 KiB, each
/// opening with its header (the first and last record ids it holds).
pub const FILE_HEADER: u64 = 4096;
pub const CHUNK: u64 = 65536;

/// How many records chunk `k`'s header lists (`None`: no readable chunk header there).
fn listed_in_chunk<R: std::io::Read + std::io::Seek>(f: &mut R, k: u64) -> Option<u64> {
    use std::io::SeekFrom;
    let mut head = [0u8; 40];
    f.seek(SeekFrom::Start(FILE_HEADER + k * CHUNK)).ok()?;
    if f.read(&mut head).ok()? < 40 || !head.starts_with(b"ElfChnk\0") {
        return None;
    }
    let first = u64::from_le_bytes(head[24..32].try_into().ok()?);
    let last = u64::from_le_bytes(head[32..40].try_into().ok()?);
    // A chunk holds at most a few thousand records; anything else is a damaged header.
    (last >= first && last - first < CHUNK).then(|| last - first + 1)
}

/// Counts in records what the parser could not read: a chunk it failed on (one error, though
/// the chunk's header lists its records) and a chunk the file is cut inside (which the parser
/// passes over without a word).
fn account_for_chunks(path: &Path, report: &mut FileReport) {
    let Ok(mut f) = std::fs::File::open(path) else {
        return;
    };
    let Ok(len) = f.metadata().map(|m| m.len()) else {
        return;
    };
    count_damage(&mut f, len, report);
}

/// `account_for_chunks` on an image of `len` bytes.
fn count_damage<R: std::io::Read + std::io::Seek>(f: &mut R, len: u64, report: &mut FileReport) {
    let failed: Vec<u64> = report
        .problems
        .iter()
        .filter_map(|p| p.at.strip_prefix("chunk ")?.parse().ok())
        .collect();
    for k in failed {
        if let Some(n) = listed_in_chunk(f, k).filter(|&n| n > 1) {
            // The parser counted the chunk as one skipped record.
            report.records_skipped += n - 1;
            report.problem(
                format!("chunk {k}"),
                format!("its header lists {n} record(s); none of them could be read"),
            );
        }
    }
    let body = len.saturating_sub(FILE_HEADER);
    let (whole, rest) = (body / CHUNK, body % CHUNK);
    if rest > 0 {
        let records = listed_in_chunk(f, whole);
        let what = records.map_or_else(
            || "its records (how many is unknown: its header is cut or damaged)".to_string(),
            |n| format!("its {n} record(s)"),
        );
        report.problem(
            format!("chunk {whole}"),
            format!(
                "the file is cut inside chunk {whole} ({rest} of {CHUNK} bytes): {what} were not read"
            ),
        );
        report.records_skipped += records.unwrap_or(0);
    }
}

/// `chunk 6` or `record 6335011` from the parser's message, else `file`.
fn locate(message: &str) -> String {
    for (needle, label) in [("chunk number ", "chunk"), ("record number ", "record")] {
        if let Some(i) = message.find(needle) {
            let n: String = message[i + needle.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if !n.is_empty() {
                return format!("{label} {n}");
            }
        }
    }
    "file".into()
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or(text);
    line.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_chunk_and_record_errors() {
        assert_eq!(
            locate("Failed to parse chunk number 6: bad magic"),
            "chunk 6"
        );
        assert_eq!(
            locate("Failed to parse record number 6335011: x"),
            "record 6335011"
        );
        assert_eq!(locate("something else"), "file");
    }
}
