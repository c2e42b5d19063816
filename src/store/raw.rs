//! A record's text, read again from the evidence by its location (the store never keeps it):
//! an EVTX record by its record id (only the chunk that holds it is parsed), a JSON-lines
//! record by the byte offset of its line, an element of a JSON array or object stream by its
//! byte offset. Read-only. When the file is gone, or no longer holds the record
//! where it was, the error says the evidence moved or changed.

use crate::model::SourceRef;
use evtx::{EvtxChunkData, ParserSettings};
use std::io::{BufRead, Read, Seek, SeekFrom};

use std::sync::Arc;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RawError {
    #[error("{file}: cannot open ({why}); the evidence has moved or is no longer readable")]
    Moved { file: String, why: String },
    #[error(
        "{file}: {what} is no longer where it was read; the evidence has changed since loading"
    )]
    Changed { file: String, what: String },
    #[error("{file}: the record's place in the file was not kept")]
    NoLocation { file: String },
}

/// The text of the record at `src`, as it was when loaded: the record rendered as JSON (EVTX) or
/// the JSON text of the record as the file has it (a JSON line trimmed; an array element
/// re-serialized compactly).
#[cfg(any(test, feature = "bench"))]
pub fn record_text(src: &SourceRef) -> Result<String, RawError> {
    record_text_with(src, &crate::ingest::archive::ArchiveOptions::default())
}

/// `record_text`, archives read with these options (their password).
pub fn record_text_with(
    src: &SourceRef,
    archives: &crate::ingest::archive::ArchiveOptions,
) -> Result<String, RawError> {
    let moved = |e: &dyn std::fmt::Display| RawError::Moved {
        file: src.file.to_string(),
        why: e.to_string(),
    };
    let path = crate::ingest::stdin::file_of(&src.file);
    let in_archive = if crate::ingest::stdin::is_spool(&path) {
        None
    } else {
        crate::ingest::archive::read_location(&src.file, archives).map_err(|e| moved(&e))?
    };
    match in_archive {
        Some(bytes) => record_in(std::io::Cursor::new(bytes), src),
        None => record_in(std::fs::File::open(&path).map_err(|e| moved(&e))?, src),
    }
}

/// The record at `src` in the evidence `f` holds (a file, or an archive member in memory).
fn record_in<F: Read + Seek>(mut f: F, src: &SourceRef) -> Result<String, RawError> {
    let moved = |e: &dyn std::fmt::Display| RawError::Moved {
        file: src.file.to_string(),
        why: e.to_string(),
    };
    let mut magic = [0u8; 8];
    let n = f.read(&mut magic).map_err(|e| moved(&e))?;
    if magic[..n].starts_with(b"ElfFile\0") {
        let id = src.record_id.ok_or_else(|| RawError::NoLocation {
            file: src.file.to_string(),
        })?;
        return evtx_record(f, id).ok_or_else(|| RawError::Changed {
            file: src.file.to_string(),
            what: format!("record {id}"),
        });
    }
    let at = src.offset.ok_or_else(|| RawError::NoLocation {
        file: src.file.to_string(),
    })?;
    if let Some(big_endian) = crate::ingest::utf16::bom(&magic[..n]) {
        // Offsets count the UTF-8 the text reads as: the record is found in that.
        f.seek(SeekFrom::Start(0)).map_err(|e| moved(&e))?;
        let mut text = crate::ingest::utf16::Utf16::new(std::io::BufReader::new(f), big_endian);
        std::io::copy(&mut (&mut text).take(at), &mut std::io::sink()).map_err(|e| moved(&e))?;
        let mut record = Vec::new();
        text.take(crate::ingest::evtxml::RECORD_MAX_BYTES)
            .read_to_end(&mut record)
            .map_err(|e| moved(&e))?;
        let from_start = SourceRef {
            offset: Some(0),
            ..src.clone()
        };
        return record_in(std::io::Cursor::new(record), &from_start);
    }
    let text = if src.line.is_some() {
        json_line(&mut f, at).or_else(|| csv_row(&mut f, at))
    } else if starts_with_at(&mut f, at, b'<') {
        xml_event(f, at)
    } else {
        json_value(f, at)
    };
    text.ok_or_else(|| RawError::Changed {
        file: src.file.to_string(),
        what: src.line.map_or_else(
            || format!("the record at offset {at}"),
            |l| format!("line {l}"),
        ),
    })
}

use crate::ingest::evtx::{CHUNK as CHUNK_SIZE, FILE_HEADER};

/// Finds the chunk whose header names `id` among its records (headers only: 64 KiB apart), then
/// parses that chunk alone, as the loader parses every chunk. A chunk whose header is damaged
/// is tried only when no header names the record.
fn evtx_record<F: Read + Seek>(mut f: F, id: u64) -> Option<String> {
    evtx_pass(&mut f, id, true).or_else(|| evtx_pass(&mut f, id, false))
}

fn evtx_pass<F: Read + Seek>(f: &mut F, id: u64, by_header: bool) -> Option<String> {
    let len = f.seek(SeekFrom::End(0)).ok()?;
    let settings = Arc::new(ParserSettings::new().num_threads(1));
    let mut at = FILE_HEADER;
    while at + CHUNK_SIZE <= len {
        let mut head = [0u8; 40];
        f.seek(SeekFrom::Start(at)).ok()?;
        f.read_exact(&mut head).ok()?;
        let first = u64::from_le_bytes(head[24..32].try_into().ok()?);
        let last = u64::from_le_bytes(head[32..40].try_into().ok()?);
        let named = head.starts_with(b"ElfChnk\0") && (first..=last).contains(&id);
        if named == by_header {
            let mut data = vec![0u8; usize::try_from(CHUNK_SIZE).ok()?];
            f.seek(SeekFrom::Start(at)).ok()?;
            f.read_exact(&mut data).ok()?;
            if let Some(text) = record_in_chunk(data, id, &settings) {
                return Some(text);
            }
        }
        at += CHUNK_SIZE;
    }
    None
}

fn record_in_chunk(data: Vec<u8>, id: u64, settings: &Arc<ParserSettings>) -> Option<String> {
    let mut chunk_data = EvtxChunkData::new(data, false).ok()?;
    let mut chunk = chunk_data.parse(Arc::clone(settings)).ok()?;
    for record in chunk.iter().flatten() {
        if record.event_record_id == id {
            return record.into_json_value().ok().map(|r| r.data.to_string());
        }
    }
    None
}

/// The JSON line starting at byte `at`, trimmed as the loader trims it.
fn json_line<F: Read + Seek>(f: F, at: u64) -> Option<String> {
    let mut r = std::io::BufReader::new(f);
    r.seek(SeekFrom::Start(at)).ok()?;
    let mut buf = Vec::new();
    // A record line longer than this was never loaded whole either.
    r.by_ref().take(1 << 30).read_until(b'\n', &mut buf).ok()?;
    let text = std::str::from_utf8(&buf).ok()?;
    let text = text.trim_start_matches('\u{feff}').trim();
    if serde_json::from_str::<serde_json::Value>(text).is_ok() {
        return Some(text.to_string());
    }
    // Read as the loader read it: unpaired surrogates as U+FFFD.
    let mended = crate::ingest::json::mend_lone_surrogates(text)?;
    serde_json::from_str::<serde_json::Value>(&mended).ok()?;
    Some(mended)
}

/// The JSON value starting at byte `at` of the file (an array element or one of a run of
/// objects, found by its brackets as the loader finds it), re-serialized as the loader did.
fn json_value<F: Read + Seek>(mut f: F, at: u64) -> Option<String> {
    f.seek(SeekFrom::Start(at)).ok()?;
    let bytes = crate::ingest::jsonscan::value_at(std::io::BufReader::new(f), at)?;
    let v = crate::ingest::json::parse_mending_surrogates(&String::from_utf8_lossy(&bytes)).ok()?;
    Some(v.to_string())
}

/// Whether the byte at `at` is `b`.
fn starts_with_at<F: Read + Seek>(f: &mut F, at: u64, b: u8) -> bool {
    let mut one = [0u8; 1];
    f.seek(SeekFrom::Start(at)).is_ok() && f.read_exact(&mut one).is_ok() && one[0] == b
}

/// The `<Event>` element starting at byte `at` of a Windows Event XML file, as the file has it.
fn xml_event<F: Read + Seek>(f: F, at: u64) -> Option<String> {
    let mut r = std::io::BufReader::new(f);
    r.seek(SeekFrom::Start(at)).ok()?;
    let mut buf = Vec::new();
    let mut r = r.take(crate::ingest::evtxml::RECORD_MAX_BYTES);
    loop {
        if r.read_until(b'>', &mut buf).ok()? == 0 {
            return None;
        }
        if buf.ends_with(b"</Event>") || buf.ends_with(b":Event>") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.starts_with('<').then_some(text)
}

/// The CSV row starting at byte `at` (EvtxECmd's), as a JSON object of its header's columns.
fn csv_row<F: Read + Seek>(f: &mut F, at: u64) -> Option<String> {
    f.seek(SeekFrom::Start(0)).ok()?;
    let mut head = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(std::io::BufReader::new(&mut *f));
    let headers: Vec<String> = head
        .headers()
        .ok()?
        .iter()
        .map(|k| k.trim_start_matches('\u{feff}').to_string())
        .collect();
    drop(head);
    f.seek(SeekFrom::Start(at)).ok()?;
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(std::io::BufReader::new(f));
    let mut row = csv::StringRecord::new();
    if !rows.read_record(&mut row).ok()? {
        return None;
    }
    let obj: serde_json::Map<String, serde_json::Value> = headers
        .into_iter()
        .zip(row.iter())
        .map(|(k, v)| (k, serde_json::Value::String(v.to_string())))
        .collect();
    Some(serde_json::Value::Object(obj).to_string())
}
